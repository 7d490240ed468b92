"""The runs and folders of a training fanned out to Slurm (:mod:`frenk.cluster`): each seed task
keeps its seed's result (and, when it is the one to keep, its weights) in the fan-out's folder
``frenk-slurm-<parent run id>`` under the working directory (shared with the compute nodes), as
JSON + NumPy files (:mod:`frenk.core.state`, never a pickle, read only from the user's own
folders); the finishing task reads them all back to summarise the parent and register the best."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import mlflow

from ..core.names import Tag, search_tag
from ..core.state import StateError, read_state
from .outage import keep_folder
from .resume import RESUME_FILE, RESUME_TYPES

log = logging.getLogger(__name__)

PREFIX = "frenk-slurm-"


def folder_of(parent_run_id: str, where: Path) -> Path:
    return where / f"{PREFIX}{parent_run_id}"


def seed_runs_of(parent_run_id: str, seed: int) -> list:
    """The (not deleted) child runs of ``parent_run_id`` that trained ``seed``."""
    experiment = mlflow.get_run(parent_run_id).info.experiment_id
    query = f"{search_tag('mlflow.parentRunId')} = '{parent_run_id}' AND {search_tag(Tag.SEED)} = '{seed}'"
    return mlflow.search_runs(experiment_ids=[experiment], filter_string=query, output_format="list")


def finished_seed(parent_run_id: str, seed: int, folder: Path) -> str | None:
    """The FINISHED run of ``seed`` whose result the fan-out's folder holds (a task that ran before,
    requeued after it had finished), or None: that seed is still to train."""
    kept = read_seed(folder, seed)
    if kept is None:
        return None
    run_id = kept["run_ids"].get(seed)
    return run_id if any(r.info.run_id == run_id and r.info.status == "FINISHED"
                         for r in seed_runs_of(parent_run_id, seed)) else None


def supersede(parent_run_id: str, seed: int, job: str) -> None:
    """Before a (requeued) task trains ``seed`` again: the runs an earlier try of it left (KILLED by
    the preemption, or FAILED) are deleted, so the parent has one run per seed."""
    client = mlflow.MlflowClient()
    for run in seed_runs_of(parent_run_id, seed):
        client.set_tag(run.info.run_id, Tag.CONTINUED_BY, job)
        if run.info.status == "RUNNING":
            client.set_terminated(run.info.run_id, "KILLED")
        client.delete_run(run.info.run_id)
        log.info(f"seed {seed}: the run {run.info.run_id} of an earlier try ({run.info.status}) is deleted; "
                 "training the seed again")


def save_seed(folder: Path, result, run_id: str, work: Path | None) -> None:
    """Keep ``result`` (a :class:`~frenk.training.SeedResult`) of ``run_id`` and its work folder
    (its weights, when kept) in ``folder/seed-<seed>``, whole or not at all."""
    if work is None or not work.is_dir():
        work = Path(tempfile.mkdtemp(prefix="frenk-nothing-kept-"))
    payload = {"finished": [result], "run_ids": {result.seed: run_id}, "model_uris": {}}
    keep_folder(payload, work, folder / f"seed-{result.seed}", RESUME_FILE)


def read_seed(folder: Path, seed: int) -> dict | None:
    where = folder / f"seed-{seed}"
    if not (where / RESUME_FILE).is_file():
        return None
    try:
        payload = read_state(where, RESUME_FILE, RESUME_TYPES, "Slurm seed folder")
    except (StateError, OSError, ValueError) as exc:
        log.warning(f"seed {seed}: not reading {where}: {exc}")
        return None
    return payload if isinstance(payload, dict) and {"finished", "run_ids"} <= set(payload) else None


def read_seeds(folder: Path, seeds: list[int]) -> tuple[list, dict[int, str]]:
    """The kept results of ``seeds`` (those whose task finished) and their run ids."""
    results, run_ids = [], {}
    for seed in seeds:
        kept = read_seed(folder, seed)
        if kept is not None:
            results.extend(kept["finished"])
            run_ids[seed] = kept["run_ids"][seed]
    return results, run_ids


def mark_missing(parent_run_id: str, missing: list[int]) -> None:
    """On the parent: the seeds whose task failed for good (their runs FAILED, not RUNNING)."""
    client = mlflow.MlflowClient()
    for seed in missing:
        for run in seed_runs_of(parent_run_id, seed):
            if run.info.status == "RUNNING":
                client.set_terminated(run.info.run_id, "FAILED")
    client.set_tag(parent_run_id, Tag.MISSING_SEEDS, ",".join(map(str, missing)))


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
