"""The one entry of training: :func:`fit` trains one model of any kind; :func:`fit_seeds`
trains it over seeds and decides which weights are kept and what the summary is.

The decisions live here, not in the steps: which learner a model kind gets, the best seed
(by validation macro-F1, never test), which seeds' weights stay on disk, the mean/sd summary.
Tracking follows through :class:`~.listeners.TrainListener` hooks.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.choices import ENGINES, KEEP_CHOICES
from ..core.errors import ConfigError, ModelError
from ..core.interrupts import raise_if_stop_requested
from ..core.names import Metric
from ..data import PreparedData
from .kinds import kind_named, kind_of
from .listeners import EpochListener, TrainListener, as_listeners, epoch_hooks
from .presets import ModelSpec
from .processes import SeedProcesses, measured_width, measures_first
from .result import TrainResult
from .seeds import SeedSources
from .settings import TrainSettings, parse_parallel
from .simpletransformers_engine import check_available

#: which seeds' weights a training with repeats keeps
#: the validation metric that picks the best seed
SELECTION_METRIC = Metric.VAL_MACRO_F1


def check_engine(settings: TrainSettings, kind: str) -> None:
    """Before anything is trained: ``settings.engine`` exists, can train a model of ``kind`` with
    these settings, and is installed."""
    engine = settings.engine
    if engine not in ENGINES:
        raise ConfigError(f"engine={engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "frenk":
        return
    if "engine" in kind_named(kind).ignored_params:
        raise ConfigError(f"engine={engine} trains transformer models; {kind_named(kind).title} has its own "
                          "(use engine=frenk)")
    if settings.epochs != int(settings.epochs):
        raise ConfigError(f"epochs={settings.epochs}: simpletransformers trains whole epochs; give an integer "
                          "(or use engine=frenk)")
    if settings.precision == "bf16":
        raise ConfigError("precision=bf16: simpletransformers trains in fp16 (on a GPU) or fp32; "
                          "use precision=auto, fp16 or fp32 with engine=simpletransformers")
    if settings.sources.init != settings.sources.data:
        raise ConfigError(f"engine={engine} has one seed (manual_seed) for the initialisation and the data order; "
                          "vary=init, data or cross need engine=frenk")
    check_available()


def seed_settings(settings: TrainSettings, seed: int,
                  sources: Mapping[int, SeedSources] | None = None) -> TrainSettings:
    """The settings of the repeat ``seed``: its init and data seeds from ``sources`` (both ``seed``
    when it has none there)."""
    init, data = (sources or {}).get(seed, SeedSources(seed, seed))
    return replace(settings, seed=seed, init_seed=init, data_seed=data)


def fit(spec: ModelSpec, data: PreparedData, settings: TrainSettings, work_dir: Path,
        listeners: Sequence[EpochListener] = (), final: bool = True) -> TrainResult:
    """Train one model of ``spec``'s kind on ``data`` into ``work_dir`` (which must exist), with
    the learner of its kind (:mod:`.kinds`).

    ``final=False`` (a tuning trial): validation metrics only; the test split is not read and
    no model is saved.
    """
    check_engine(settings, spec.kind)
    return kind_of(spec).fit(spec, data, settings, work_dir, listeners, final)


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


def best_seed(results: Iterable[SeedResult]) -> SeedResult:
    """The seed that a training keeps and registers: the highest validation macro-F1 (never test)."""
    return max(results, key=lambda r: r.selection_score)


def summarise(results: Iterable[TrainResult]) -> dict[str, float]:
    """Mean and sample sd of every test metric over seeds."""
    results = list(results)
    out = {}
    for key in (k for k in results[0].test_evaluation.metrics if k.startswith("test_")):
        values = np.array([r.test_evaluation.metrics[key] for r in results], dtype=float)
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def _fit_one(seed: int, listeners, keep_weights: bool,
             train: Callable[[list[EpochListener]], TrainResult]) -> SeedResult:
    """One seed between the listeners' hooks; ``train(epoch_hooks)`` trains it (here or in a process)."""
    for listener in listeners:
        listener.on_seed_start(seed)
    try:
        result = train(epoch_hooks(listeners))
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
              finished: Sequence[SeedResult] = (), parallel: int | str = 1,
              sources: Mapping[int, SeedSources] | None = None) -> SeedsResult:
    """Train ``spec`` once per seed (each in ``work_root/seed-<n>``), each with its init and data
    seeds from ``sources`` (:func:`.seeds.seed_sources`; a seed without an entry: itself for both).

    ``keep``: ``best`` keeps the best seed's weights on disk (only the best so far is ever there, so the
    disk holds one model); ``all`` asks the listeners to store every seed's weights as it ends; ``none``.

    ``finished``: seeds an interrupted training of the same configuration finished (a rerun continues
    with the missing seeds only); they count for the best seed and the summary, and the best of them
    has its weights in its ``result.model_dir`` (see :class:`FinishedSeeds`).

    ``parallel``: seeds trained at once, each in a process of its own (the listeners hear of a seed, its
    epochs included, when it ends, in seed order; the results are those of training it alone). ``auto``:
    one after another on a CPU (the cores are shared anyway); on a GPU the first seed alone, then as many
    at once as its measured peak memory fits in the free memory, each with the first seed's per-device
    batch (with several GPUs: one after another, each seed on all of them).
    """
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, not {keep!r}")
    parallel = parse_parallel(parallel)
    listeners = as_listeners(listeners)
    store_each = keep == "all" and len(seeds) > 1  # the listeners store each seed's weights as it ends
    keep_best_on_disk = keep == "best" or (keep == "all" and not store_each)
    done: list[SeedResult] = [r for r in finished if r.seed in seeds]
    todo = [s for s in seeds if s not in {r.seed for r in done}]

    def add_done(result: SeedResult) -> None:
        done.append(result)
        _keep_best_only(done, work_root, keep_best_on_disk)

    def fit_here(seed: int) -> None:
        raise_if_stop_requested()
        (work := work_root / f"seed-{seed}").mkdir()
        add_done(_fit_one(seed, listeners, store_each,
                          lambda hooks: fit(spec, data, seed_settings(settings, seed, sources), work, hooks)))

    width = parallel if isinstance(parallel, int) else 1
    if measures_first(parallel) and len(todo) > 1:
        fit_here(todo.pop(0))  # measures what one seed needs
        settings, width = measured_width(settings, done[-1].result, len(todo))
    if width > 1 and len(todo) > 1:
        _fit_in_processes(spec, data, {s: seed_settings(settings, s, sources) for s in todo}, work_root, listeners,
                          store_each, min(width, len(todo)), add_done)
    else:
        for seed in todo:
            fit_here(seed)
    return _seeds_result(sorted(done, key=lambda r: seeds.index(r.seed)), keep_best_on_disk)


def _seeds_result(done: list[SeedResult], keep_best_on_disk: bool) -> SeedsResult:
    """The seeds' results in seed order, the best one by validation, the summary, the kept weights."""
    best = best_seed(done)
    weights = best.result.model_dir
    return SeedsResult(done, best, summarise(r.result for r in done),
                       weights if keep_best_on_disk and weights is not None and weights.exists() else None)


def _keep_best_only(done: list[SeedResult], work_root: Path, keep_best_on_disk: bool) -> None:
    """Remove every seed's work folder but the best one's (all of them when none is kept)."""
    best = best_seed(done)
    for r in done:
        if not (r is best and keep_best_on_disk):
            shutil.rmtree(work_root / f"seed-{r.seed}", ignore_errors=True)


def _fit_in_processes(spec, data, settings: dict[int, TrainSettings], work_root: Path, listeners,
                      keep_weights: bool, width: int, on_done: Callable[[SeedResult], object]) -> None:
    """Train each seed of ``settings`` (with its settings) in ``width`` processes at once; the
    listeners follow each seed in order."""
    with SeedProcesses(width) as processes:
        for seed, one in settings.items():
            (work := work_root / f"seed-{seed}").mkdir()
            processes.start(seed, spec, data, one, work)
        for seed in settings:
            raise_if_stop_requested()
            on_done(_fit_one(seed, listeners, keep_weights, functools.partial(processes.result, seed)))


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
