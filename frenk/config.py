"""Typed configurations of the steps: one dataclass each, with help text and validation.

The entry points turn these fields into command-line options (:mod:`frenk.cli`); tests
build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import PreprocessOptions, option
from .errors import ConfigError


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
class TuneConfig:
    """Search hyperparameters with Optuna (not implemented yet)."""

    model: str = option("bertic", "preset name, Hugging Face model id or local folder")
    data: str = option("hub", "preprocessed folder or a preprocess source")
    lang: str = option("hr", "language", ("hr", "sl", "en"))
    labels: str = option("binary", "label scheme", ("binary", "multiclass"))
    n_trials: int = option(20, "number of Optuna trials")
    timeout: int = option(0, "stop the search after this many seconds (0: no limit)")
    seed: int = option(42, "sampler seed")
    storage: str = option("", "Optuna storage URL (empty: in memory)")
    study_name: str = option("", "Optuna study name (empty: derived from model and data)")
