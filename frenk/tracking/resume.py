"""Continuing a training of several seeds that was stopped (Ctrl+C, or a scheduler's SIGTERM).

When it is stopped, the seeds that finished keep their (child) runs, and the weights of the best of
them (keep=best holds only the best so far on disk) move to a resume folder
``frenk-resume-<parent run id>`` in the working directory, which the stopped parent run records.
The same command run again (same model, data, parameters and code version, on this host) finds that
run and folder, trains the missing seeds only, adopts the finished seeds' runs as children of its
own run, and removes the folder when it is done.

The resume file is a pickle written by frenk on this machine; it is read only from the folder
that a run of this host recorded.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow

from .outage import keep_folder
from ..provenance import code_version
from .runs import HOST_TAG, TAG_PREFIX

RESUME_FILE = "resume.pkl"
RESUME_PREFIX = "frenk-resume-"
FOLDER_TAG = "frenk.resume_folder"
DIGEST_TAG = "frenk.train_digest"
#: the tags two trainings must share to be the same command
SAME = ("frenk.step", "frenk.model", "frenk.model_id", "frenk.lang", "frenk.labels", "frenk.data_digest",
        "frenk.group", "frenk.repeats", DIGEST_TAG, "frenk.code_version", HOST_TAG)


def train_digest(params: dict) -> str:
    """A digest of a training's parameters (what makes a rerun "the same command")."""
    text = json.dumps({k: str(v) for k, v in sorted(params.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Resumable:
    """A stopped training to continue: its parent run, the finished seeds and their runs."""

    parent_run_id: str
    folder: Path
    finished: list  # training.SeedResult, the best one's weights in the folder
    run_ids: dict[int, str]
    model_uris: dict[int, str]


def save_stopped(parent_run_id: str, finished: list, best_work: Path | None, run_ids: dict[int, str],
                 model_uris: dict[int, str], where: Path) -> Path | None:
    """Keep what a stopped training finished: every finished seed's result and the folder with the
    best one's weights (``best_work``; None when none are on disk), in a resume folder recorded on
    the parent run. None when no seed finished."""
    if not finished:
        return None
    folder = where / (RESUME_PREFIX + parent_run_id)
    if best_work is None or not best_work.is_dir():
        best_work = Path(tempfile.mkdtemp(prefix="frenk-nothing-kept-"))
    payload = {"finished": finished, "run_ids": {r.seed: run_ids[r.seed] for r in finished}, "model_uris": model_uris}
    keep_folder(payload, best_work, folder, RESUME_FILE)
    mlflow.MlflowClient().set_tag(parent_run_id, FOLDER_TAG, str(folder))
    return folder


def find_resumable(tags: dict[str, str]) -> Resumable | None:
    """The newest stopped training of this host and code version with the same ``tags`` (see
    :data:`SAME`) whose resume folder exists."""
    tags = {**tags, "frenk.code_version": code_version(), HOST_TAG: socket.gethostname()}
    # only hex digests in the query (a model path may hold quotes); the other tags are compared here
    query = f"tags.`{DIGEST_TAG}` = '{tags[DIGEST_TAG]}' AND tags.`{FOLDER_TAG}` LIKE '%{RESUME_PREFIX}%'"
    found = [r for r in mlflow.search_runs(search_all_experiments=True, output_format="list", filter_string=query,
                                           order_by=["attributes.start_time DESC"])
             if all(r.data.tags.get(k) == tags[k] for k in SAME if k in tags)]
    client = mlflow.MlflowClient()
    for run in (r for r in found if r.info.status != "FINISHED"):
        folder = Path(run.data.tags[FOLDER_TAG])
        if not (folder / RESUME_FILE).is_file():
            continue
        with open(folder / RESUME_FILE, "rb") as fh:
            payload = pickle.load(fh)
        alive = {s: i for s, i in payload["run_ids"].items() if client.get_run(i).info.status == "FINISHED"}
        finished = [r for r in payload["finished"] if r.seed in alive]
        if finished:
            return Resumable(run.info.run_id, folder, finished, alive, payload["model_uris"])
    return None


def adopt(resumable: Resumable, parent_run_id: str) -> None:
    """Make the finished seeds' runs children of the run that continues the training."""
    client = mlflow.MlflowClient()
    for run_id in resumable.run_ids.values():
        client.set_tag(run_id, "mlflow.parentRunId", parent_run_id)
    client.set_tag(resumable.parent_run_id, f"{TAG_PREFIX}continued_by", parent_run_id)


def close(resumable: Resumable) -> None:
    """The training was continued to its end: the resume folder is not needed any more."""
    mlflow.MlflowClient().delete_tag(resumable.parent_run_id, FOLDER_TAG)
    shutil.rmtree(resumable.folder, ignore_errors=True)
