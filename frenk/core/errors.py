"""Errors that users are meant to read.

Every error a user can cause by their input derives from :class:`FrenkError`; the
entry points print its message (no stack trace) and exit with status 2. :func:`explain` gives the
same one line for what the environment causes outside frenk's code: a refusal of the tracking
server (HTTP 401/403), a full disk, a file that cannot be written, a server that does not answer.
"""

from __future__ import annotations

import errno
import os
import re
from urllib.parse import urlsplit


class FrenkError(Exception):
    """An error caused by the user's input or environment, with a message that says how to fix it."""


class ConfigError(FrenkError):
    """A parameter has a value that cannot be used."""


class DataError(FrenkError):
    """Input data is malformed (names the file and row where possible)."""


class ModelError(FrenkError):
    """A model cannot be found, loaded or does not fit the data."""


class TrackingError(FrenkError):
    """The MLflow tracking server or its runs cannot be used as asked."""


#: above these limits a typo (``epochs=1e9``) would run for days; FRENK_ALLOW_LARGE=1 lifts them
ALLOW_LARGE_ENV = "FRENK_ALLOW_LARGE"
MAX_EPOCHS = 100
MAX_TRIALS = 10_000


def allow_large() -> bool:
    return os.environ.get(ALLOW_LARGE_ENV, "") not in ("", "0", "false", "False")


def check_limit(name: str, value: float, limit: int, unit: str) -> None:
    """Refuse ``value`` above ``limit`` unless :data:`ALLOW_LARGE_ENV` is set."""
    if value > limit and not allow_large():
        raise ConfigError(f"{name}={value:,g} is above the limit of {limit:,} {unit} (a typo such as 1e9 would run "
                          f"for days); if you mean it, set the environment variable {ALLOW_LARGE_ENV}=1")


def _chain(exc: BaseException | None):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


#: MLflow's error codes of an HTTP 401/403 (MlflowException.error_code)
_REFUSAL_CODES = {"UNAUTHENTICATED": 401, "CUSTOMER_UNAUTHORIZED": 401, "PERMISSION_DENIED": 403}
_ENDPOINT = re.compile(r"endpoint (\S+) failed with error code (\d{3})")
#: what a request does, by a part of its path
_ACTIONS = (("runs/create", "create a run"), ("runs/log", "log to a run"), ("runs/set-tag", "tag a run"),
            ("runs/delete-tag", "change a run's tags"), ("runs/update", "update a run"),
            ("runs/delete", "delete a run"), ("experiments/create", "create an experiment"),
            ("experiments/restore", "restore an experiment"), ("registered-models/alias", "move a model alias"),
            ("registered-models/create", "create a registered model"), ("model-versions/create", "register a model "
                                                                                                 "version"),
            ("model-versions", "change a model version"), ("registered-models", "change a registered model"),
            ("artifacts", "read or write artifacts"), ("search", "search"), ("get", "read"))


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    code = getattr(exc, "error_code", None)
    if code in _REFUSAL_CODES:
        return _REFUSAL_CODES[code]
    found = _ENDPOINT.search(str(exc))
    return int(found.group(2)) if found else None


def _endpoint(exc: BaseException) -> str:
    found = _ENDPOINT.search(str(exc))
    if found:
        return found.group(1)
    request = getattr(getattr(exc, "response", None), "request", None) or getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return f"{getattr(request, 'method', '')} {urlsplit(url).path}".strip() if url else ""


def _server(url: str | None = None) -> str:
    """The tracking server (or ``url``) without credentials."""
    url = url or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    return re.sub(r"//[^/@]*@", "//", url)


def _elsewhere(exc: BaseException) -> str | None:
    """The host of a refused request that did not go to the tracking server (the Hugging Face
    Hub, say), else None."""
    request = getattr(getattr(exc, "response", None), "request", None)
    host = urlsplit(str(getattr(request, "url", "") or "")).hostname
    tracking = urlsplit(os.environ.get("MLFLOW_TRACKING_URI") or "").hostname
    return host if host and host != tracking else None


def _refused(exc: BaseException, status: int) -> str:
    host = _elsewhere(exc)
    if host is not None:
        token = " (HF_TOKEN, and access to the model or repository on the Hub)" if "huggingface" in host else ""
        return (f"{host} refused the request (HTTP {status}, {_endpoint(exc)}): check the credentials for it{token} "
                "and run the command again")
    endpoint = _endpoint(exc)
    action = next((words for part, words in _ACTIONS if part in endpoint), "answer a request")
    where = f"the MLflow tracking server at {_server()}"
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    asked = f" (HTTP {status}{', ' + endpoint if endpoint else ''})"
    if status == 401:
        if not user:
            return (f"{where} requires credentials to {action}{asked}: set MLFLOW_TRACKING_USERNAME and "
                    "MLFLOW_TRACKING_PASSWORD")
        return (f"{where} refused the credentials of user {user!r} to {action}{asked}: check MLFLOW_TRACKING_USERNAME "
                "and MLFLOW_TRACKING_PASSWORD")
    return (f"{where} refused user {user!r} permission to {action}{asked}: ask an admin of the server to grant "
            "the user EDIT on the experiment (or on the registered model), or run as a user who has it "
            "(MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD)")


def _absolute(name) -> str:
    try:
        return os.path.abspath(os.fsdecode(name))
    except (TypeError, ValueError, OSError):
        return str(name)


def _os_error(exc: OSError) -> str:
    request = getattr(exc, "request", None)
    if getattr(request, "url", None) or type(exc).__module__.startswith(("requests", "urllib3")):
        url = getattr(request, "url", None)
        where = f"the server at {_server(url).split('?')[0]}" if url else f"the server at {_server()}"
        return (f"{where} could not be reached or did not answer ({type(exc).__name__}): check that it runs and "
                "that MLFLOW_TRACKING_URI names it, then run the command again")
    path = _absolute(exc.filename) if exc.filename is not None else "(no path given)"
    if exc.filename2 is not None:
        path = f"{path} -> {_absolute(exc.filename2)}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left on the device of {path}: free some space there (or point that folder, TMPDIR or "
                "HF_HOME elsewhere) and run the command again")
    if exc.filename is None:
        return f"{type(exc).__name__}: {exc} (FRENK_DEBUG=1 shows where)"
    return f"{exc.strerror or type(exc).__name__}: {path}: fix the path or its permissions and run the command again"


_FULL = ("No space left on device", "database or disk is full", "Disk quota exceeded")


def explain(exc: BaseException) -> str | None:
    """One line for an error from outside frenk's code that the user can act on (the tracking
    server's 401/403, an :class:`OSError`, a full disk), looking through the exceptions it was
    raised from; None for anything else (a bug keeps its traceback)."""
    chain = list(_chain(exc))
    for item in chain:
        status = _http_status(item)
        if status in (401, 403):
            return _refused(item, status)
    for item in chain:
        if isinstance(item, OSError):
            return _os_error(item)
    for item in chain:
        if any(text in str(item) for text in _FULL):
            where = (f"the tracking store {_server()}" if "database" in str(item)
                     else "a folder being written (the output, TMPDIR or the model cache)")
            return (f"no space left on the device of {where} ({type(item).__name__}): free some space and run the "
                    "command again")
    return None
