"""The start-of-step check inside ``mlflow run`` itself.

``mlflow run`` creates the run on the tracking server before the entry point's command starts, so
with the server down (or a wrong password) MLflow's own client spends minutes in retries and ends in
a traceback before frenk's check can speak. Registered as an ``mlflow.request_header_provider``
plugin (pyproject.toml), :class:`PreflightCheck` runs :func:`~frenk.team.connection.check_reachable`
once, before the first request of an ``mlflow run`` of this project (MLproject ``name: frenk``), and
turns a failure into the usual one line ``frenk: error: ...`` and exit status 2. It also refuses a
``-P`` value with a password in it before MLflow logs the parameters (:func:`refuse_secret_params`,
which the experiment plugin calls too, since a local store sends no request). In every other
process it does nothing and adds no header.
"""

from __future__ import annotations

import sys

from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider

from ..core.errors import TrackingError
from ..team.connection import check_reachable, tracking_uri
from .experiment_plugin import guard_launcher, is_frenk_project_run, refuse_secret_argv

#: tracking URIs already checked in this process
CHECKED: set[str] = set()


def refuse_secret_params(argv: list[str]) -> None:
    """:func:`frenk.tracking.experiment_plugin.refuse_secret_argv` on ``mlflow run``'s arguments."""
    refuse_secret_argv(argv[2:])


class PreflightCheck(RequestHeaderProvider):
    """Checks the server once per process in ``mlflow run`` of this project; never adds a header."""

    def in_context(self) -> bool:
        if not is_frenk_project_run(sys.argv):
            return False
        guard_launcher()
        uri = tracking_uri()
        if uri not in CHECKED:
            CHECKED.add(uri)
            refuse_secret_params(sys.argv)
            try:
                check_reachable(uri)
            except TrackingError as exc:
                from ..cli import print_error

                print_error(str(exc))
                raise SystemExit(2) from None
        return False

    def request_headers(self) -> dict[str, str]:
        return {}
