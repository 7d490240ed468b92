"""The ``mlflow.default_experiment_provider`` plugin (pyproject.toml): inside ``mlflow run`` of this
project, the run goes to ``frenk-<lang>-<labels>`` of its ``-P lang=``/``-P labels=``.

MLflow loads it while ``mlflow`` itself is being imported, so this module imports only MLflow's
base class at the top and the rest when MLflow asks. Being loaded that early, in the ``mlflow run``
launcher of this project (and nowhere else) it also guards the launcher (:func:`guard_launcher`):
a fresh SQLite store gets its tables under the lock that :func:`frenk.tracking.runs.create_schema`
takes, so that many ``mlflow run``s may start together on it, and an error that
:func:`frenk.core.errors.explain` recognises (the server's 401/403, a full disk) is one line
``frenk: error: ...`` instead of the launcher's traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from mlflow.tracking.default_experiment.abstract_context import DefaultExperimentProvider

from ..core.secret_params import SecretInParameter, argv_params, refuse_credentials


def is_frenk_project_run(argv: list[str]) -> bool:
    """Whether ``argv`` is ``mlflow run <folder>`` (console script or ``python -m mlflow``, whose
    ``argv[0]`` is ``-m`` while the package is imported) of this project."""
    launcher = argv[0] == "-m" or "mlflow" in Path(argv[0]).parts[-2:] + (Path(argv[0]).name,) if argv else False
    if len(argv) < 3 or argv[1] != "run" or not launcher:
        return False
    for arg in argv[2:]:
        mlproject = Path(arg) / "MLproject"
        if not arg.startswith("-") and mlproject.is_file():
            first = mlproject.read_text(errors="replace").split("entry_points", 1)[0]
            return any(line.strip() == "name: frenk" for line in first.splitlines())
    return False


@contextlib.contextmanager
def sqlite_folder_lock(uri: str):
    """An exclusive flock on the folder of a ``sqlite:///`` store (the lock of
    :func:`frenk.tracking.runs.create_schema`); nothing for other stores or without flock."""
    fcntl: Any
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None
    folder = Path(uri[len("sqlite:///"):]).resolve().parent if uri.startswith("sqlite:///") else None
    if fcntl is None or folder is None or not folder.is_dir():
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _locked(builder):
    """MLflow's SQLite store builder, building under :func:`sqlite_folder_lock` (the store creates
    or upgrades the tables when it is built; MLflow caches it, so this runs once per store)."""

    def build(store_uri, artifact_uri=None, **kwargs):
        with sqlite_folder_lock(store_uri):
            return builder(store_uri=store_uri, artifact_uri=artifact_uri, **kwargs)

    setattr(build, "frenk_locked", True)  # noqa: B010 (a mark on a function)
    return build


def _one_line_errors(hook):
    def excepthook(kind, exc, tb):
        from ..cli import debug_wanted, print_error
        from ..core.errors import explain

        message = explain(exc) if isinstance(exc, Exception) else None
        if message is None or debug_wanted():
            hook(kind, exc, tb)
        if message is not None:
            print_error(message)

    return excepthook


def guard_launcher() -> None:
    """In the ``mlflow run`` launcher: lock the SQLite store's creation, one line for known errors."""
    from mlflow.tracking._tracking_service import utils

    registry = utils._tracking_store_registry
    builder = registry._registry.get("sqlite")
    if builder is not None and not getattr(builder, "frenk_locked", False):
        registry.register("sqlite", _locked(builder))
    if not getattr(sys.excepthook, "frenk_guard", False):
        sys.excepthook = _one_line_errors(sys.excepthook)
        setattr(sys.excepthook, "frenk_guard", True)  # noqa: B010 (a mark on a function)


def refuse_secret_argv(argv: list[str]) -> None:
    """Stop ``mlflow run`` (one line, exit 2) before it logs or prints a ``-P`` value that holds a
    password: MLflow logs the parameters in the run, where every reader sees them."""
    for name, value in argv_params(argv).items():
        try:
            refuse_credentials(name, value)
        except SecretInParameter as exc:
            from ..cli import print_error

            print_error(f"{exc}; nothing was logged")
            raise SystemExit(2) from None


class ProjectExperiment(DefaultExperimentProvider):
    """MLflow asks it only when no experiment was chosen (``--experiment-name``/``--experiment-id``,
    ``MLFLOW_EXPERIMENT_NAME``/``_ID``); in every other process it answers "not in context"."""

    def __init__(self):
        self._id: str | None = None
        if is_frenk_project_run(sys.argv):
            refuse_secret_argv(sys.argv[2:])  # MLflow loads this plugin in every mlflow run: before it logs anything
            guard_launcher()

    def in_context(self) -> bool:
        from .experiments import experiment_for_command

        if not is_frenk_project_run(sys.argv):
            return False
        guard_launcher()
        from .preflight import refuse_secret_params

        refuse_secret_params(sys.argv)  # before MLflow creates the run and logs the parameters
        try:
            self._id = experiment_for_command(sys.argv[2:])
        except Exception as exc:  # MLflow would log it as a warning and go on to fail at the run
            from ..cli import print_error
            from ..core.errors import explain

            message = explain(exc)
            if message is None:
                raise
            print_error(message)
            raise SystemExit(1) from None
        if self._id is not None:
            _require_write(self._id)  # MLflow's own create-run would otherwise fail in a 403 traceback
        return self._id is not None

    def get_experiment_id(self) -> str:
        return self._id or ""  # asked only after in_context() found it


def _require_write(experiment_id: str) -> None:
    """One line and exit status 2 when the user may only read the experiment of the run."""
    from ..core.errors import TrackingError
    from ..team.access import require_write

    try:
        require_write([("experiment", experiment_id)], "mlflow run (its run in the experiment)")
    except TrackingError as exc:
        from ..cli import print_error

        print_error(str(exc))
        raise SystemExit(2) from None
