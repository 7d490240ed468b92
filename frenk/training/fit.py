"""The one entry of training: :func:`fit` trains one model of any kind; :func:`fit_seeds`
trains it over seeds and decides which weights are kept and what the summary is.

The decisions live here, not in the steps: which learner a model kind gets, the best seed
(by validation macro-F1, never test), which seeds' weights stay on disk, the mean/sd summary.
Tracking follows through :class:`~.listeners.TrainListener` hooks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..data import PreparedData, scheme
from ..errors import ConfigError, ModelError
from ..interrupts import raise_if_stop_requested
from .engine import train_transformer
from .simpletransformers_engine import check_available, train_simpletransformers
from .listeners import EpochListener, TrainListener, as_listeners, epoch_hooks
from .presets import ModelSpec
from .result import TrainResult
from .settings import ENGINES, TrainSettings
from .tfidf import train_tfidf
from .tiny import build_tiny

#: which seeds' weights a training with repeats keeps
KEEP_CHOICES = ("best", "all", "none")
#: the validation metric that picks the best seed
SELECTION_METRIC = "val_macro_f1"


def check_engine(engine: str, kind: str) -> None:
    """Before anything is trained: ``engine`` can train a model of ``kind`` and is installed."""
    if engine not in ENGINES:
        raise ConfigError(f"engine={engine!r}: use one of {', '.join(ENGINES)}")
    if engine != "frenk" and kind == "tfidf":
        raise ConfigError(f"engine={engine} trains transformer models; the TF-IDF baseline has its own (use engine=frenk)")
    if engine == "simpletransformers":
        check_available()


def fit(spec: ModelSpec, data: PreparedData, settings: TrainSettings, work_dir: Path,
        listeners: Sequence[EpochListener] = (), final: bool = True) -> TrainResult:
    """Train one model of ``spec``'s kind on ``data`` into ``work_dir`` (which must exist).

    ``final=False`` (a tuning trial): validation metrics only; the test split is not read and
    no model is saved.
    """
    if spec.kind == "tfidf":
        if not final:
            raise ConfigError("the TF-IDF baseline has no hyperparameters to tune; tune a transformer model")
        check_engine(settings.engine, spec.kind)
        return train_tfidf(data, settings, work_dir, listeners)
    source = spec.source
    if spec.kind == "tiny":
        id2label = scheme(data.manifest["parameters"]["labels"]).id2label
        texts = data.splits["train"]["text"].tolist()
        source = str(build_tiny(texts, id2label, work_dir / "base", seed=settings.seed))
    if settings.engine == "simpletransformers":
        return train_simpletransformers(source, data, settings, work_dir, listeners, final=final)
    return train_transformer(source, data, settings, work_dir, listeners, final=final)


@dataclass
class SeedResult:
    seed: int
    result: TrainResult

    @property
    def selection_score(self) -> float:
        return self.result.validation[SELECTION_METRIC]


@dataclass
class SeedsResult:
    seeds: list[SeedResult]
    best: SeedResult
    #: ``<test metric>_mean`` and ``<test metric>_std`` over the seeds
    summary: dict[str, float]
    #: where the best seed's weights are, unless keep="none" (or a listener stored them already)
    best_model_dir: Path | None


def summarise(results: Iterable[TrainResult]) -> dict[str, float]:
    """Mean and sample sd of every test metric over seeds."""
    results = list(results)
    out = {}
    for key in (k for k in results[0].evaluation.metrics if k.startswith("test_")):
        values = np.array([r.evaluation.metrics[key] for r in results], dtype=float)
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def _fit_one(spec, data, settings: TrainSettings, seed: int, work: Path, listeners, keep_weights: bool) -> SeedResult:
    for listener in listeners:
        listener.on_seed_start(seed)
    try:
        result = fit(spec, data, replace(settings, seed=seed), work, epoch_hooks(listeners))
        for listener in listeners:
            listener.on_seed_result(seed, result, keep_weights)
        if not result.reload_identical:
            raise ModelError(
                f"the saved model predicts differently after reloading (max probability difference "
                f"{result.reload_max_prob_diff:.2e}); the run is marked failed"
            )
    except BaseException as exc:
        for listener in listeners:
            listener.on_seed_end(seed, exc)
        raise
    for listener in listeners:
        listener.on_seed_end(seed, None)
    return SeedResult(seed, result)


def fit_seeds(spec: ModelSpec, data: PreparedData, settings: TrainSettings, seeds: Sequence[int], work_root: Path,
              keep: str = "best", listeners: Iterable[TrainListener | EpochListener] = (),
              finished: Sequence[SeedResult] = ()) -> SeedsResult:
    """Train ``spec`` once per seed (each in ``work_root/seed-<n>``).

    ``keep``: ``best`` keeps the best seed's weights on disk (only the best so far is ever
    there, so the disk holds one model); ``all`` asks the listeners to store every seed's
    weights as soon as it ends; ``none`` keeps none.

    ``finished``: seeds an interrupted training of the same configuration finished (a rerun
    continues with the missing seeds only); they count for the best seed and the summary, and
    the best of them has its weights in its ``result.model_dir`` (see :class:`FinishedSeeds`).
    """
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, not {keep!r}")
    listeners = as_listeners(listeners)
    store_each = keep == "all" and len(seeds) > 1  # the listeners store each seed's weights as it ends
    keep_best_on_disk = keep == "best" or (keep == "all" and not store_each)
    done: list[SeedResult] = [r for r in finished if r.seed in seeds]
    for seed in (s for s in seeds if s not in {r.seed for r in done}):
        raise_if_stop_requested()
        work = work_root / f"seed-{seed}"
        work.mkdir()
        done.append(_fit_one(spec, data, settings, seed, work, listeners, keep_weights=store_each))
        best = max(done, key=lambda r: r.selection_score)
        for r in done:
            if not (r is best and keep_best_on_disk):
                shutil.rmtree(work_root / f"seed-{r.seed}", ignore_errors=True)
    done.sort(key=lambda r: seeds.index(r.seed))
    best = max(done, key=lambda r: r.selection_score)
    weights = best.result.model_dir
    return SeedsResult(done, best, summarise(r.result for r in done),
                       weights if keep_best_on_disk and weights is not None and weights.exists() else None)


class FinishedSeeds(TrainListener):
    """Collects the seeds that finished (trained, evaluated, ended without error), in order."""

    def __init__(self) -> None:
        self.results: dict[int, TrainResult] = {}
        self.finished: list[SeedResult] = []

    def on_seed_result(self, seed: int, result: TrainResult, keep_weights: bool) -> None:
        self.results[seed] = result

    def on_seed_end(self, seed: int, error: BaseException | None) -> None:
        if error is None and seed in self.results:
            self.finished.append(SeedResult(seed, self.results[seed]))

    def best_with_weights(self) -> SeedResult | None:
        """The best finished seed, if its weights are still on disk (keep=best keeps only the best so far)."""
        if not self.finished:
            return None
        best = max(self.finished, key=lambda r: r.selection_score)
        weights = best.result.model_dir
        return best if weights is not None and weights.exists() else None
