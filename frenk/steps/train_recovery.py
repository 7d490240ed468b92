"""A train step that is stopped or loses its tracking server, behind one interface: :class:`TrainRecovery`.

A stop (Ctrl+C, SIGTERM) keeps the finished seeds in a resume folder that the same command
continues from (:mod:`frenk.tracking.resume`); a server that stays down past MLflow's retries
leaves a recovery folder that ``frenk-recover`` logs when it is back (:mod:`frenk.tracking.outage`,
:func:`recover`).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..config import RecoverConfig, TrainConfig
from ..core.errors import TrackingError
from ..core.names import Tag
from ..core.secret_params import redact
from ..data import PreprocessOptions, load_or_prepare
from ..team import connection
from ..tracking import outage, registry, resume, runs
from ..tracking.listeners import SeedRuns
from ..training import FinishedSeeds, SeedResult, TrainListener, best_seed
from .train_finish import TrainOutcome, finish, outcome

log = logging.getLogger(__name__)


class TrainRecovery:
    """What a training keeps when it is stopped or its server goes, for the step's run ``run_id``.

    :meth:`resume_stopped` continues a stopped training of the same command (its finished seeds'
    runs adopted); :attr:`listeners` follow the training (the outage guard around ``seed_runs``,
    the finished seeds); :meth:`kept_on_stop` around the fit keeps the finished seeds in a resume
    folder when it is stopped; :meth:`kept_on_outage` around the step's end (log, register) saves
    a recovery folder instead, and stops with the command that logs it, when the server is gone.
    """

    def __init__(self, cfg: TrainConfig, seed_runs: SeedRuns, tags: dict[str, str], run_id: str, work_root: Path):
        self.cfg, self.seed_runs, self.tags, self.run_id, self.work_root = cfg, seed_runs, tags, run_id, work_root
        self.resumable: resume.Resumable | None = None
        self.guard = outage.OutageGuard(seed_runs)  # a server that stays down does not stop the training
        self.collected = FinishedSeeds()

    @property
    def listeners(self) -> list[TrainListener]:
        return [self.guard, self.collected]

    @property
    def earlier(self) -> list[SeedResult]:
        """The seeds a stopped training of the same command finished (none when starting afresh)."""
        return self.resumable.finished if self.resumable is not None else []

    def resume_stopped(self, top_tags: dict[str, str], experiment_id: str, seeds: list[int]) -> list[SeedResult]:
        """With repeats: the newest stopped training of the same command (:func:`resume.find_resumable`),
        its finished seeds' runs made children of this run; returns those seeds ([] when none)."""
        found = resume.find_resumable(top_tags, experiment_id) if self.cfg.repeats > 1 else None
        if found is None:
            return []
        resume.adopt(found, self.run_id)
        self.seed_runs.adopt(found.run_ids, found.model_uris)
        self.resumable = found
        log.info(f"continuing the training stopped in run {found.parent_run_id}: seeds "
              f"{[r.seed for r in found.finished]} finished there; training "
              f"{[s for s in seeds if s not in found.run_ids]}")
        return found.finished

    @contextlib.contextmanager
    def kept_on_stop(self) -> Iterator[None]:
        """Around the fit: a stop keeps the finished seeds and the best one's weights in a resume
        folder (one line says so), then goes on as the stop it is."""
        try:
            yield
        except KeyboardInterrupt:
            self._keep_stopped()
            raise

    def _keep_stopped(self) -> None:
        finished = [*self.earlier, *self.collected.finished]
        if not finished or self.cfg.repeats <= 1:
            return
        best = best_seed(finished)
        if any(r is best for r in self.collected.finished):
            best_work = self.work_root / f"seed-{best.seed}"
        else:
            assert self.resumable is not None  # the best seed is an earlier one
            best_work = self.resumable.folder / "work"
        logged = self.seed_runs.outcome()
        folder = resume.save_stopped(self.run_id, finished, best_work, logged.run_ids, logged.model_uris, Path.cwd())
        self._close()
        log.info(f"seeds {[r.seed for r in finished]} finished and keep their runs; the best one's weights are "
              f"kept in {folder}: run the same command again to train the missing seeds only")

    @contextlib.contextmanager
    def kept_on_outage(self, fitted) -> Iterator[None]:
        """Around the step's end (log, register): when the tracking server has gone (MLflow's
        retries spent), before or during it, everything not yet logged goes to a recovery folder
        and the step stops with the command that logs it; else the resume folder is done with."""
        if self.guard.down is None:
            try:
                yield
            except Exception as exc:
                if not outage.server_unreachable(exc):
                    raise
                self.guard.down = exc
            else:
                self._close()
                return
        raise self._saved_for_later(fitted)

    def _close(self) -> None:
        if self.resumable is not None:
            resume.close(self.resumable)

    def _saved_for_later(self, fitted) -> TrackingError:
        uri = connection.tracking_uri()
        saved = outage.Recovery(uri, self.cfg, self.run_id, self.seed_runs.state(), self.guard.pending, fitted,
                                self.tags)
        folder = outage.save_recovery(saved, self.work_root, Path.cwd())
        outage.abandon_active_runs()
        return TrackingError(
            f"the MLflow tracking server at {redact(uri)} went down during the training and did not come back within "
            "MLflow's retries (MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR). The training "
            f"itself finished: its weights, metrics and predictions are saved in {folder}. When the server is back, "
            f"run `frenk-recover --folder {folder}` to log them to run {self.run_id} and register the model"
        )


def recover(cfg: RecoverConfig) -> TrainOutcome:
    """Log a training saved by :meth:`TrainRecovery.kept_on_outage` to its runs, finish them and
    register the model, as the training would have; then remove the recovery folder."""
    folder = Path(cfg.folder).resolve()
    saved = outage.load_recovery(folder)
    uri = connection.tracking_uri()
    if uri != saved.tracking_uri:
        raise TrackingError(f"{folder} holds runs of the tracking server {redact(saved.tracking_uri)}, but "
                            f"MLFLOW_TRACKING_URI is {redact(uri)}: set it to the server of the runs")
    train_cfg = saved.config
    if not isinstance(train_cfg, TrainConfig):
        raise TrackingError(f"{folder} does not hold a training's configuration")
    runs.start_step()
    data = load_or_prepare(train_cfg.data, PreprocessOptions(lang=train_cfg.lang, labels=train_cfg.labels))
    if data.data_digest != saved.tags.get(Tag.DATA_DIGEST):
        raise TrackingError(f"the data at {train_cfg.data} has changed since the training (digest {data.data_digest}, "
                            f"trained on {saved.tags.get(Tag.DATA_DIGEST)}): restore it to recover the runs")
    nested = saved.listener["nested"]
    seed_runs = SeedRuns.from_state(data, saved.listener)
    outage.reclaim_runs([saved.run_id, *seed_runs.outcome().run_ids.values()])
    if train_cfg.register:
        registry.repair_versions(train_cfg.register)  # a registration the outage left half-done
    with runs.resume_run(saved.run_id, nested=False):
        seed_runs.replay(saved.pending, folder)
        version = finish(train_cfg, saved.tags[Tag.MODEL], saved.fitted, seed_runs.outcome(), saved.tags, nested)
    shutil.rmtree(folder)
    log.info(f"logged the training saved in {folder} to run {saved.run_id} (the folder is removed)")
    return outcome(train_cfg, saved.tags[Tag.MODEL], saved.fitted, seed_runs.outcome().run_ids, version,
                   saved.run_id if nested else None)
