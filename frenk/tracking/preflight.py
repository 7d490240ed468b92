"""The start-of-step check inside ``mlflow run`` itself.

``mlflow run`` creates the run on the tracking server before the entry point's command starts, so
with the server down (or a wrong password) MLflow's own client spends minutes in retries and ends in
a traceback before frenk's check can speak. Registered as an ``mlflow.request_header_provider``
plugin (pyproject.toml), :class:`PreflightCheck` runs :func:`~frenk.tracking.runs.check_reachable`
once, before the first request of an ``mlflow run`` of this project (MLproject ``name: frenk``), and
turns a failure into the usual one line ``frenk: error: ...`` and exit status 2. It also refuses a
``-P`` value with a password in it before MLflow logs the parameters (:func:`refuse_secret_params`,
which the experiment plugin calls too, since a local store sends no request). In every other
process it does nothing and adds no header.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider

from ..errors import TrackingError
from ..secret_params import SecretInParameter, refuse_credentials
from .experiments import project_params
from .runs import check_reachable, tracking_uri

#: tracking URIs already checked in this process
CHECKED: set[str] = set()


def is_frenk_project_run(argv: list[str]) -> bool:
    """Whether ``argv`` is ``mlflow run <folder>`` (console script or ``python -m mlflow``) of this project."""
    if len(argv) < 3 or argv[1] != "run" or "mlflow" not in Path(argv[0]).parts[-2:] + (Path(argv[0]).name,):
        return False
    for arg in argv[2:]:
        mlproject = Path(arg) / "MLproject"
        if not arg.startswith("-") and mlproject.is_file():
            first = mlproject.read_text(errors="replace").split("entry_points", 1)[0]
            return any(line.strip() == "name: frenk" for line in first.splitlines())
    return False


def refuse_secret_params(argv: list[str]) -> None:
    """Stop ``mlflow run`` (one line, exit 2) before it logs or prints a ``-P`` value that holds a
    password: MLflow logs the parameters in the run, where every reader sees them."""
    for name, value in project_params(argv[2:])[1].items():
        try:
            refuse_credentials(name, value)
        except SecretInParameter as exc:
            print(f"frenk: error: {exc}; nothing was logged", file=sys.stderr, flush=True)
            raise SystemExit(2) from None


class PreflightCheck(RequestHeaderProvider):
    """Checks the server once per process in ``mlflow run`` of this project; never adds a header."""

    def in_context(self) -> bool:
        if not is_frenk_project_run(sys.argv):
            return False
        uri = tracking_uri()
        if uri not in CHECKED:
            CHECKED.add(uri)
            refuse_secret_params(sys.argv)
            try:
                check_reachable(uri)
            except TrackingError as exc:
                print(f"frenk: error: {exc}", file=sys.stderr, flush=True)
                raise SystemExit(2) from None
        return False

    def request_headers(self) -> dict[str, str]:
        return {}
