"""No secret in a parameter: a step's parameters are stored in its run, where every reader of the
tracking server sees them (and ``mlflow run`` prints them), so a URL with a password in it is
refused before anything is logged, and the password comes from the environment instead.

The Optuna storage of tune workers is the usual case: ``FRENK_OPTUNA_STORAGE`` holds the whole URL
(the run logs it without its password), or the URL names only the user and PostgreSQL's client
reads the password from ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

#: the Optuna storage URL (with its password) when ``-P storage=`` is empty
STORAGE_ENV = "FRENK_OPTUNA_STORAGE"


def url_password(value: object) -> bool:
    """Whether ``value`` is a URL that carries a password (``scheme://user:password@host/...``)."""
    if not isinstance(value, str) or "://" not in value or "@" not in value:
        return False
    try:
        return urlsplit(value.strip()).password is not None
    except ValueError:
        return True  # not a URL we can read: better refused than stored


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("@")[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}{port}"))


class SecretInParameter(ConfigError):
    """A parameter holds a password (refused before anything is logged)."""


def refuse_credentials(name: str, value: object) -> None:
    """Refuse a parameter ``name`` whose value is a URL with a password, naming the safe way."""
    if not url_password(value):
        return
    parts = urlsplit(str(value).strip())
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    without = urlunsplit(parts._replace(netloc=f"{parts.username}@{host}"))
    safe = (f"give -P {name}={without} with the password in PGPASSWORD or ~/.pgpass, or the whole URL in "
            f"{STORAGE_ENV} and no -P {name}" if name == "storage" else
            f"give -P {name}={without} and the password through the environment its client reads")
    raise SecretInParameter(
        f"{name}={redact(str(value))}: a password in a parameter is stored in the run, where every reader of the "
        f"tracking server sees it; {safe}")


def storage_url(given: str) -> str:
    """The Optuna storage to open: ``given``, else :data:`STORAGE_ENV`, else "" (the journal file)."""
    return given or os.environ.get(STORAGE_ENV, "")


def shown_storage(given: str) -> str:
    """The storage as logged and printed: never its password."""
    if given:
        return redact(given)
    from_env = os.environ.get(STORAGE_ENV, "")
    return f"${STORAGE_ENV} ({redact(from_env)})" if from_env else ""
