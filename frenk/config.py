"""Typed configurations of the steps: one dataclass each, with help text and validation.

The entry points turn these fields into command-line options (:mod:`frenk.cli`); tests
build them directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# main and evaluate live in config_chain (this module's length); imported from here as the others
from .config_chain import EvaluateConfig as EvaluateConfig
from .config_chain import MainConfig as MainConfig
from .core.checks import check_alias, check_model_name, coerce, json_object, read_params_file
from .core.choices import (
    LANGS,
    MIN_DIFFERENCE,
    PAIRINGS,
    PRECISIONS,
    PRUNERS,
    SAMPLERS,
    SCHEMES,
    TUNABLE,
    TUNING_SEEDS,
    VARY,
)
from .core.errors import MAX_EPOCHS, ConfigError, check_limit
from .core.fields import option
from .core.names import Metric, Tag, search_tag
from .core.secret_params import refuse_credentials
from .data import PreprocessOptions
from .training.presets import PRESETS
from .training.seeds import check_vary
from .training.settings import parse_parallel


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

    model: str = option("bertic", f"preset ({', '.join(PRESETS)}), Hugging Face model id or local folder")
    data: str = option("hub", "preprocessed folder, or a preprocess source (hub, sample, path) prepared in-process")
    lang: str = option("hr", "language", LANGS)
    labels: str = option("binary", "label scheme", SCHEMES)


@dataclass
class TuneConfig(ModelDataConfig):
    """Search hyperparameters with Optuna: a study that ends, never repeats, prunes, resumes and is shared."""

    space: str = option("", "YAML search space (hyperparameter: [values] or {low, high, step, log}); empty: the "
                            "preset's bundled space")
    sampler: str = option("auto", "auto (grid when every dimension is a list, else tpe), grid, tpe, random or "
                                  "bruteforce", SAMPLERS)
    trials: int = option(0, "total trials of the study across all workers (0: the grid's size; 20 for tpe/random; at "
                            "most 10000 unless FRENK_ALLOW_LARGE=1)")
    timeout: int = option(0, "stop starting new trials after this many seconds (0: no limit)")
    pruner: str = option("auto", "auto (none for a grid, median otherwise), median, hyperband or none",
                         PRUNERS)
    metric: str = option(Metric.VAL_MACRO_F1, "validation metric to optimise: val_macro_f1, val_accuracy or val_loss")
    storage: str = option("", "Optuna storage: a journal file (default optuna.journal) or an RDB URL without a "
                              "password such as postgresql://user@host/db (the password from PGPASSWORD or ~/.pgpass; "
                              "or the whole URL in FRENK_OPTUNA_STORAGE)")
    study: str = option("", "study name (empty: {model}-{lang}-{labels}-<space digest>, with -s{seeds} when seeds is "
                            "not 1); an existing study is resumed")
    seeds: int = option(TUNING_SEEDS, "seeds per configuration, at most: each trial trains the study's tuning seeds "
                                      "(1000000, 1000001, ...) in turn and its value is their mean")
    race: bool = option(True, "prune a configuration after a seed once it is clearly worse than the best finished "
                              "one (false: every configuration trains every seed)")
    parallel: str = option("1", "seeds of a trial trained at once, each in a process of its own (raced after each "
                                "batch): a number, or auto (on one GPU: the first seed alone, then as many at once "
                                "as its peak memory allows; on a CPU: 1)")
    seed: int = option(42, "seed of the sampler (a study made before seeds were raced: also the seed its trials "
                           "trained)")
    max_length: int = option(128, "truncate comments to this many tokens (unless the space tunes max_length)")
    precision: str = option("auto", "auto, fp32, fp16 or bf16", PRECISIONS)
    device_batch_size: int = option(0, "upper bound of the per-device batch (0: largest that fits)")
    workers: int = option(1, "with slurm: tune workers on the shared storage, each a task of one Slurm job array")
    slurm: str = option("", "run the workers as a Slurm job array: a TOML file of options (docs/slurm.md) or true")

    def __post_init__(self) -> None:
        if self.metric.startswith("test"):
            raise ConfigError(f"metric={self.metric}: tuning never looks at the test set; use a validation metric "
                              "(val_macro_f1, val_accuracy, val_loss)")
        if self.metric not in (Metric.VAL_MACRO_F1, Metric.VAL_ACCURACY, Metric.VAL_LOSS):
            raise ConfigError(f"metric={self.metric!r}: use val_macro_f1, val_accuracy or val_loss")
        refuse_credentials("storage", self.storage)
        if min(self.trials, self.timeout, self.device_batch_size) < 0:
            raise ConfigError("trials, timeout and device_batch_size must not be negative")
        if self.max_length < 8:
            raise ConfigError(f"max_length={self.max_length}: must be at least 8")
        if self.seeds < 1:
            raise ConfigError(f"seeds={self.seeds}: each configuration needs at least one seed (1: one per trial)")
        if self.workers < 1 or (self.workers > 1 and not self.slurm):
            raise ConfigError(f"workers={self.workers}: at least 1, and more only on Slurm (-P slurm=...)")
        self.parallel = str(parse_parallel(self.parallel))


#: names accepted in ``-P args='{...}'``: simpletransformers' model_args (as published FRENK
#: results were obtained with) and this project's own parameter names
ARG_ALIASES = {"num_train_epochs": "epochs", "epochs": "epochs", "learning_rate": "learning_rate",
               "train_batch_size": "batch_size", "batch_size": "batch_size", "max_seq_length": "max_length",
               "max_length": "max_length", "manual_seed": "seed", "seed": "seed"}


@dataclass
class TrainConfig(ModelDataConfig):
    """Fine-tune a model (or the TF-IDF baseline), evaluate it, log it and register it."""

    epochs: float = option(0.0, "training epochs (0: the preset's published value; at most 100 unless "
                                "FRENK_ALLOW_LARGE=1)")
    learning_rate: float = option(0.0, "peak learning rate (0: the preset's published value)")
    batch_size: int = option(0, "effective batch size (0: the preset's); per-device batch and gradient accumulation "
                                "are fitted to memory")
    max_length: int = option(128, "truncate comments to this many tokens (padding is per batch)")
    seed: int = option(42, "seed of the first run; repeats use seed, seed+1, ...")
    repeats: int = option(1, "number of seeds; >1 makes child runs of one parent run")
    vary: str = option("both", "which source of randomness the repeats vary: both (repeat r: seed + r for the "
                               "initialisation and the data order), init (the data seed stays seed), data (the init "
                               "seed stays seed) or cross (repeats = k * k: k init seeds x k data seeds)", VARY)
    group: str = option("", f"comparison group tag {Tag.GROUP} (empty: {{lang}}-{{labels}})")
    register: str = option("frenk-{lang}", "registered model name (empty: do not register)")
    precision: str = option("auto", "auto (bf16/fp16 on a GPU that has it, fp32 on CPU), fp32, fp16 or bf16",
                            PRECISIONS)
    engine: str = option("frenk", "training loop of a transformer model: frenk (the Trainer, padding per batch) or "
                                  "simpletransformers "
                                  "(its ClassificationModel, to replay a configuration published with it; pip install "
                                  "'frenk[simpletransformers]')",
                         ("frenk", "simpletransformers"))
    keep_models: str = option("best", "with repeats, whose weights to keep: best (by validation macro-F1), all or none",
                              ("best", "all", "none"))
    parallel: str = option("1", "with repeats, seeds trained at once, each in a process of its own: a number, or auto "
                                "(on one GPU: the first seed alone, then as many at once as its peak memory allows; "
                                "on a CPU: 1)")
    device_batch_size: int = option(0, "upper bound of the per-device batch (0: largest that fits)")
    warmup_ratio: float = option(0.0, "share of the optimisation steps with a linearly rising learning rate")
    weight_decay: float = option(0.0, "AdamW weight decay")
    params: str = option("", "hyperparameters found by tune: its best_params.json file or the tune run id; override "
                             "the parameters above")
    params_any_model: bool = option(False, "take the hyperparameters of a tune run that tuned another model (refused "
                                           "otherwise: they fit that model)")
    reuse_tuning_seeds: bool = option(False, "with params=<tune run>, train seeds that its trials trained (refused "
                                             "otherwise: such a seed replays a trial its search picked)")
    args: str = option("{}", "JSON of hyperparameters, simpletransformers names accepted (num_train_epochs, "
                             "learning_rate, train_batch_size, max_seq_length, manual_seed); overrides the parameters "
                             "above")
    slurm: str = option("", "with repeats, train the seeds as a Slurm job array: a TOML file of Slurm options "
                            "(docs/slurm.md), or true for the cluster's defaults (empty: train here)")

    def __post_init__(self) -> None:
        self._args = json_object(self.args)
        unknown = sorted(set(self._args) - set(ARG_ALIASES))
        if unknown:
            raise ConfigError(f"args has unknown keys {unknown}; accepted: {', '.join(sorted(ARG_ALIASES))}")
        self.tune_run: str | None = None
        if self.params and Path(self.params).is_file():
            self.apply_hyperparameters(read_params_file(self.params), self.params)
        elif self.params and not re.fullmatch(r"[0-9a-f]{32}", self.params):
            raise ConfigError(f"params={self.params!r} is neither a file nor a tune run id (32 hex digits)")
        self._apply_args()
        if self.repeats < 1:
            raise ConfigError(f"repeats={self.repeats}: must be at least 1")
        check_vary(self.vary, self.repeats, self.engine)
        if self.max_length < 8:
            raise ConfigError(f"max_length={self.max_length}: must be at least 8")
        if min(self.epochs, self.learning_rate, self.batch_size, self.device_batch_size, self.weight_decay) < 0:
            raise ConfigError("epochs, learning_rate, batch_size, device_batch_size and weight_decay must not be "
                              "negative")
        check_limit("epochs", self.epochs, MAX_EPOCHS, "epochs")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio={self.warmup_ratio}: must be at least 0 and below 1")
        self.parallel = str(parse_parallel(self.parallel))
        self.group = self.group or f"{self.lang}-{self.labels}"
        self.register = self.register.replace("{lang}", self.lang)
        if self.register:
            check_model_name("register", self.register)

    def _apply_args(self) -> None:
        for key, value in self._args.items():
            target = ARG_ALIASES[key]
            setattr(self, target, coerce(f"args.{key}", value, type(getattr(self, target))))

    def apply_hyperparameters(self, values: dict, source: str, tune_run: str | None = None) -> None:
        """Take tuned hyperparameters (``args`` still override them)."""
        unknown = sorted(set(values) - set(TUNABLE))
        if unknown:
            raise ConfigError(f"{source}: unknown hyperparameters {unknown}; accepted: {', '.join(TUNABLE)}")
        for key, value in values.items():
            setattr(self, key, coerce(f"{source}: {key}", value, type(getattr(self, key))))
        self.tune_run = tune_run
        self._apply_args()


@dataclass
class CompareConfig:
    """Compare systems (by default: models) from their train runs with the right statistical tests."""

    group: str = option("", f"compare the train runs with this {Tag.GROUP} tag (hr-binary); a comma list: blocks")
    filter: str = option("", f"or: an MLflow search filter, e.g. \"{search_tag(Tag.LANG)} = 'hr'\" (ANDed with group)")
    by: str = option(Tag.MODEL, "tag whose values are the systems compared")
    metrics: str = option("macro_f1,accuracy", "comma list of test metrics; the first decides the verdict")
    baseline: str = option("", "compare every system against this one instead of all pairs")
    alpha: float = option(0.05, "significance level")
    experiment: str = option("", "experiment name or id (empty: the current one)")
    allow_mixed_data: bool = option(False, "compare runs trained on different data digests")
    pairing: str = option("none", "none: every run of each system as independent samples (Welch); seed: runs "
                          "with the same seed and data digest share randomness (paired t)", PAIRINGS)
    min_difference: float = option(MIN_DIFFERENCE, "practical margin in metric units: better only when the interval "
                                   "lies above it, equivalent when it lies within plus or minus it")

    def __post_init__(self) -> None:
        if not self.group and not self.filter:
            raise ConfigError(f"give group=<{Tag.GROUP} tag> (e.g. hr-binary) or filter=<MLflow search filter>")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha={self.alpha}: must be between 0 and 1")
        if not 0 <= self.min_difference < 1:
            raise ConfigError(f"min_difference={self.min_difference}: must be at least 0 and below 1 (metric units, "
                              "e.g. 0.005 for half a point of macro-F1)")
        if not [m for m in self.metrics.split(",") if m.strip()]:
            raise ConfigError("metrics is empty")
        if len(set(self.groups)) < len(self.groups) or (len(self.groups) > 1 and "" in self.groups):
            raise ConfigError(f"group={self.group!r}: blocks need distinct, non-empty groups (hr-binary,sl-binary)")

    @property
    def metric_list(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.metrics.split(",") if m.strip())

    @property
    def groups(self) -> tuple[str, ...]:  # more than one: a comparison across data sets (blocks)
        return tuple(g.strip() for g in self.group.split(",")) if self.group else ()


@dataclass
class RecoverConfig:
    """Log a training whose tracking server went down to its runs, now that the server is back."""

    folder: str = option("", "the recovery folder the training named in its last message (frenk-recovery-<run id>)")

    def __post_init__(self) -> None:
        if not self.folder:
            raise ConfigError("folder is empty: give the recovery folder the training named (frenk-recovery-<run id>)")
        if not Path(self.folder).is_dir():
            raise ConfigError(f"folder={self.folder!r} is not a folder; a training whose tracking server stayed "
                              "down names its recovery folder in its last message")


@dataclass
class PublishConfig:
    """Promote a registered model (alias champion) and write a Hugging Face model folder with its card."""

    name: str = option("frenk-{lang}", "registered model name")
    lang: str = option("hr", "language ({lang} in name)", LANGS)
    version: str = option("", "model version to publish (empty: the version with alias candidate)")
    compare_run: str = option("", "compare run whose report decides (empty: the newest that includes this model's "
                                  "system)")
    alias: str = option("champion", "alias to set on the promoted version")
    output: str = option("outputs/hf-model", "folder for the Hugging Face model (config, tokenizer, safetensors, "
                                             "README.md)")
    push: bool = option(False, "upload the folder to the Hugging Face Hub (token from HF_TOKEN)")
    repo_id: str = option("", "Hugging Face repository for push, e.g. user/bcms-bertic-frenk-hr")
    force: bool = option(False, "promote even when the compare report does not support it (recorded as a tag)")
    verify: str = option("", "instead of publishing: check the card in this published folder against the tracking "
                              "store (every number recomputed; with push=true, push the folder when they all agree)")

    def __post_init__(self) -> None:
        self.name = self.name.replace("{lang}", self.lang)
        if self.verify and not Path(self.verify).is_dir():
            raise ConfigError(f"verify={self.verify!r} is not a folder: give the output folder of a publish (it holds "
                              "README.md and frenk_publish.json)")
        if not self.output:
            raise ConfigError("output is empty: give a folder for the Hugging Face model")
        if self.push and not self.repo_id:
            raise ConfigError("push=true needs repo_id=<user>/<model>")
        check_model_name("name", self.name)
        if not self.alias or self.alias == "candidate":
            raise ConfigError("alias must be a name other than candidate (e.g. champion)")
        check_alias(self.alias)
