"""A trial's seeds: the study's tuning seeds trained in turn and raced (:mod:`.racing`), one after
another or ``parallel`` at once, each in a process of its own (:class:`frenk.training.SeedProcesses`).

The race looks whenever no trained seed is waiting to be heard: after each seed one after another,
after each batch with ``parallel``. The epochs of a batch are reported to the trial (its listeners
and the per-epoch pruner) when each seed ends, in seed order, as if it had trained alone; a seed is
counted as a training when it is heard, so the records are those of training the same seeds one
after another (a batch pruned at one seed stops the seeds after it, unheard and uncounted).
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from ..core.choices import STEP_STRIDE, TUNE_METRICS
from ..core.names import Attr
from ..data import PreparedData, without_test
from ..training import ModelSpec, SeedProcesses, TrainResult, fit, measured_width, measures_first, settings_for
from .racing import clearly_worse, pooled_spread

#: trains one seed with these epoch hooks (here, or waits for its process)
Training = Callable[[list], TrainResult]


def seed_values(trial: optuna.trial.FrozenTrial) -> list[float]:
    """The trial's value per seed, in seed order (Optuna user attribute ``frenk.seed_values``)."""
    return [float(v) for v in (trial.user_attrs.get(Attr.SEED_VALUES) or {}).values()]


def race_state(study: optuna.Study, number: int, maximize: bool):
    """The incumbent (the finished trial with the best mean over its seeds, or None) and the
    study's pooled seed spread, other than trial ``number``."""
    raced = [t for t in study.get_trials(deepcopy=False) if t.number != number and seed_values(t)]
    spread = pooled_spread(seed_values(t) for t in raced)
    complete = [t for t in raced if t.state == TrialState.COMPLETE]
    sign = 1 if maximize else -1
    best = max(complete, key=lambda t: sign * np.mean(seed_values(t)), default=None)
    return best, spread


@dataclass
class _Batching:
    """One trial's plan of batches: how many seeds at once (None: auto, not measured yet), the
    per-device batch of the measured first seed, the processes and the trial's work folder."""

    stack: contextlib.ExitStack
    width: int | None
    device_batch: int | None = None
    processes: SeedProcesses | None = None
    work: Path | None = None


class TrialSeeds:
    """Trains a trial's seeds for the search's objective; ``values``: the current trial's value per
    seed, ``trainings``: the trainings this process ran."""

    def __init__(self, spec: ModelSpec, data: PreparedData, plan, work_root: Path, listeners, seeds: list[int]):
        self.spec, self.data, self.plan = spec, without_test(data), plan
        self.work_root, self.listeners, self.seeds = work_root, listeners, seeds
        self.maximize = TUNE_METRICS[plan.metric] == "maximize"
        self.trainings = 0
        self.values: dict[str, float] = {}

    def _settings(self, params: dict, seed: int, device_batch: int | None = None):
        settings = settings_for(self.spec, **{**self.plan.fixed, **params, "seed": seed})
        return settings if device_batch is None else replace(settings, device_batch_size=device_batch)

    def _train_here(self, trial: optuna.Trial, settings, hooks: list) -> TrainResult:
        work = Path(tempfile.mkdtemp(prefix=f"trial-{trial.number}-", dir=self.work_root))
        try:
            return fit(self.spec, self.data, settings, work, hooks, final=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _heard(self, trial: optuna.Trial, seed: int, index: int, train: Training) -> TrainResult:
        """Seed ``seed`` (the ``index``-th) trained by ``train``, its epochs reported to the listeners
        and the pruner (step ``index * STEP_STRIDE + epoch``)."""
        def report(epoch: int, metrics: dict[str, float]) -> None:
            step = index * STEP_STRIDE + epoch
            for listener in self.listeners:
                listener.on_epoch(step, metrics)
            if self.plan.metric in metrics:
                trial.report(metrics[self.plan.metric], step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {epoch} of seed {seed}")

        self.trainings += 1
        return train([report])

    def _next_batch(self, batching: _Batching, trial: optuna.Trial, params: dict, index: int) -> dict[int, Training]:
        """Start the next seeds from the ``index``-th on that have no value yet: one here, or a batch
        in processes; {seed: its training}."""
        untrained = [s for s in self.seeds[index:] if str(s) not in self.values]
        batch = untrained[:batching.width or 1]
        if len(batch) == 1:
            settings = self._settings(params, batch[0], batching.device_batch)
            return {batch[0]: functools.partial(self._train_here, trial, settings)}
        if batching.processes is None:  # the trial's folder is removed after its processes end
            batching.work = Path(tempfile.mkdtemp(prefix=f"trial-{trial.number}-", dir=self.work_root))
            batching.stack.callback(shutil.rmtree, batching.work, ignore_errors=True)
            batching.processes = batching.stack.enter_context(SeedProcesses(len(batch)))
        for seed in batch:
            (work := batching.work / f"seed-{seed}").mkdir()  # type: ignore[operator]
            batching.processes.start(seed, self.spec, self.data, self._settings(params, seed, batching.device_batch),
                                     work, final=False)
        return {seed: functools.partial(batching.processes.result, seed) for seed in batch}

    def _measure(self, batching: _Batching, params: dict, seed: int, result: TrainResult) -> None:
        """``auto`` after a trial's first seed: as many seeds at once as its peak memory allows."""
        if batching.width is None:
            remaining = sum(str(s) not in self.values for s in self.seeds)
            settings, batching.width = measured_width(self._settings(params, seed), result, max(remaining, 1))
            batching.device_batch = settings.device_batch_size

    def train_seeds(self, trial: optuna.Trial, params: dict) -> float:
        """The mean over the study's seeds, raced: pruned as soon as it is clearly worse than the
        incumbent. A retried trial keeps the seeds its failed trial finished."""
        retry_of = trial.user_attrs.get(Attr.RETRY_OF)
        values = self.values  # emptied for each trial by the objective
        if retry_of is not None:
            values.update(trial.study.trials[retry_of].user_attrs.get(Attr.SEED_VALUES) or {})
        parallel = self.plan.parallel
        with contextlib.ExitStack() as stack:
            batching = _Batching(stack, None if measures_first(parallel) else parallel if isinstance(parallel, int)
                                 else 1)
            waiting: dict[int, Training] = {}  # seeds trained (or training) not heard yet
            for index, seed in enumerate(self.seeds):
                if str(seed) not in values:
                    waiting = waiting or self._next_batch(batching, trial, params, index)
                    result = self._heard(trial, seed, index, waiting.pop(seed))
                    values[str(seed)] = result.validation[self.plan.metric]
                    self._measure(batching, params, seed, result)
                    trial.set_user_attr(Attr.SEED_VALUES, values)
                for listener in self.listeners:
                    listener.on_seed(seed, values[str(seed)])
                if index + 1 < len(self.seeds) and self.plan.race and not waiting:
                    self._race(trial, index)
        return float(np.mean(list(values.values())))

    def _race(self, trial: optuna.Trial, index: int) -> None:
        """Prune the trial when its seeds so far are clearly worse than the incumbent's."""
        incumbent, spread = race_state(trial.study, trial.number, self.maximize)
        if incumbent is not None and clearly_worse(list(self.values.values()), seed_values(incumbent), spread,
                                                   self.maximize, self.plan.race_alpha):
            raise optuna.TrialPruned(f"clearly worse than trial {incumbent.number} after {index + 1} seed(s)")
