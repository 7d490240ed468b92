"""``main -P slurm=...`` from a login node: every model's training at once, each a Slurm job array
and its finishing task (:mod:`.train_slurm`), then compare as a Slurm task that starts once every
finishing task has ended well (``--dependency=afterok``; Slurm cancels it when one fails). The
login node holds the step runs open and waits; publish (which may push to the Hub, out of reach
of offline compute nodes) and evaluate run there after compare, as without Slurm."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from .. import cluster
from ..core.errors import FrenkError
from ..core.names import Tag
from ..tracking import projects, runs, search

log = logging.getLogger(__name__)
#: seconds between two looks at a starting training's parent run, for its finishing job
POLL = 2.0


def trained_on_slurm(chain, project: Path, cfg, trains: dict[str, dict], group: str, digest: str):
    """The trainings of ``trains`` ({model: train parameters}) not reusable, started at once with
    ``cfg.slurm``; compare after them all as a Slurm task; the compare run. ``chain`` is main's
    chain of steps (:class:`frenk.steps.main._Chain`)."""
    options = cluster.read_options(cfg.slurm)
    reuse = {Tag.DATA_DIGEST: digest}
    started = {}
    for model, params in trains.items():
        if chain.reused("train", params, reuse_tags=reuse) is None:
            log.info(f"main: train {model}: submitting its seeds to Slurm")
            started[model] = projects.start_entry_point(project, "train", {**params, "slurm": cfg.slurm},
                                                        chain.experiment)
    try:
        jobs = [_finishing_job(s) for s in started.values()]
        if not started:
            previous = chain.reused("compare", {"group": group}, search.compared_after_training(group), reuse)
            if previous is not None:
                return previous
        if not all(jobs):  # a training ended before it submitted its finishing task: it failed (said below)
            job, status = "(not submitted)", 1
        else:
            job, status = _submit_compare(chain, project, options, group, cfg, [j for j in jobs if j])
    finally:
        _wait_all(chain, started)
    if status != 0:
        raise FrenkError(f"main: the Slurm task {job} of compare ended with status {status}: see its output in "
                         f"frenk-slurm-logs/ (under {Path.cwd()})")
    run = search.find_reusable("compare", {"group": group}, chain.experiment, reuse)
    if run is None:
        raise FrenkError(f"main: the Slurm task {job} of compare ended well but left no finished compare run of "
                         f"group {group}; see frenk-slurm-logs/")
    chain.record("compare", run.info.run_id)
    return projects.tag_main_run(run.info.run_id, chain.main_run_id)


def _wait_all(chain, started: dict) -> None:
    """Wait for every started training; the first that failed is the error (after all have ended)."""
    failed = None
    for model, submitted in started.items():
        try:
            run = projects.wait_entry_point(submitted, f"train ({model})", chain.main_run_id)
            chain.record("train", run.info.run_id)
        except FrenkError as exc:
            failed = failed or exc
    if failed is not None:
        raise failed


def _finishing_job(submitted) -> str | None:
    """The job that finishes a started training (on its parent run as soon as it is submitted), or
    None when the training ended before it had one (it failed early: waiting for it says so)."""
    while not projects.ended(submitted):
        job = runs.run_tag(submitted.run_id, Tag.SLURM_FINISH_JOB)
        if job:
            return job
        time.sleep(POLL)
    return runs.run_tag(submitted.run_id, Tag.SLURM_FINISH_JOB)


def _submit_compare(chain, project: Path, options: cluster.SlurmOptions, group: str, cfg,
                    jobs: list[str]) -> tuple[str, int]:
    """compare as a Slurm task after ``jobs`` (every training's finishing job), waited for."""
    command = [sys.executable, "-m", "mlflow", "run", str(project), "-e", "compare", "--env-manager", "local",
               "--experiment-id", chain.experiment, "-P", f"group={group}"]
    log.info(f"main: compare: a Slurm task after the finishing jobs {', '.join(jobs) or '(none)'}")
    return cluster.submit_and_wait(options, command, f"frenk-compare-{cfg.lang}-{cfg.labels}", "compare",
                                   chain.main_run_id, Path.cwd() / "frenk-slurm-main", cluster.after_all(jobs))
