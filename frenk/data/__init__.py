"""Data: reading sources, cleaning and label mapping, splits and folds, the synthetic sample,
and prepared folders with their manifests.

May import: :mod:`frenk.core.errors`, :mod:`frenk.core.fields`, :mod:`frenk.core.files`. Never the other
library packages, :mod:`frenk.tracking` or :mod:`frenk.steps` (no MLflow here).
"""

from .labels import scheme
from .options import PreprocessOptions
from .prepared import (
    MANIFEST,
    PREPARED_FILES,
    SPLITS,
    PreparedData,
    canonical_digest,
    check_output,
    check_scheme,
    load_prepared,
    missing_class_warnings,
    missing_classes,
    without_test,
    write_prepared,
)
from .sources import read_source
from .splits import load_or_prepare, prepare

__all__ = [
    "MANIFEST", "PREPARED_FILES", "SPLITS", "PreparedData", "PreprocessOptions", "canonical_digest",
    "check_output", "check_scheme", "load_or_prepare", "load_prepared", "missing_class_warnings", "missing_classes",
    "prepare", "read_source", "scheme", "without_test", "write_prepared",
]
