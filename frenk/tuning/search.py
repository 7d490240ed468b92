"""The search loop: each trial trains through :func:`frenk.training.fit` (not final: validation
only, the test split closed, nothing saved), reports the validation metric after every epoch
to the pruner, and never trains a configuration the study has already evaluated.

The budget (``trials``) counts the study's trials across all workers and invocations, so a
finished grid adds no trial when run again, and two workers on one storage divide the grid
(Optuna's grid sampler gives trial number k the k-th grid point). Each trial trains the study's
tuning seeds in turn (``parallel`` at once), raced (:mod:`.racing`; :mod:`.trial_seeds`): its value
is the mean over the seeds it trained.
Tracking follows through :class:`TrialListener` hooks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from ..core.choices import RACE_ALPHA, TIED_ALPHA, TUNE_METRICS
from ..core.errors import MAX_TRIALS, ConfigError, check_limit
from ..core.names import Attr, Metric
from ..data import PreparedData
from ..training import ModelSpec, parse_parallel
from .racing import clearly_worse, pooled_spread
from .space import SearchSpace
from .study import (
    choose_pruner,
    choose_sampler,
    fail_orphaned_trials,
    open_storage,
    open_study,
    sampler_name,
    study_seeds,
    worker_id,
)
from .trial_seeds import TrialSeeds, seed_values

#: trials that hold a place in the budget (failed ones are retried instead)
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
#: seconds between looks at a running duplicate of another worker
POLL_SECONDS = 2.0


@dataclass
class SearchPlan:
    """What to search, where, and how long."""

    space: SearchSpace
    metric: str = Metric.VAL_MACRO_F1
    sampler: str = "auto"
    pruner: str = "auto"
    trials: int = 0  # the study's total budget; 0: the grid's size (20 for other samplers)
    seeds: int = 1  # seeds per configuration, at most (raced)
    race: bool = True  # prune a configuration once it is clearly worse than the incumbent
    race_alpha: float = RACE_ALPHA  # the racing rule's one-sided level
    parallel: int | str = 1  # seeds of a trial trained at once (raced after each batch), or auto
    timeout: float = 0  # seconds for this invocation; 0: none
    seed: int = 42
    study: str = ""
    storage: str = ""
    #: train settings outside the space (max_length, precision, device_batch_size, ...)
    fixed: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """A budget or a grid above :data:`~frenk.core.errors.MAX_TRIALS` is refused (unless
        FRENK_ALLOW_LARGE=1) before any work: a typo there would train for weeks."""
        name = sampler_name(self.sampler, self.space)
        if name in ("grid", "bruteforce") and self.space.is_grid:
            check_limit(f"{self.space.source}: the grid of {' x '.join(str(len(v)) for v in self.space.grid.values())} "
                        "points; its size", self.space.grid_size, MAX_TRIALS, "trials (give fewer values, or "
                        "sampler=tpe or random with trials=N)")
        check_limit("trials", budget(self, name), MAX_TRIALS, "trials")
        if self.seeds < 1:
            raise ConfigError(f"seeds={self.seeds}: each configuration needs at least one seed")
        check_limit("trials x seeds", budget(self, name) * self.seeds, MAX_TRIALS, "trainings")
        self.parallel = parse_parallel(self.parallel)


class TrialListener:
    """Hooks around each trial; each does nothing unless overridden."""

    def on_trial_start(self, number: int, params: dict) -> None:
        """A trial starts with these hyperparameters."""

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Validation metrics after an epoch of the current trial."""

    def on_seed(self, seed: int, value: float) -> None:
        """The current trial's validation metric on one of the study's seeds (after its training)."""

    def on_trial_end(self, number: int, state: str, value: float | None, duplicate_of: int | None) -> None:
        """``state``: complete, pruned, failed or duplicate; ``value``: the mean over its seeds."""


@dataclass
class SearchResult:
    study: str
    sampler: str
    pruner: str
    metric: str
    new_trials: int
    best_value: float | None
    best_params: dict
    best_trial: int | None
    table: pd.DataFrame  # every trial, best first
    failed_orphans: list[int] = field(default_factory=list)
    #: the study's tuning seeds (each configuration gets them in turn, raced)
    seeds: list[int] = field(default_factory=list)
    #: (trials, trainings): the study's budget, known before it starts (trainings: trials x seeds, at most)
    budget: tuple[int, int] = (0, 0)
    #: trainings of this invocation, and of the whole study so far
    new_trainings: int = 0
    trainings: int = 0
    #: the finished trials the seeds cannot tell from the best (the best among them)
    tied: list[int] = field(default_factory=list)
    #: the seeds were raced (``race`` and more than one seed): a trial may be pruned between its seeds
    raced: bool = False

    @property
    def pruning(self) -> str:
        """Who prunes, in words: the per-epoch pruner within a seed, and the race between seeds."""
        between = "; seeds raced: a configuration clearly worse than the best gets no more seeds" if self.raced else ""
        return f"pruner {self.pruner} within a seed{between}"


def budget(plan: SearchPlan, sampler: str) -> int:
    if plan.trials:
        return plan.trials
    return plan.space.grid_size if sampler in ("grid", "bruteforce") and plan.space.is_grid else 20


def _same(trial: optuna.trial.FrozenTrial, params: dict) -> bool:
    return trial.params == params


def _duplicate_of(study: optuna.Study, number: int, params: dict):
    """An earlier trial with exactly these hyperparameters (complete, pruned, or running in
    another worker, waited for), or None."""
    while True:
        others = [t for t in study.get_trials(deepcopy=False) if t.number != number and _same(t, params)]
        finished = [t for t in others if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        if finished:
            return min(finished, key=lambda t: t.number)
        running = [t for t in others if t.state == TrialState.RUNNING and t.number < number]
        if not running:
            return None
        time.sleep(POLL_SECONDS)


def _counted(study: optuna.Study, before: int | None = None) -> int:
    """Trials that hold a place in the budget (those numbered below ``before``), surplus ones left out."""
    return sum(1 for t in study.get_trials(deepcopy=False, states=COUNTED)
               if not t.user_attrs.get(Attr.SURPLUS) and (before is None or t.number < before))


def _retry_failed(study: optuna.Study) -> int:
    """Queue again the configurations whose only trials failed (an interrupted run resumes them)."""
    trials = study.get_trials(deepcopy=False)
    queued = 0
    for failed in (t for t in trials if t.state == TrialState.FAIL):
        if not any(_same(t, failed.params) for t in trials if t.state in COUNTED) and failed.params:
            study.enqueue_trial(failed.params, user_attrs={Attr.RETRY_OF: failed.number})
            trials = study.get_trials(deepcopy=False)
            queued += 1
    return queued


class _Objective(TrialSeeds):
    def __init__(self, spec: ModelSpec, data: PreparedData, plan: SearchPlan, work_root: Path, listeners,
                 limit: int, seeds: list[int]):
        super().__init__(spec, data, plan, work_root, listeners, seeds)
        self.limit = limit
        self.surplus = False  # whether the last trial found the budget spent by other workers

    def __call__(self, trial: optuna.Trial) -> float:
        # two workers that read the count at once both create a trial: the later one trains nothing
        self.surplus = _counted(trial.study, before=trial.number) >= self.limit
        if self.surplus:
            trial.set_user_attr(Attr.SURPLUS, True)
            raise optuna.TrialPruned("the budget was spent by other workers")
        params = self.plan.space.suggest(trial)
        self.values = {}
        trial.set_user_attr(Attr.WORKER, worker_id())
        for listener in self.listeners:
            listener.on_trial_start(trial.number, params)
        state, value, duplicate = "failed", None, None
        try:
            earlier = _duplicate_of(trial.study, trial.number, params)
            if earlier is not None:
                duplicate, state = earlier.number, "duplicate"
                trial.set_user_attr(Attr.DUPLICATE_OF, earlier.number)
                if earlier.state == TrialState.PRUNED:
                    raise optuna.TrialPruned(f"same configuration as trial {earlier.number}, which was pruned")
                value = earlier.value
            else:
                value = self.train_seeds(trial, params)
                state = "complete"
            return value
        except optuna.TrialPruned:
            state = "duplicate" if duplicate is not None else "pruned"
            if duplicate is None and self.values:  # the mean over the seeds it trained
                value = float(np.mean(list(self.values.values())))
            raise
        finally:
            for listener in self.listeners:
                listener.on_trial_end(trial.number, state, value, duplicate)


def _trainings(study: optuna.Study) -> int:
    """The trainings the study spent: each trial's seeds, a failed trial's counted once with its retry
    (which keeps the seeds it finished)."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get(Attr.RETRY_OF) for t in trials}
    return sum(len(seed_values(t)) for t in trials if t.number not in retried)


def tied_with_best(study: optuna.Study, best: optuna.trial.FrozenTrial | None, maximize: bool,
                   alpha: float = TIED_ALPHA) -> list[int]:
    """The finished trials (the best among them) that are not clearly worse than the best by the
    racing rule: the configurations its seeds cannot tell from the best."""
    if best is None:
        return []
    trials = [t for t in study.get_trials(deepcopy=False) if seed_values(t)]
    spread = pooled_spread(seed_values(t) for t in trials)
    return sorted(t.number for t in trials if t.state == TrialState.COMPLETE
                  and not clearly_worse(seed_values(t), seed_values(best), spread, maximize, alpha))


def _table(study: optuna.Study, metric: str, tied: list[int]) -> pd.DataFrame:
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(Attr.SURPLUS):
            continue
        values = seed_values(t)
        rows.append({"trial": t.number, "state": t.state.name.lower(),
                     metric: float(np.mean(values)) if values else t.value, "seeds": len(values),
                     "seed_sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                     "tied_with_best": t.number in tied, "duplicate_of": t.user_attrs.get(Attr.DUPLICATE_OF),
                     **t.params, "seconds": t.duration.total_seconds() if t.duration else None})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    ascending = TUNE_METRICS[metric] == "minimize"
    return frame.sort_values(metric, ascending=ascending, na_position="last").reset_index(drop=True)


def search(spec: ModelSpec, data: PreparedData, plan: SearchPlan, work_root: Path,
           listeners: Sequence[TrialListener] = ()) -> tuple[optuna.Study, SearchResult]:
    """Run (or resume) the study until its budget is spent or the timeout passes."""
    sampler_name, sampler = choose_sampler(plan.sampler, plan.space, plan.seed)
    pruner_name, pruner = choose_pruner(plan.pruner, sampler_name)
    study = open_study(plan.study, open_storage(plan.storage), sampler, pruner, plan.metric)
    seeds = study_seeds(study, plan.seeds, plan.seed)
    orphans = fail_orphaned_trials(study)
    _retry_failed(study)
    limit = budget(plan, sampler_name)
    deadline = time.monotonic() + plan.timeout if plan.timeout else None
    objective = _Objective(spec, data, plan, work_root, list(listeners), limit, seeds)
    new = 0
    # a queued retry holds a place in the budget: it runs even when the budget is otherwise spent
    while _counted(study) < limit or study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        if deadline is not None and time.monotonic() >= deadline:
            break
        study.optimize(objective, n_trials=1)
        new += not objective.surplus
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    best = study.best_trial if complete else None
    tied = tied_with_best(study, best, objective.maximize)
    return study, SearchResult(
        study=plan.study, sampler=sampler_name, pruner=pruner_name, metric=plan.metric, new_trials=new,
        best_value=best.value if best else None, best_params=dict(best.params) if best else {},
        best_trial=best.number if best else None, table=_table(study, plan.metric, tied), failed_orphans=orphans,
        seeds=seeds, budget=(limit, limit * len(seeds)), new_trainings=objective.trainings,
        trainings=_trainings(study), tied=tied, raced=plan.race and len(seeds) > 1,
    )
