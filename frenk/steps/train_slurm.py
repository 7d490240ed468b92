"""``train -P repeats=N -P slurm=...``: the seeds as a Slurm job array (:mod:`frenk.cluster`).

The command on the login node checks everything a local training checks, opens the parent run as
a local training does and submits N tasks, each the same command line, told by its environment
which seed it is; each trains its seed as a child run of the parent (the same runs, tags and
artifacts as a local seed, plus its Slurm job and array index) and keeps the result in the
fan-out's folder. A task after the array (``--dependency=afterany``) writes the parent's summary
and registers the best seed, exactly as a local training ends; the login node waits for it and
exits with its status. A requeued task (preemption, time limit) trains a seed that has not
finished again, after deleting its earlier try's run, and never one that has."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path

from .. import cluster
from ..config import TrainConfig
from ..core.errors import ConfigError, ModelError
from ..core.interrupts import sigterm_as_interrupt
from ..core.log import quiet_progress_bars
from ..core.names import Tag
from ..core.state import read_state, write_state
from ..tracking import fanout, runs
from ..tracking.listeners import LoggedSeeds, SeedRuns
from ..training import fit_seeds, seed_sources
from .train import checked_inputs, tags_and_params
from .train_finish import TrainOutcome, finish, outcome

log = logging.getLogger(__name__)
OUTCOME_FILE = "outcome.json"


def fanned_out(cfg: TrainConfig) -> TrainOutcome:
    """The part of a fanned-out training this process is: the login node's, a seed's or the finish."""
    task = cluster.current_task()
    if task is None:
        return _submitted(cfg, cluster.read_options(cfg.slurm))
    quiet_progress_bars()
    with sigterm_as_interrupt():
        if task.role == "seed":
            _seed_task(cfg, task)
        else:
            _finish_task(cfg, task)
    sys.exit(0)  # a task's outcome is in MLflow and the fan-out's folder; the login node reports it


def _plan(cfg: TrainConfig):
    if cfg.keep_models == "all":
        raise ConfigError("slurm: keep_models=all is not supported on Slurm yet; use keep_models=best or none")
    spec, data, settings = checked_inputs(cfg)
    sources = seed_sources(cfg.seed, cfg.repeats, cfg.vary)
    tags, top_tags, params = tags_and_params(cfg, spec, data, settings)
    return spec, data, settings, sources, list(sources), tags, top_tags, params


def _submitted(cfg: TrainConfig, options: cluster.SlurmOptions) -> TrainOutcome:
    """On the login node: the parent run, the array of seed tasks, the finishing task; waits for it."""
    quiet_progress_bars()
    with sigterm_as_interrupt():
        spec, data, settings, sources, seeds, tags, top_tags, params = _plan(cfg)
        name = f"frenk-{spec.name}-{cfg.lang}"
        command = [sys.executable, *sys.argv]
        with runs.step_run(f"{name[6:]}-{cfg.repeats}seeds", top_tags, lang=cfg.lang, labels=cfg.labels) as top:
            parent = top.info.run_id
            folder = fanout.folder_of(parent, Path.cwd())
            folder.mkdir(mode=0o700)
            runs.note_temp_dir(folder)
            runs.log_params({**params, "seeds": ",".join(map(str, seeds))})
            width = f"%{options.parallelism}" if options.parallelism else ""
            array = cluster.submit(options, command, name, "seed", parent, folder,
                                   [f"--array=0-{len(seeds) - 1}{width}"])
            runs.set_tags(runs.frenk_tags(slurm_job=array))
            log.info(f"submitted seeds {seeds} as the Slurm job array {array} (squeue -j {array}); parent run {parent}")
            job, status = cluster.submit_and_wait(options, command, f"{name}-finish", "finish", parent, folder,
                                                  [f"--dependency=afterany:{array}"], announce=_finish_job_known)
            if status != 0:
                _failed(job, status, parent, folder)
            found, run_ids = fanout.read_seeds(folder, seeds)
            fitted = fit_seeds(spec, data, settings, seeds, folder, cfg.keep_models, finished=found, sources=sources)
            version = read_state(folder, OUTCOME_FILE, {}, "Slurm outcome")["version"]
    fanout.remove(folder)
    return outcome(cfg, spec.name, fitted, run_ids, version, parent)


def _failed(job: str, status: int, parent: str, folder: Path) -> None:
    """The login node's error when the finishing task failed: the seeds it found missing, if so."""
    logs = cluster.logs_of(folder)
    missing = runs.run_tag(parent, Tag.MISSING_SEEDS)
    if missing:
        raise ModelError(f"seeds [{missing.replace(',', ', ')}] of the training did not finish (their Slurm tasks "
                         f"failed for good; see {logs}): the parent {parent} is FAILED and nothing is registered; "
                         "train again to retrain them")
    raise ModelError(f"the Slurm task {job} that finishes the training ended with status {status}: see its "
                     f"log in {logs} and the parent run {parent}")


def _finish_job_known(job: str) -> None:
    """On the parent as soon as it is submitted (main's compare task waits for it): the finishing job."""
    runs.set_tags(runs.frenk_tags(slurm_finish_job=job))


def _seed_task(cfg: TrainConfig, task: cluster.Task) -> None:
    """One seed of the array, as a child run of the parent; kept in the fan-out's folder."""
    spec, data, settings, sources, seeds, tags, top_tags, params = _plan(cfg)
    seed = seeds[task.index]
    done = fanout.finished_seed(task.parent_run_id, seed, task.folder)
    if done is not None:
        log.info(f"seed {seed} finished before in run {done} (task {task.job} requeued after it): nothing to train")
        return
    fanout.supersede(task.parent_run_id, seed, task.job)
    seed_runs = SeedRuns(data, {**params, "model_source": spec.source or spec.kind},
                         f"{spec.name}-{cfg.lang}-s{{seed}}", True, sources, parent_run_id=task.parent_run_id,
                         extra_tags=runs.frenk_tags(**cluster.slurm_tags(task)))
    work_root = Path(tempfile.mkdtemp(prefix="frenk-train-"))
    try:
        fitted = fit_seeds(spec, data, settings, [seed], work_root, cfg.keep_models, [seed_runs],
                           sources=sources)
        fanout.save_seed(task.folder, fitted.seeds[0], seed_runs.outcome().run_ids[seed], work_root / f"seed-{seed}")
    finally:
        shutil.rmtree(work_root, ignore_errors=True)


def _finish_task(cfg: TrainConfig, task: cluster.Task) -> None:
    """After the array: the parent's summary and the registration of the best seed, as a local
    training ends; the seeds whose task failed for good are named on the parent, which FAILS."""
    spec, data, settings, sources, seeds, tags, top_tags, params = _plan(cfg)
    found, run_ids = fanout.read_seeds(task.folder, seeds)
    missing = [s for s in seeds if s not in run_ids]
    with runs.resume_run(task.parent_run_id, nested=False):
        runs.set_tags(runs.frenk_tags(slurm_finish_job=task.job))
        if missing:
            fanout.mark_missing(task.parent_run_id, missing)
            raise ModelError(f"seeds {missing} of the training did not finish (their Slurm tasks failed for good; see "
                             f"frenk-slurm-logs/): the parent {task.parent_run_id} is not summarised and nothing is "
                             "registered; train again to retrain them")
        fitted = fit_seeds(spec, data, settings, seeds, task.folder, cfg.keep_models, finished=found, sources=sources)
        version = finish(cfg, spec.name, fitted, LoggedSeeds(run_ids, {}), tags, True)
    write_state({"version": version}, task.folder, OUTCOME_FILE)
