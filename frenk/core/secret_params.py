"""No secret in a parameter: a step's parameters are stored in its run, where every reader of the
tracking server sees them (and ``mlflow run`` prints them), so a URL with a password in it is
refused before anything is logged, and the password comes from the environment instead.

The Optuna storage of tune workers is the usual case: ``FRENK_OPTUNA_STORAGE`` holds the whole URL
(the run logs it without its password), or the URL names only the user and PostgreSQL's client
reads the password from ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import os
import re

from .errors import ConfigError

#: the Optuna storage URL (with its password) when ``-P storage=`` is empty
STORAGE_ENV = "FRENK_OPTUNA_STORAGE"


#: a password in a URL's query (psycopg and SQLAlchemy read ``?password=``)
_QUERY_PASSWORD = re.compile(r"(?i)([?&;](?:password|passwd|pwd)=)([^&;#]*)")


def _parts(value: str) -> tuple[str, str, str, str] | None:
    """(scheme, user info, rest after the last ``@``, the part after it) of ``scheme://...``; the
    user info is taken up to the last ``@`` (a password may hold ``/``, ``?``, ``#`` or ``@``
    unencoded, and database clients still read it); None for text that is no URL."""
    if "://" not in value:
        return None
    scheme, rest = value.split("://", 1)
    if "@" not in rest:
        return scheme, "", rest, rest
    userinfo, host = rest.rsplit("@", 1)
    return scheme, userinfo, host, rest


def url_password(value: object) -> bool:
    """Whether ``value`` holds a URL that carries a password: ``scheme://user:password@host/...``
    (also with characters in the password that a strict URL parser would not take for one) or a
    ``password=`` in its query."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    for candidate in re.findall(r"[A-Za-z][\w+.-]*://\S+", text) or [text]:
        parts = _parts(candidate)
        if parts is None:
            continue
        _, userinfo, _, _ = parts
        if ":" in userinfo or _QUERY_PASSWORD.search(candidate):
            return True
    return False


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: for messages and logs."""
    parts = _parts(url)
    if parts is None:
        return url
    scheme, userinfo, host, rest = parts
    if ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{_QUERY_PASSWORD.sub(lambda m: m.group(1) + '***', rest)}"


def _without_password(url: str) -> str:
    parts = _parts(url)
    if parts is None:
        return url
    scheme, userinfo, host, _ = parts
    user = userinfo.split(":", 1)[0]
    host = _QUERY_PASSWORD.sub("", host).rstrip("?&;")
    return f"{scheme}://{user + '@' if user else ''}{host}"


class SecretInParameter(ConfigError):
    """A parameter holds a password (refused before anything is logged)."""


def refuse_credentials(name: str, value: object) -> None:
    """Refuse a parameter ``name`` whose value is a URL with a password, naming the safe way."""
    if not url_password(value):
        return
    without = _without_password(str(value).strip())
    safe = (f"give -P {name}={without} with the password in PGPASSWORD or ~/.pgpass, or the whole URL in "
            f"{STORAGE_ENV} and no -P {name}" if name == "storage" else
            f"give -P {name}={without} and the password through the environment its client reads")
    raise SecretInParameter(
        f"{name}={redact(str(value).strip())}: a password in a parameter is stored in the run, where every reader "
        f"of the tracking server sees it; {safe}")


def storage_url(given: str) -> str:
    """The Optuna storage to open: ``given``, else :data:`STORAGE_ENV`, else "" (the journal file)."""
    return given or os.environ.get(STORAGE_ENV, "")


def shown_storage(given: str) -> str:
    """The storage as logged and printed: never its password."""
    if given:
        return redact(given)
    return f"${STORAGE_ENV}" if os.environ.get(STORAGE_ENV) else ""  # never the URL it holds


def argv_params(argv: list[str]) -> dict[str, str]:
    """The ``-P name=value`` parameters of an ``mlflow run`` command line, in every form click
    takes: ``-P k=v``, ``-Pk=v``, ``--param-list k=v``, ``--param-list=k=v``."""
    found, i = {}, 0
    while i < len(argv):
        arg, value = argv[i], None
        if arg in ("-P", "--param-list") and i + 1 < len(argv):
            value, i = argv[i + 1], i + 1
        elif arg.startswith("--param-list="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-P") and not arg.startswith("--"):
            value = arg[2:]
        if value and "=" in value:
            key, val = value.split("=", 1)
            found[key] = val
        i += 1
    return found
