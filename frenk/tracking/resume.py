"""Continuing a training of several seeds that was stopped (Ctrl+C, or a scheduler's SIGTERM).

When it is stopped, the seeds that finished keep their (child) runs, and the weights of the best of
them (keep=best holds only the best so far on disk) move to a resume folder
``frenk-resume-<parent run id>`` in the working directory, which the stopped parent run records.
The same command run again (same model, data, parameters and code version, on this host) finds that
run and folder, trains the missing seeds only, adopts the finished seeds' runs as children of its
own run, and removes the folder when it is done.

A stopped run is adopted only from the experiment the new run goes to, started by the same user
(``mlflow.user``, and ``MLFLOW_TRACKING_USERNAME`` where set) on the same host. The resume file is
JSON with NumPy and Parquet files beside it (:mod:`frenk.core.state`), so reading it runs no code, and
it is read only from a folder under the working directory that the current user owns; a folder
that another user (or a run tag) points elsewhere is never read. A folder of an older frenk
(``resume.pkl``, a pickle) is refused with a line that says how to finish it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow

from ..core.errors import TrackingError
from ..core.names import Tag, search_tag
from ..core.provenance import code_version
from ..core.state import StateError, check_owned, read_state, types_of
from ..training import Evaluation, SeedResult, TrainResult
from .outage import keep_folder

log = logging.getLogger(__name__)

RESUME_FILE = "resume.json"
#: the pickle of frenk before f37cd20, never read
OLD_RESUME_FILE = "resume.pkl"
#: the classes a resume file may hold
RESUME_TYPES = types_of(SeedResult, TrainResult, Evaluation)
RESUME_PREFIX = "frenk-resume-"
#: the tags two trainings must share to be the same command
SAME = (Tag.STEP, Tag.MODEL, Tag.MODEL_ID, Tag.LANG, Tag.LABELS, Tag.DATA_DIGEST,
        Tag.GROUP, Tag.REPEATS, Tag.TRAIN_DIGEST, Tag.CODE_VERSION, Tag.HOST)


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
    client = mlflow.MlflowClient()
    client.set_tag(parent_run_id, Tag.TRACKING_USER, _tracking_user())
    client.set_tag(parent_run_id, Tag.RESUME_FOLDER, str(folder))
    return folder


def _tracking_user() -> str:
    return os.environ.get("MLFLOW_TRACKING_USERNAME", "")


def _same_owner(run, experiment_id: str) -> bool:
    """Whether ``run`` is one this user stopped in ``experiment_id`` (the run about to continue it)."""
    try:
        user = getpass.getuser()
    except (ImportError, KeyError, OSError):
        user = None
    return (run.info.experiment_id == experiment_id and run.data.tags.get("mlflow.user") == user
            and run.data.tags.get(Tag.TRACKING_USER, "") == _tracking_user())


def _read_payload(folder: Path) -> dict | None:
    """The resume file in ``folder``, or None when there is none (or it is not this user's to read)."""
    if not (folder / RESUME_FILE).is_file():
        if (folder / OLD_RESUME_FILE).is_file() and _readable(folder, OLD_RESUME_FILE):
            raise TrackingError(
                f"the stopped training's resume folder {folder} was written by an older frenk as a pickle "
                f"({OLD_RESUME_FILE}), which frenk no longer reads (a pickle can run code). Finish it with the frenk "
                f"version that wrote it (git checkout f37cd20, then the same command), or remove the folder "
                f"(rm -r {folder}) to train every seed again; the finished seeds' runs stay in MLflow")
        return None
    try:
        payload = read_state(folder, RESUME_FILE, RESUME_TYPES, "resume folder")
    except Exception as exc:  # a damaged folder (a missing or broken data file too): train every seed instead
        why = exc if isinstance(exc, StateError) else type(exc).__name__
        log.warning(f"not continuing from {folder}: {why}")
        return None
    return payload if isinstance(payload, dict) and {"finished", "run_ids", "model_uris"} <= set(payload) else None


def _readable(folder: Path, file: str) -> bool:
    try:
        check_owned(folder, file, "resume folder")
    except StateError:
        return False
    return True


def find_resumable(tags: dict[str, str], experiment_id: str) -> Resumable | None:
    """The newest stopped training in ``experiment_id`` of this host, user and code version with
    the same ``tags`` (see :data:`SAME`) whose resume folder exists and is the user's own."""
    tags = {**tags, Tag.CODE_VERSION: code_version(), Tag.HOST: socket.gethostname()}
    # only hex digests in the query (a model path may hold quotes); the other tags are compared here
    query = (f"{search_tag(Tag.TRAIN_DIGEST)} = '{tags[Tag.TRAIN_DIGEST]}' "
             f"AND {search_tag(Tag.RESUME_FOLDER)} LIKE '%{RESUME_PREFIX}%'")
    found = [r for r in mlflow.search_runs(experiment_ids=[experiment_id], output_format="list", filter_string=query,
                                           order_by=["attributes.start_time DESC"])
             if all(r.data.tags.get(k) == tags[k] for k in SAME if k in tags) and _same_owner(r, experiment_id)]
    client = mlflow.MlflowClient()
    for run in (r for r in found if r.info.status != "FINISHED"):
        folder = Path(run.data.tags[Tag.RESUME_FOLDER])
        if folder.name != RESUME_PREFIX + run.info.run_id:
            continue  # a tag pointing at another run's (or anybody's) folder
        payload = _read_payload(folder)
        if payload is None:
            continue
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
    client.set_tag(resumable.parent_run_id, Tag.CONTINUED_BY, parent_run_id)


def close(resumable: Resumable) -> None:
    """The training was continued to its end: the resume folder is not needed any more."""
    mlflow.MlflowClient().delete_tag(resumable.parent_run_id, Tag.RESUME_FOLDER)
    shutil.rmtree(resumable.folder, ignore_errors=True)
