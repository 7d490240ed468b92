"""The start-of-step check inside ``mlflow run`` itself.

``mlflow run`` creates the run on the tracking server before the entry point's command starts, so
with the server down (or a wrong password) MLflow's own client spends minutes in retries and ends in
a traceback before frenk's check can speak. Registered as an ``mlflow.request_header_provider``
plugin (pyproject.toml), :class:`PreflightCheck` runs :func:`~frenk.tracking.runs.check_reachable`
once, before the first request of an ``mlflow run`` of this project (MLproject ``name: frenk``), and
turns a failure into the usual one line ``frenk: error: ...`` and exit status 2. In every other
process it does nothing and adds no header.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider

from ..errors import TrackingError
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


class PreflightCheck(RequestHeaderProvider):
    """Checks the server once per process in ``mlflow run`` of this project; never adds a header."""

    def in_context(self) -> bool:
        if not is_frenk_project_run(sys.argv):
            return False
        uri = tracking_uri()
        if uri not in CHECKED:
            CHECKED.add(uri)
            try:
                check_reachable(uri)
            except TrackingError as exc:
                print(f"frenk: error: {exc}", file=sys.stderr, flush=True)
                raise SystemExit(2) from None
        return False

    def request_headers(self) -> dict[str, str]:
        return {}
