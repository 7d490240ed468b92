"""Training: presets and strict loading, the Trainer engine, memory planning, the TF-IDF
baseline, evaluation, and :func:`fit` / :func:`fit_seeds`, the one entry the steps call.

May import: :mod:`frenk.data`, :mod:`frenk.core.errors`. Never :mod:`frenk.comparison`,
:mod:`frenk.publishing`, :mod:`frenk.tracking` or :mod:`frenk.steps` (no MLflow here);
progress reaches tracking through :class:`TrainListener` hooks.
"""

from .engine import EncodedDataset, check_reload, load_saved, predict_proba, train_transformer
from .evaluation import Evaluation, core_metrics, evaluate
from .fit import (
                  FinishedSeeds,
                  SeedResult,
                  SeedsResult,
                  best_seed,
                  check_engine,
                  fit,
                  fit_seeds,
                  seed_settings,
                  summarise,
)
from .kinds import (
                  BASELINE,
                  CANDIDATE,
                  HF_FOLDER,
                  JOBLIB_PIPELINE,
                  KINDS,
                  ModelKind,
                  kind_named,
                  kind_of,
                  kind_of_saved,
                  kind_of_system,
)
from .listeners import EpochListener, TrainListener
from .loading import (
                  NO_REMOTE_CODE,
                  LoadReport,
                  check_head,
                  check_max_length,
                  load_classifier,
                  load_with_report,
                  refuse_custom_code,
)
from .memory import Accelerator, accelerator, gpu_probe, plan_batches, resolve_precision
from .presets import PRESETS, ModelSpec, Preset, resolve
from .processes import SeedProcesses, measured_width, measures_first
from .result import TrainResult
from .seeds import SeedSources, cross_size, seed_sources
from .settings import TrainSettings, parse_parallel, settings_for
from .tfidf import TFIDF_FILE, majority_baseline, train_tfidf
from .tiny import TINY_MAX_POSITIONS, build_tiny

__all__ = [
    "BASELINE", "CANDIDATE", "KINDS", "ModelKind", "kind_named", "kind_of", "kind_of_saved", "kind_of_system",
    "FinishedSeeds", "best_seed", "NO_REMOTE_CODE", "TINY_MAX_POSITIONS", "Accelerator", "LoadReport",
    "PRESETS", "TFIDF_FILE", "HF_FOLDER", "JOBLIB_PIPELINE",
    "EncodedDataset", "EpochListener", "Evaluation", "ModelSpec", "accelerator", "check_max_length", "load_with_report",
    "refuse_custom_code",
    "Preset", "SeedResult", "SeedsResult", "TrainListener", "TrainResult", "TrainSettings", "build_tiny",
    "check_engine", "parse_parallel", "check_head", "check_reload", "core_metrics", "evaluate", "fit",
    "fit_seeds", "gpu_probe", "load_classifier",
    "load_saved", "majority_baseline", "plan_batches", "predict_proba", "resolve", "resolve_precision",
    "settings_for", "summarise", "SeedSources", "cross_size", "seed_sources", "seed_settings", "train_tfidf",
    "train_transformer", "SeedProcesses", "measured_width", "measures_first",
]
