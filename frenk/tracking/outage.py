"""A tracking server that goes down during a training.

MLflow's client retries every request with exponential backoff (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``,
default 7, and ``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR``, default 2: about four minutes), so a server
that blinks or restarts costs the training nothing. If it stays down longer, the training goes on
without it: :class:`OutageGuard`, around the listener that logs to MLflow, stops calling the server
and keeps what it could not log; the step then writes the trained weights, metrics and predictions
to a recovery folder (:func:`save_recovery`) and names the command that logs them to the same runs
when the server is back (``frenk-recover <folder>``, :func:`load_recovery` and the train step's
``recover``).

The recovery file is JSON (with NumPy and Parquet files beside it, :mod:`frenk.core.state`): reading it
runs no code, and only a folder under the working directory that the current user owns is read.
A folder of an older frenk (``recovery.pkl``, a pickle) is refused with a line that says how to
finish it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import mlflow

from ..config import TrainConfig
from ..core.errors import TrackingError
from ..core.names import Tag
from ..core.state import StateError, read_state, types_of, write_state
from ..training import Evaluation, SeedResult, SeedsResult, TrainListener, TrainResult

RECOVERY_FILE = "recovery.json"
#: the pickle of frenk before f37cd20, never read
OLD_RECOVERY_FILE = "recovery.pkl"
RECOVERY_PREFIX = "frenk-recovery-"


def server_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says that the tracking server could not be reached (after MLflow's retries)."""
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                             requests.exceptions.RetryError)):
            return True
        if isinstance(seen, mlflow.exceptions.MlflowException) and "Max retries exceeded" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class OutageGuard(TrainListener):
    """Passes each event to ``inner`` until the server is found unreachable; from then on keeps the
    events (the failed one included) in :attr:`pending` and never raises for the outage."""

    def __init__(self, inner: TrainListener):
        self.inner = inner
        self.down: BaseException | None = None
        self.pending: list[tuple[str, int | None, tuple]] = []  # (event, seed, arguments)
        self.seed: int | None = None

    def _call(self, name: str, *args) -> None:
        if name == "on_seed_start":
            self.seed = args[0]
        if self.down is None:
            try:
                getattr(self.inner, name)(*args)
                return
            except Exception as exc:
                if not server_unreachable(exc):
                    raise
                self.down = exc
        if name == "on_seed_end" and args[1] is not None:  # kept as a plain error: the state file holds no traceback
            args = (args[0], RuntimeError(str(args[1])))
        self.pending.append((name, self.seed, args))

    def on_seed_start(self, seed: int) -> None:
        self._call("on_seed_start", seed)

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self._call("on_epoch", epoch, dict(metrics))

    def on_seed_result(self, seed: int, result, keep_weights: bool) -> None:
        self._call("on_seed_result", seed, result, keep_weights)

    def on_seed_end(self, seed: int, error: BaseException | None) -> None:
        self._call("on_seed_end", seed, error)


@dataclass
class Recovery:
    """What a training could not log: enough to log it later to the same runs."""

    tracking_uri: str
    config: object  # the step's config (TrainConfig)
    run_id: str  # the step's run: the parent of the seeds' runs, or the one run of a single seed
    listener: dict  # the arguments and the state of the listener that logs to MLflow
    pending: list[tuple[str, int | None, tuple]]  # the events it could not log
    fitted: object  # training.SeedsResult, its weights moved into the folder
    tags: dict[str, str] = field(default_factory=dict)


def relocated(value, old_root: Path, new_root: Path):
    """``value`` with every Path attribute under ``old_root`` pointing under ``new_root`` instead
    (dataclasses are changed in place)."""
    if isinstance(value, Path):
        try:
            return new_root / value.relative_to(old_root)
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return type(value)(relocated(v, old_root, new_root) for v in value)
    if isinstance(value, dict):
        return {k: relocated(v, old_root, new_root) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            setattr(value, name, relocated(getattr(value, name), old_root, new_root))
    return value


def keep_folder(payload: object, work: Path, folder: Path, file: str) -> Path:
    """Move ``work`` to ``folder/work`` and write ``payload`` (its paths under ``work`` moved with
    it) to ``folder/file`` (:func:`frenk.core.state.write_state`); the folder appears whole or not at all,
    readable by its owner only."""
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o700)
    shutil.move(work, staging / "work")
    payload = relocated(payload, work, folder / "work")
    write_state(payload, staging, file)
    os.replace(staging, folder)
    return folder


def save_recovery(recovery: Recovery, work_root: Path, where: Path) -> Path:
    """Move the training's work folder (weights, predictions) into a new recovery folder under
    ``where`` and write the recovery file there; returns the folder."""
    return keep_folder(recovery, work_root, where / (RECOVERY_PREFIX + recovery.run_id), RECOVERY_FILE)


#: the classes a recovery file may hold
RECOVERY_TYPES = types_of(Recovery, TrainConfig, SeedsResult, SeedResult, TrainResult, Evaluation)


def load_recovery(folder: Path) -> Recovery:
    """The recovery written by :func:`save_recovery` in ``folder`` (which must be under the working
    directory and the current user's)."""
    path = folder / RECOVERY_FILE
    if not path.is_file() and (folder / OLD_RECOVERY_FILE).is_file():
        raise TrackingError(f"{folder} was written by an older frenk as a pickle ({OLD_RECOVERY_FILE}), which frenk no "
                            "longer reads (a pickle can run code). Log it with the frenk version that wrote it "
                            "(git checkout f37cd20, then frenk-recover), or remove the folder and train again")
    if not path.is_file():
        raise TrackingError(f"{folder} is not a recovery folder of frenk (no {RECOVERY_FILE} in it); a training "
                            "whose tracking server stayed down names its folder in its last message")
    try:
        recovery = read_state(folder, RECOVERY_FILE, RECOVERY_TYPES, "recovery folder")
    except StateError as exc:
        raise TrackingError(str(exc)) from None
    if not isinstance(recovery, Recovery):
        raise TrackingError(f"{path} does not hold a frenk recovery")
    return recovery


def reclaim_runs(run_ids: list[str]) -> None:
    """Undo the next step's orphan marking of runs that are being recovered (their status is set
    when their logging ends)."""
    client = mlflow.MlflowClient()
    for run_id in run_ids:
        if Tag.ORPHANED in client.get_run(run_id).data.tags:
            client.delete_tag(run_id, Tag.ORPHANED)


def abandon_active_runs() -> None:
    """Forget the runs this process has active without asking the (unreachable) server: they stay
    RUNNING there until recovered, or until the next step marks them FAILED as orphans."""
    previous = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    try:
        while mlflow.active_run() is not None:
            try:
                mlflow.end_run("FAILED")  # pops the run first; the request fails at once
            except mlflow.exceptions.MlflowException as exc:
                if not server_unreachable(exc):
                    raise
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_HTTP_REQUEST_MAX_RETRIES", None)
        else:
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = previous
