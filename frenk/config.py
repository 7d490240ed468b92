"""Typed configurations of the steps: one dataclass each, with help text and validation.

The entry points turn these fields into command-line options (:mod:`frenk.cli`); tests
build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import PreprocessOptions
from .errors import ConfigError
from .fields import option


@dataclass
class PreprocessConfig(PreprocessOptions):
    """Merge, clean, split and fold FRENK data and log it to MLflow."""

    output: str = option("data/{lang}", "folder for the splits and manifest.json ({lang} is replaced)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.output:
            raise ConfigError("output is empty: give a folder for the prepared data")
        self.output = self.output.replace("{lang}", self.lang)


@dataclass
class ModelDataConfig:
    """The fields shared by the steps that fit a model to data."""

    model: str = option("bertic", "preset (bertic, crosloengual, sloberta, xlmr, xlmr-large, mbert, roberta, tiny, tfidf), Hugging Face model id or local folder")
    data: str = option("hub", "preprocessed folder, or a preprocess source (hub, sample, path) prepared in-process")
    lang: str = option("hr", "language", ("hr", "sl", "en"))
    labels: str = option("binary", "label scheme", ("binary", "multiclass"))


@dataclass
class TuneConfig(ModelDataConfig):
    """Search hyperparameters with Optuna (not implemented yet)."""

    n_trials: int = option(20, "number of Optuna trials")
    timeout: int = option(0, "stop the search after this many seconds (0: no limit)")
    seed: int = option(42, "sampler seed")
    storage: str = option("", "Optuna storage URL (empty: in memory)")
    study_name: str = option("", "Optuna study name (empty: derived from model and data)")


#: names accepted in ``-P args='{...}'``: simpletransformers' model_args (as published FRENK
#: results were obtained with) and this project's own parameter names
ARG_ALIASES = {
    "num_train_epochs": "epochs",
    "epochs": "epochs",
    "learning_rate": "learning_rate",
    "train_batch_size": "batch_size",
    "batch_size": "batch_size",
    "max_seq_length": "max_length",
    "max_length": "max_length",
    "manual_seed": "seed",
    "seed": "seed",
}


@dataclass
class TrainConfig(ModelDataConfig):
    """Fine-tune a model (or the TF-IDF baseline), evaluate it, log it and register it."""

    epochs: float = option(0.0, "training epochs (0: the preset's published value)")
    learning_rate: float = option(0.0, "peak learning rate (0: the preset's published value)")
    batch_size: int = option(0, "effective batch size (0: the preset's); per-device batch and gradient accumulation are fitted to memory")
    max_length: int = option(128, "truncate comments to this many tokens (padding is per batch)")
    seed: int = option(42, "seed of the first run; repeats use seed, seed+1, ...")
    repeats: int = option(1, "number of seeds; >1 makes child runs of one parent run")
    group: str = option("", "comparison group tag frenk.group (empty: {lang}-{labels})")
    register: str = option("frenk-{lang}", "registered model name (empty: do not register)")
    precision: str = option("auto", "auto (bf16/fp16 on a GPU that has it, fp32 on CPU), fp32, fp16 or bf16", ("auto", "fp32", "fp16", "bf16"))
    keep_models: str = option("best", "with repeats, whose weights to keep: best (by validation macro-F1), all or none", ("best", "all", "none"))
    device_batch_size: int = option(0, "upper bound of the per-device batch (0: largest that fits)")
    args: str = option("{}", "JSON of hyperparameters, simpletransformers names accepted (num_train_epochs, learning_rate, train_batch_size, max_seq_length, manual_seed); overrides the parameters above")

    def __post_init__(self) -> None:
        import json

        try:
            extra = json.loads(self.args or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"args is not valid JSON ({exc}); example: args='{{\"num_train_epochs\": 12}}'") from None
        if not isinstance(extra, dict):
            raise ConfigError("args must be a JSON object, e.g. {\"learning_rate\": 1e-5}")
        unknown = sorted(set(extra) - set(ARG_ALIASES))
        if unknown:
            raise ConfigError(f"args has unknown keys {unknown}; accepted: {', '.join(sorted(ARG_ALIASES))}")
        for key, value in extra.items():
            target = ARG_ALIASES[key]
            kind = type(getattr(self, target))
            setattr(self, target, kind(value))
        if self.repeats < 1:
            raise ConfigError(f"repeats={self.repeats}: must be at least 1")
        if self.max_length < 8:
            raise ConfigError(f"max_length={self.max_length}: must be at least 8")
        if min(self.epochs, self.learning_rate, self.batch_size, self.device_batch_size) < 0:
            raise ConfigError("epochs, learning_rate, batch_size and device_batch_size must not be negative")
        self.group = self.group or f"{self.lang}-{self.labels}"
        self.register = self.register.replace("{lang}", self.lang)


@dataclass
class CompareConfig:
    """Compare systems (by default: models) from their train runs with the right statistical tests."""

    group: str = option("", "compare the train runs with this frenk.group tag (e.g. hr-binary)")
    filter: str = option("", "or: an MLflow search filter, e.g. \"tags.`frenk.lang` = 'hr'\" (ANDed with group)")
    by: str = option("frenk.model", "tag whose values are the systems compared")
    metrics: str = option("macro_f1,accuracy", "comma list of test metrics; the first decides the verdict")
    baseline: str = option("", "compare every system against this one instead of all pairs")
    alpha: float = option(0.05, "significance level")
    experiment: str = option("", "experiment name or id (empty: the current one)")
    allow_mixed_data: bool = option(False, "compare runs trained on different data digests")

    def __post_init__(self) -> None:
        if not self.group and not self.filter:
            raise ConfigError("give group=<frenk.group tag> (e.g. hr-binary) or filter=<MLflow search filter>")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha={self.alpha}: must be between 0 and 1")
        if not [m for m in self.metrics.split(",") if m.strip()]:
            raise ConfigError("metrics is empty")

    @property
    def metric_list(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.metrics.split(",") if m.strip())


@dataclass
class PublishConfig:
    """Promote a registered model (alias champion) and write a Hugging Face model folder with its card."""

    name: str = option("frenk-{lang}", "registered model name")
    lang: str = option("hr", "language ({lang} in name)", ("hr", "sl", "en"))
    version: str = option("", "model version to publish (empty: the version with alias candidate)")
    compare_run: str = option("", "compare run whose report decides (empty: the newest that includes this model's system)")
    alias: str = option("champion", "alias to set on the promoted version")
    output: str = option("outputs/hf-model", "folder for the Hugging Face model (config, tokenizer, safetensors, README.md)")
    push: bool = option(False, "upload the folder to the Hugging Face Hub (token from HF_TOKEN)")
    repo_id: str = option("", "Hugging Face repository for push, e.g. user/bcms-bertic-frenk-hr")
    force: bool = option(False, "promote even when the compare report does not support it (recorded as a tag)")

    def __post_init__(self) -> None:
        self.name = self.name.replace("{lang}", self.lang)
        if not self.output:
            raise ConfigError("output is empty: give a folder for the Hugging Face model")
        if self.push and not self.repo_id:
            raise ConfigError("push=true needs repo_id=<user>/<model>")
        if not self.alias or self.alias == "candidate":
            raise ConfigError("alias must be a name other than candidate (e.g. champion)")


@dataclass
class MainConfig:
    """Chain the steps for one language: preprocess, train each model with repeats, compare, publish.
    A step whose parameters, data and code match a finished run is reused instead of rerun."""

    lang: str = option("hr", "language", ("hr", "sl", "en"))
    data: str = option("hub", "preprocess source: hub, sample or a path")
    labels: str = option("binary", "label scheme", ("binary", "multiclass"))
    models: str = option("bertic,tfidf", "comma list of models to train and compare")
    repeats: int = option(5, "seeds per model")
    tune: bool = option(False, "tune hyperparameters first (the tune step is not implemented yet)")
    seed: int = option(42, "first seed")
    output: str = option("outputs/hf-model", "folder for the published Hugging Face model")
    data_dir: str = option("data/{lang}", "folder for the preprocessed data ({lang} is replaced)")

    def __post_init__(self) -> None:
        if self.tune:
            raise ConfigError("tune=true: the tune step is not implemented yet; run main with tune=false")
        if self.repeats < 2:
            raise ConfigError(f"repeats={self.repeats}: comparing models needs at least 2 seeds per model (5 recommended)")
        if len(self.model_list) < 2:
            raise ConfigError(f"models={self.models!r}: give at least two models to compare, e.g. bertic,tfidf")
        self.data_dir = self.data_dir.replace("{lang}", self.lang)

    @property
    def model_list(self) -> list[str]:
        return [m.strip() for m in self.models.split(",") if m.strip()]
