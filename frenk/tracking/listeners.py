"""Training listeners that log to MLflow: one (child) run per seed, with the data inputs, the
per-epoch validation curves, the results and, when asked, the weights."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import mlflow

from ..core.errors import TrackingError
from ..core.names import Metric, Tag
from ..data import PreparedData
from ..training import TrainListener, TrainResult
from .registry import log_model
from .results import describe, epoch_logger, log_prepared_inputs, log_train_result
from .runs import active_run_id, frenk_tags, inherited_tags, log_params, resume_run, step_run

#: the events of a :class:`~frenk.training.TrainListener`, the only ones a recovery replays
EVENTS = ("on_seed_start", "on_epoch", "on_seed_result", "on_seed_end")


#: the parent's tags a seed run does not carry
_NOT_INHERITED = (Tag.REPEATS, Tag.TEMP_DIRS, Tag.SLURM_JOB, Tag.SLURM_FINISH_JOB)


@dataclass(frozen=True)
class LoggedSeeds:
    """What :class:`SeedRuns` logged: each seed's run id, and the URI of the model logged in it
    (the seeds whose weights were stored as they ended)."""

    run_ids: dict[int, str]
    model_uris: dict[int, str]


class SeedRuns(TrainListener):
    """Logs each seed of a training: as a child run of the active run when ``nested`` (repeats),
    else into the active run itself. :meth:`outcome` tells each seed's run id and logged model URI."""

    def __init__(self, data: PreparedData, params: dict, run_name: str, nested: bool,
                 sources: Mapping[int, tuple[int, int]] | None = None, parent_run_id: str | None = None,
                 extra_tags: Mapping[str, str] | None = None):
        self.data, self.params, self.run_name, self.nested = data, params, run_name, nested
        #: a Slurm task's seed: the child of this run (not active here), with these tags too
        self.parent_run_id, self.extra_tags = parent_run_id, dict(extra_tags or {})
        #: each seed's init and data seeds (a seed without an entry: itself for both)
        self.sources = {seed: tuple(pair) for seed, pair in (sources or {}).items()}
        self.run_ids: dict[int, str] = {}
        self.model_uris: dict[int, str] = {}
        self._context: contextlib.AbstractContextManager | None = None

    def outcome(self) -> LoggedSeeds:
        """The seeds' runs and models logged so far (adopted ones included)."""
        return LoggedSeeds(dict(self.run_ids), dict(self.model_uris))

    def state(self) -> dict:
        """What a recovery needs to log the rest later (:meth:`from_state`)."""
        return {"params": self.params, "run_name": self.run_name, "nested": self.nested,
                "run_ids": dict(self.run_ids), "model_uris": dict(self.model_uris), "sources": dict(self.sources)}

    @classmethod
    def from_state(cls, data: PreparedData, state: dict) -> SeedRuns:
        runs = cls(data, state["params"], state["run_name"], state["nested"], state.get("sources"))
        runs.adopt(state["run_ids"], state["model_uris"])
        return runs

    def adopt(self, run_ids: dict[int, str], model_uris: dict[int, str]) -> None:
        """Seeds logged before (a stopped training continued, a recovery): their runs and models."""
        self.run_ids.update(run_ids)
        self.model_uris.update(model_uris)

    def on_seed_start(self, seed: int) -> None:
        init, data = self.sources.get(seed, (seed, seed))
        tags = frenk_tags(seed=seed, init_seed=init, data_seed=data)
        if self.nested and seed in self.run_ids:  # logging it again after an outage
            self.reopen(seed)
        elif self.nested:
            inherited = inherited_tags(_NOT_INHERITED, self.parent_run_id)
            self._context = step_run(self.run_name.format(seed=seed), {**inherited, **tags, **self.extra_tags},
                                     nested=True, parent_run_id=self.parent_run_id)
            self._context.__enter__()
        self.run_ids[seed] = active_run_id()
        if not self.nested:
            mlflow.set_tags(tags)
        log_params({**self.params, "seed": seed})
        log_prepared_inputs(self.data)

    def reopen(self, seed: int) -> None:
        """Make the (child) run of ``seed``, created before, the active one again (recovery)."""
        if self.nested and self._context is None:
            self._context = resume_run(self.run_ids[seed])
            self._context.__enter__()

    def replay(self, events: list[tuple[str, int | None, tuple]], where: object) -> None:
        """Log the events an outage kept (:attr:`frenk.tracking.outage.OutageGuard.pending`, read
        from the recovery folder ``where``) to the seeds' runs, reopening the run of each."""
        for name, seed, args in events:
            if name not in EVENTS:
                raise TrackingError(f"{where} holds an event {name!r} that a training never logs")
            if name != "on_seed_start" and seed is not None:
                self.reopen(seed)
            getattr(self, name)(*args)

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        epoch_logger(epoch, metrics)

    def on_seed_result(self, seed: int, result: TrainResult, keep_weights: bool) -> None:
        log_train_result(result)
        init, data = self.sources.get(seed, (seed, seed))
        scores = result.test_evaluation.metrics
        describe(f"Seed {seed} (initialisation seed {init}, data-order seed {data}): test macro-F1 "
                 f"{scores[Metric.TEST_MACRO_F1]:.4f}, accuracy {scores[Metric.TEST_ACCURACY]:.4f}; validation "
                 f"macro-F1 {result.validation.get(Metric.VAL_MACRO_F1, float('nan')):.4f}; reload check "
                 f"{'passed' if result.reload_identical else 'failed'}.")
        if keep_weights:
            self.model_uris[seed] = log_model(result.saved_model_dir, None).model_uri

    def on_seed_end(self, seed: int, error: BaseException | None) -> None:
        if self._context is None:
            return
        context, self._context = self._context, None
        if error is None:
            context.__exit__(None, None, None)
        else:
            context.__exit__(type(error), error, error.__traceback__)
