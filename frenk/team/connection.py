"""Where the tracking server is, the credentials a client sends it, and the check, before any
work, that it answers and accepts them: plain HTTP (requests), no MLflow, so that the team stack's
permission checks and MLflow's plugins share them."""

from __future__ import annotations

import os

from ..core.errors import TrackingError
from ..core.secret_params import redact

#: the embedded default store: MLflow's SQLite store in the working directory
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the SQLite store ``./mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


#: how long the start-of-step check waits for the server
CHECK_TIMEOUT_S = 10
RETRY_NOTE = (
    "frenk checks the server before any work with a {timeout} s timeout; once a step runs, MLflow's own client "
    "retries each request for about four minutes (MLFLOW_HTTP_REQUEST_MAX_RETRIES=7, "
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=2), and a training whose server stays down longer saves its results "
    "to a recovery folder"
)


def credentials() -> dict:
    """How MLflow's client authenticates: only MLFLOW_TRACKING_USERNAME/PASSWORD (or a token)."""
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return {"auth": (user, password)}
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


def check_reachable(uri: str) -> None:
    """Fail with a clear message, before any work starts, when a tracking server does not answer
    or refuses the credentials (a wrong password is one line, not MLflow's traceback)."""
    if not uri.startswith(("http://", "https://")):
        return
    import requests

    base, shown = uri.rstrip("/"), redact(uri)
    try:
        requests.get(base + "/health", timeout=CHECK_TIMEOUT_S).raise_for_status()
    except requests.RequestException as exc:
        raise TrackingError(
            f"the MLflow tracking server at {shown} is not reachable ({type(exc).__name__}). Start it (`frenk-serve`, "
            "or `mlflow server --backend-store-uri sqlite:///mlflow.db`), fix MLFLOW_TRACKING_URI, or unset it "
            f"to use the local store {DEFAULT_TRACKING_URI}. " + RETRY_NOTE.format(timeout=CHECK_TIMEOUT_S)
        ) from None
    try:  # a server that answers but is slow to check a password: MLflow's own requests will tell
        answer = requests.get(base + "/api/2.0/mlflow/experiments/search", params={"max_results": 1}, timeout=60,
                              **credentials())
    except requests.RequestException:
        return
    if answer.status_code == 401:
        who = os.environ.get("MLFLOW_TRACKING_USERNAME")
        raise TrackingError(
            f"the MLflow tracking server at {shown} refused the credentials of user {who!r} (HTTP 401): check "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" if who else
            f"the MLflow tracking server at {shown} requires credentials (HTTP 401): set MLFLOW_TRACKING_USERNAME "
            "and MLFLOW_TRACKING_PASSWORD"
        )
