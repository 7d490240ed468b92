"""Runs: where they go (the tracking URI, checked before any work), their tags and parameters.

Nothing happens at import time: the tracking URI is resolved when a run starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient

from ..core.errors import TrackingError
from ..core.files import process_alive
from ..core.log import VERBOSE_ENV, quiet_progress_bars, verbose  # noqa: F401 (VERBOSE_ENV: its home before)
from ..core.names import PREFIX, Tag, tag_names
from ..core.provenance import code_version
from ..team.connection import check_reachable, tracking_uri
from . import experiments

log = logging.getLogger(__name__)


def configure() -> str:
    """Point MLflow at :func:`tracking_uri` and check that it answers; quiet MLflow's per-file
    progress bars unless :data:`VERBOSE_ENV` is set (or the user set MLflow's own variable)."""
    quiet_progress_bars()
    uri = tracking_uri()
    check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    create_schema(uri)
    return uri


def start_step() -> str:
    """What every step does first: :func:`configure`, then :func:`clean_orphans`, then
    :func:`claim_project_run`."""
    uri = configure()
    clean_orphans()
    claim_project_run()
    return uri


def claim_project_run() -> None:
    """Under ``mlflow run`` the step's run exists before the step starts: tag it with this host and
    process at once, so that the next step's orphan scan finds it if this process is killed
    before the step opens it (a compare still reading predictions, a publish still exporting)."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if not run_id:
        return
    try:
        client = MlflowClient()
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_tag(run_id, Tag.HOST, socket.gethostname())
            client.set_tag(run_id, Tag.PID, str(os.getpid()))
    except mlflow.exceptions.MlflowException:
        return  # no such run here: step_run's own start reports it


def create_schema(uri: str) -> None:
    """Let MLflow create (or upgrade) the tables of a SQLite store under an exclusive lock on
    its folder: two steps that start together on a fresh store would otherwise both create
    them, and one fails (``duplicate column name``)."""
    if not uri.startswith("sqlite:///"):
        return
    fcntl: Any
    try:
        import fcntl
    except ImportError:  # no flock (Windows): MLflow's own creation, unlocked
        fcntl = None
    folder = Path(uri[len("sqlite:///"):]).resolve().parent
    if fcntl is None or not folder.is_dir():
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        MlflowClient(uri).search_experiments(max_results=1)  # creates the tables on first use
        MlflowClient(uri, registry_uri=uri).search_registered_models(max_results=1)
    finally:
        os.close(fd)  # releases the lock


def frenk_tags(**values: object) -> dict[str, str]:
    """Tags of :class:`~frenk.core.names.Tag` by their short name (``step="train"`` is
    ``Tag.STEP``), dropping ``None`` values; a name that is not a :class:`Tag` is a ValueError."""
    tags = {f"{PREFIX}{k}": str(v) for k, v in values.items() if v is not None}
    unknown = set(tags) - tag_names()
    if unknown:
        raise ValueError(f"not tags of frenk.core.names.Tag: {sorted(unknown)}")
    return tags


@contextlib.contextmanager
def step_run(run_name: str, tags: dict[str, str], nested: bool = False, *, lang: str | None = None,
             labels: str | None = None, experiment_id: str | None = None, parent_run_id: str | None = None) -> Iterator:
    """Start (or, under ``mlflow run``, resume) the run of a step.

    A top-level run goes to ``experiment_id`` if given, else to ``frenk-<lang>-<labels>``, unless
    the user (``MLFLOW_EXPERIMENT_NAME``/``_ID``) or ``mlflow run`` chose the experiment; a nested
    run goes to its parent's experiment.

    The run is tagged with its host and process. An exception inside the block marks the run
    FAILED; an interrupt (Ctrl+C, or SIGTERM turned into one) marks it KILLED. Both propagate.
    """
    configure()
    own = {Tag.CODE_VERSION: code_version(), Tag.HOST: socket.gethostname(), Tag.PID: str(os.getpid())}
    parent = mlflow.get_run(parent_run_id) if parent_run_id else mlflow.active_run()
    target: str | None
    if nested and parent is not None:
        target = parent.info.experiment_id
    else:
        target = experiments.for_step(lang, labels, experiment_id)
    with (mlflow.start_run(run_name=run_name, nested=nested, tags={**tags, **own}, experiment_id=target,
                           parent_run_id=parent_run_id) as run,
          ended_killed_on_interrupt(run.info.run_id)):
        yield run


@contextlib.contextmanager
def ended_killed_on_interrupt(run_id: str) -> Iterator[None]:
    """A KeyboardInterrupt inside the block ends the (active) run ``run_id`` as KILLED."""
    try:
        yield
    except KeyboardInterrupt:
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run("KILLED")
        raise


def note_temp_dir(folder: str | os.PathLike) -> None:
    """Record a temporary or staging folder on the active run, so that an orphaned run's
    folders can be removed by the next step."""
    run = mlflow.active_run()
    if run is None:
        return
    known = mlflow.get_run(run.info.run_id).data.tags.get(Tag.TEMP_DIRS, "")
    folders = [f for f in known.split(os.pathsep) if f] + [str(Path(folder).resolve())]
    mlflow.set_tag(Tag.TEMP_DIRS, os.pathsep.join(dict.fromkeys(folders)))


def clean_orphans() -> list[str]:
    """Mark this user's RUNNING frenk runs of this host whose process is gone (SIGKILL, power cut)
    FAILED and remove the temporary and staging folders they recorded (:func:`removable`); one line
    says so. A run this user may not change is left alone. Returns their ids."""
    host = socket.gethostname()
    try:
        running = mlflow.search_runs(search_all_experiments=True, output_format="list",
                                     filter_string=f"attributes.status = 'RUNNING' AND tags.`{Tag.HOST}` = '{host}'")
    except mlflow.exceptions.MlflowException:
        return []
    client, orphans, removed = MlflowClient(), [], []
    for run in running:
        pid = run.data.tags.get(Tag.PID, "")
        if not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
            continue
        if run.data.tags.get("mlflow.user") != _os_user():
            continue  # another user's (or a planted) run: its tags decide nothing here
        try:
            client.set_tag(run.info.run_id, Tag.ORPHANED, f"process {pid} on {host} ended without ending the run")
            client.set_terminated(run.info.run_id, "FAILED")
        except mlflow.exceptions.MlflowException:
            continue  # not this user's to change
        orphans.append(run.info.run_id)
        for folder in filter(None, run.data.tags.get(Tag.TEMP_DIRS, "").split(os.pathsep)):
            if removable(Path(folder), pid):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    if orphans:
        log.info(f"marked {len(orphans)} orphaned run(s) FAILED, their process on {host} is gone: "
              f"{', '.join(orphans)}" + (f"; removed their temporary folders {', '.join(removed)}" if removed else ""))
    return orphans


def _os_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return None


def removable(folder: Path, pid: str) -> bool:
    """Whether an orphan's recorded ``folder`` is one frenk made and may remove: a real folder (no
    link) of the current user named as frenk names its temporary folders (``frenk-*``) or as a
    staging folder of that process (``.<name>.<host>.<pid>.*``). A tag naming any other folder is
    ignored."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if hasattr(os, "getuid") and folder.stat().st_uid != os.getuid():
        return False
    name = folder.name
    return name.startswith("frenk-") or (name.startswith(".") and f".{pid}." in name)


def param_value(value: object) -> str:
    """A parameter as it is written on the command line (``true``/``false``, comma lists)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


#: parameters whose value as used differs from the one given when it is 0 ("the preset's")
RESOLVED = ("epochs", "learning_rate", "batch_size")


def log_params(params: dict[str, object]) -> None:
    """Log parameters, leaving alone those that ``mlflow run`` already logged for this run
    (MLflow refuses to change a logged value, and the user's own spelling is the one to keep);
    where such a value is not the one used (``epochs`` 0: the preset's), the used one goes to
    ``resolved_<name>``."""
    run = mlflow.active_run()
    existing = mlflow.get_run(run.info.run_id).data.params if run else {}
    new = {k: param_value(v) for k, v in params.items() if k not in existing}
    for key in RESOLVED:
        if key in existing and key in params and _number(existing[key]) != _number(param_value(params[key])):
            new[f"resolved_{key}"] = param_value(params[key])
    new = {k: v for k, v in new.items() if k not in existing}
    if new:
        mlflow.log_params(new)


def _number(text: str) -> float | str:
    try:
        return float(text.strip("'"))
    except ValueError:
        return text


@contextlib.contextmanager
def resume_run(run_id: str, nested: bool = True) -> Iterator:
    with mlflow.start_run(run_id=run_id, nested=nested) as run, ended_killed_on_interrupt(run_id):
        yield run


def active_run_id() -> str:
    run = mlflow.active_run()
    if run is None:
        raise TrackingError("no MLflow run is active here (a step opens its run first)")
    return run.info.run_id


def inherited_tags(exclude: tuple[str, ...] = (Tag.REPEATS, Tag.TEMP_DIRS),
                   run_id: str | None = None) -> dict[str, str]:
    """The ``frenk.*`` tags of the active run (or of ``run_id``), for a nested run to carry too."""
    tags = mlflow.get_run(run_id or active_run_id()).data.tags
    return {k: v for k, v in tags.items() if k.startswith(PREFIX) and k not in exclude}


def run_tag(run_id: str, tag: str) -> str | None:
    """Tag ``tag`` of run ``run_id`` as the store has it now, or None."""
    return mlflow.get_run(run_id).data.tags.get(tag)


def set_tags(tags: dict[str, str]) -> None:
    mlflow.set_tags(tags)


def forget_leaked_run(run_id: str) -> str:
    """Delete run ``run_id``, whose parameters hold a secret (``mlflow run`` logged them before the
    step could refuse them): for good on a local store (``mlflow gc``), else soft-deleted with the
    command an admin runs on the server. Returns what was done, for the user."""
    import subprocess
    import sys

    uri = tracking_uri()
    try:
        MlflowClient(uri).delete_run(run_id)
    except Exception as exc:  # the refusal itself is the message; say that the run stays
        return (f"Its run {run_id} already holds the value and could not be deleted ({type(exc).__name__}): delete it "
                "in the MLflow UI, have an admin run `mlflow gc` on the server, and change the password")
    if uri.startswith(("http://", "https://")):
        return (f"Its run {run_id}, which `mlflow run` had logged with the value, is deleted; an admin removes it for "
                f"good with `mlflow gc --backend-store-uri <the server's store> --run-ids {run_id}`; change the "
                "password, readers may have seen it")
    gc = subprocess.run([sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", uri, "--run-ids", run_id],
                        stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if gc.returncode != 0:
        return (f"Its run {run_id}, which `mlflow run` had logged with the value, is deleted but not purged: run "
                f"`mlflow gc --backend-store-uri {uri} --run-ids {run_id}`")
    _vacuum(uri)
    return f"Its run {run_id}, which `mlflow run` had logged with the value, is deleted for good (mlflow gc)"


def _vacuum(uri: str) -> None:
    """Rewrite a local SQLite store, so that deleted rows leave no bytes in its free pages."""
    if not uri.startswith("sqlite:///"):
        return
    import sqlite3

    with contextlib.suppress(sqlite3.Error):
        connection = sqlite3.connect(uri[len("sqlite:///"):], timeout=30)
        try:
            connection.execute("VACUUM")
        finally:
            connection.close()
