"""The configurations of the steps that chain or follow the others: main and evaluate (re-exported
by :mod:`frenk.config`)."""

from __future__ import annotations

from dataclasses import dataclass

from .core.checks import check_languages
from .core.choices import EVAL_SPLITS, LANGS, SCHEMES, TUNING_SEEDS
from .core.errors import ConfigError
from .core.fields import option
from .training.presets import PRESETS


@dataclass
class MainConfig:
    """Chain the steps for one language: preprocess, train each model with repeats, compare, publish.
    A step whose parameters, data and code match a finished run is reused instead of rerun."""

    lang: str = option("hr", "language", LANGS)
    data: str = option("hub", "preprocess source: hub, sample or a path")
    labels: str = option("binary", "label scheme", SCHEMES)
    models: str = option("bertic,tfidf", f"comma list of models to train and compare (presets: {', '.join(PRESETS)}; "
                                         "or Hugging Face model ids)")
    repeats: int = option(10, "seeds per model (at least 3; with 10 each, Welch's t-test detects a difference of about "
                              "1.3 seed sd with power 0.8)")
    tune: bool = option(False, "tune every transformer model with its bundled search space first, all with the same "
                               "budget, and train each with its best parameters")
    tune_seeds: int = option(TUNING_SEEDS, "with tune=true, seeds per configuration of each study (raced)")
    seed: int = option(42, "first seed")
    output: str = option("outputs/hf-model", "folder for the published Hugging Face model")
    data_dir: str = option("data/{lang}", "folder for the preprocessed data ({lang} is replaced)")
    force: bool = option(False, "publish even when the compare report does not support it (recorded as a tag)")
    evaluate: str = option("", "comma list of other languages to evaluate the published model on, e.g. sl,en")
    slurm: str = option("", "from a login node: every training (and tune) a Slurm job array, compare a Slurm task "
                            "after them all: a TOML file of Slurm options (docs/slurm.md) or true; empty: here")

    def __post_init__(self) -> None:
        check_languages("evaluate", self.evaluate, LANGS, self.lang)
        if self.evaluate and self.data not in ("hub", "sample"):
            raise ConfigError(f"evaluate={self.evaluate}: main prepares the other languages from data=hub or "
                              "data=sample; preprocess your own files and run the evaluate step (docs/evaluate.md)")
        if self.repeats < 3:
            raise ConfigError(
                f"repeats={self.repeats}: comparing models needs at least 3 seeds per model (10 recommended); "
                "with fewer no test can tell the systems apart, so give -P repeats=10"
            )
        if len(self.model_list) < 2:
            raise ConfigError(f"models={self.models!r}: give at least two models to compare, e.g. bertic,tfidf")
        self.data_dir = self.data_dir.replace("{lang}", self.lang)

    @property
    def model_list(self) -> list[str]:
        return [m.strip() for m in self.models.split(",") if m.strip()]


@dataclass
class EvaluateConfig:
    """Score a registered model version on other data as a run of its own, linked from the version."""

    model: str = option("models:/frenk-hr@champion", "the version: models:/<name>@<alias>, models:/<name>/<version>, "
                                                     "a train run id or runs:/<train run id>/...")
    data: str = option("", "a prepared folder (preprocess output), or a .csv/.tsv/.jsonl/.parquet file with a text "
                           "column (and label: FRENK class names, Acceptable/Offensive or the model's label ids)")
    split: str = option("test", "the split of a prepared folder to score", EVAL_SPLITS)

    def __post_init__(self) -> None:
        if not self.data:
            raise ConfigError("data is empty: give a prepared folder (preprocess output) or a file with a text column")
