"""Permissions under MLflow's basic-auth app: a step that would change something asks the server,
before any work, whether the user (``MLFLOW_TRACKING_USERNAME``) may; a reader gets a clear refusal
(publish) or a report that is printed but not logged (compare), never a half-done change.

Without the auth app (a local store, a server without ``--app-name basic-auth``, no user set) there
is nothing to ask and everything is allowed, as before.
"""

from __future__ import annotations

import os

from ..core.errors import TrackingError
from .connection import credentials, tracking_uri

#: the permissions that may create runs, set tags and move aliases
WRITE = ("EDIT", "MANAGE")


def _get(path: str, params: dict | None = None):
    """An authenticated GET to the tracking server; None when it cannot be asked."""
    uri, user = tracking_uri(), os.environ.get("MLFLOW_TRACKING_USERNAME")
    if not uri.startswith(("http://", "https://")) or not user:
        return None
    import requests

    try:
        answer = requests.get(uri.rstrip("/") + path, params=params, timeout=10, **credentials())
    except requests.RequestException:
        return None  # the step's own requests will say what is wrong
    return answer.json() if answer.status_code == 200 else None  # 404: no auth app


def is_admin() -> bool:
    """Whether the user is an admin of the basic-auth app (admins may do everything)."""
    found = _get("/api/3.0/mlflow/users/current/permissions")
    return bool(found and found.get("is_admin"))


def permission(resource_type: str, resource_id: str) -> str | None:
    """The current user's permission (READ, EDIT, MANAGE, ...) on an ``experiment`` (id) or a
    ``registered_model`` (name); None when the server has no permissions to tell."""
    found = _get("/api/3.0/mlflow/users/permissions/get", {"username": os.environ.get("MLFLOW_TRACKING_USERNAME"),
                                                           "resource_type": resource_type, "resource_id": resource_id})
    return found.get("permission") if found else None


def read_only(resources: list[tuple[str, str]]) -> list[str]:
    """Which of ``(resource_type, id)`` the user may only read, as ``"<type> <id> (<permission>)"``."""
    found: list[str] = []
    if not resources or permission(*resources[0]) is None or is_admin():
        return found  # no permissions to tell, or an admin
    for resource_type, resource_id in resources:
        level = permission(resource_type, resource_id)
        if level is not None and level not in WRITE:
            found.append(f"{resource_type.replace('_', ' ')} {resource_id!r} ({level})")
    return found


def require_write(resources: list[tuple[str, str]], action: str) -> None:
    """Refuse ``action`` before anything changes when the user may only read one of ``resources``."""
    readable = read_only(resources)
    if readable:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        raise TrackingError(
            f"user {user!r} has no write permission on {', '.join(readable)}: {action} needs EDIT there; nothing was "
            "changed. Ask an admin of the tracking server to grant EDIT, or run it as a user who has it"
        )
