"""A train step that is stopped or loses its tracking server.

A stop (Ctrl+C, SIGTERM) keeps the finished seeds in a resume folder that the same command
continues from (:mod:`frenk.tracking.resume`); a server that stays down past MLflow's retries
leaves a recovery folder that ``frenk-recover`` logs when it is back (:mod:`frenk.tracking.outage`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import RecoverConfig, TrainConfig
from ..core.errors import TrackingError
from ..core.names import Tag
from ..core.secret_params import redact
from ..data import PreprocessOptions, load_or_prepare
from ..team import connection
from ..tracking import outage, registry, resume, runs
from ..tracking.listeners import SeedRuns
from ..training import FinishedSeeds, best_seed, fit_seeds, kind_of
from .train_finish import TrainOutcome, finish, outcome


def fit_and_finish(cfg: TrainConfig, inputs, seed_runs: SeedRuns, tags: dict[str, str], run_id: str, work_root: Path,
                    resumable: resume.Resumable | None, listeners):
    """Train the seeds (the missing ones only when continuing a stopped training) inside the
    step's run, then finish it; a stop keeps the finished seeds for the same command to continue."""
    spec, data, settings, seeds = inputs
    finished = []
    if resumable is not None:
        resume.adopt(resumable, run_id)
        seed_runs.adopt(resumable.run_ids, resumable.model_uris)
        finished = resumable.finished
        print(f"frenk: continuing the training stopped in run {resumable.parent_run_id}: seeds "
              f"{[r.seed for r in finished]} finished there; training "
              f"{[s for s in seeds if s not in resumable.run_ids]}")
    guard = outage.OutageGuard(seed_runs)  # a server that stays down does not stop the training
    collected = FinishedSeeds()
    try:
        fitted = fit_seeds(spec, data, settings, seeds, work_root, cfg.keep_models, [guard, collected, *listeners],
                           finished=finished,
                           parallel=1 if "parallel" in kind_of(spec).ignored_params else cfg.parallel)
    except KeyboardInterrupt:
        _keep_stopped(run_id, finished, collected, resumable, work_root, seed_runs)
        raise
    version = _finish_or_save(cfg, fitted, guard, tags, run_id, work_root)
    if resumable is not None:
        resume.close(resumable)
    return fitted, version


def _keep_stopped(run_id: str, earlier: list, collected: FinishedSeeds, resumable, work_root: Path,
                  seed_runs: SeedRuns) -> None:
    """A stop: the finished seeds and the best one's weights go to a resume folder (one line says so)."""
    finished = [*earlier, *collected.finished]
    if not finished or not seed_runs.nested:
        return
    best = best_seed(finished)
    if any(r is best for r in collected.finished):
        best_work = work_root / f"seed-{best.seed}"
    else:
        best_work = resumable.folder / "work"
    folder = resume.save_stopped(run_id, finished, best_work, seed_runs.run_ids, seed_runs.model_uris, Path.cwd())
    if resumable is not None:
        resume.close(resumable)
    print(f"frenk: seeds {[r.seed for r in finished]} finished and keep their runs; the best one's weights are kept "
          f"in {folder}: run the same command again to train the missing seeds only", flush=True)


def _finish_or_save(cfg: TrainConfig, fitted, guard: outage.OutageGuard, tags: dict[str, str], run_id: str,
                    work_root: Path) -> str | None:
    """Finish the run; if the tracking server has gone (and MLflow's retries are spent), save
    everything not yet logged to a recovery folder and stop with the command that logs it."""
    seed_runs = guard.inner
    assert isinstance(seed_runs, SeedRuns)  # the step guards its own SeedRuns
    if guard.down is None:
        try:
            return finish(cfg, tags[Tag.MODEL], fitted, seed_runs, tags, seed_runs.nested)
        except Exception as exc:
            if not outage.server_unreachable(exc):
                raise
            guard.down = exc
    uri = connection.tracking_uri()
    recovery = outage.Recovery(uri, cfg, run_id, seed_runs.state(), guard.pending, fitted, tags)
    folder = outage.save_recovery(recovery, work_root, Path.cwd())
    outage.abandon_active_runs()
    raise TrackingError(
        f"the MLflow tracking server at {redact(uri)} went down during the training and did not come back within "
        "MLflow's retries (MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR). The training itself "
        f"finished: its weights, metrics and predictions are saved in {folder}. When the server is back, run "
        f"`frenk-recover --folder {folder}` to log them to run {run_id} and register the model"
    )


def recover(cfg: RecoverConfig) -> TrainOutcome:
    """Log a training saved by :func:`_finish_or_save` to its runs, finish them and register the
    model, as the training would have; then remove the recovery folder."""
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
    state = saved.listener
    seed_runs = SeedRuns.from_state(data, state)
    outage.reclaim_runs([saved.run_id, *seed_runs.run_ids.values()])
    if train_cfg.register:
        registry.repair_versions(train_cfg.register)  # a registration the outage left half-done
    with runs.resume_run(saved.run_id, nested=False):
        for name, seed, args in saved.pending:
            if name not in ("on_seed_start", "on_epoch", "on_seed_result", "on_seed_end"):
                raise TrackingError(f"{folder} holds an event {name!r} that a training never logs")
            if name != "on_seed_start" and seed is not None:
                seed_runs.reopen(seed)
            getattr(seed_runs, name)(*args)
        version = finish(train_cfg, saved.tags[Tag.MODEL], saved.fitted, seed_runs, saved.tags, state["nested"])
    shutil.rmtree(folder)
    print(f"frenk: logged the training saved in {folder} to run {saved.run_id} (the folder is removed)")
    return outcome(train_cfg, saved.tags[Tag.MODEL], saved.fitted, seed_runs.run_ids, version,
                    saved.run_id if state["nested"] else None)
