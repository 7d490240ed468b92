"""The options of data preparation (the preprocess step's parameters minus where to write)."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.choices import LANGS, SCHEMES, TOPICS
from ..core.errors import ConfigError
from ..core.fields import option

#: fraction of the training threads set aside for validation when a source has none
DEFAULT_VALIDATION_FRACTION = 0.1


@dataclass
class PreprocessOptions:
    """What :func:`prepare` needs: the preprocess step's parameters minus where to write."""

    lang: str = option("hr", "language of the FRENK subset", LANGS)
    source: str = option("hub", "hub (classla/FRENK-hate-{lang}), sample (synthetic) "
                                "or a path to CSV/TSV/JSONL/Parquet files")
    topics: str = option("lgbt,migrants", "comma-separated topics to keep (lgbt, migrants)")
    labels: str = option("binary", "label scheme: binary (Acceptable/Offensive) or multiclass (six FRENK classes)",
                         SCHEMES)
    seed: int = option(42, "seed of the deterministic shuffle and of the validation split")
    folds: int = option(5, "number of test folds (GroupKFold by thread) for per-fold metrics")
    validation_fraction: float = option(DEFAULT_VALIDATION_FRACTION,
                                        "fraction of training threads held out for validation "
                                        "when the source has no validation split")
    allow_overlap: bool = option(False, "accept texts that occur in both train/validation and test")
    sample_size: int = option(0, "source=sample only: about this many training comments "
                                 "(FRENK's size is about 9000; 0: the small default of about 1900)")

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ConfigError(f"lang={self.lang!r} is not supported; use one of {', '.join(LANGS)}")
        if self.labels not in SCHEMES:
            raise ConfigError(f"labels={self.labels!r}: use binary or multiclass")
        topics = [t.strip().lower() for t in self.topics.split(",") if t.strip()]
        unknown = [t for t in topics if t not in TOPICS]
        if not topics or unknown:
            raise ConfigError(f"topics={self.topics!r}: give a comma list of {', '.join(TOPICS)}")
        self.topics = ",".join(topics)
        if self.folds < 2:
            raise ConfigError(f"folds={self.folds}: need at least 2")
        if self.sample_size < 0 or (self.sample_size and self.source != "sample"):
            raise ConfigError(f"sample_size={self.sample_size}: a positive size applies to source=sample only")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction={self.validation_fraction}: must be between 0 and 1")

    @property
    def topic_list(self) -> tuple[str, ...]:
        return tuple(self.topics.split(","))
