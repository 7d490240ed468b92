"""The promotion lock of a registered model: while the registered model ``<name>.frenk-lock``
exists, one publish is reading the champion and moving the aliases of ``<name>``. MLflow's registry
has no compare-and-set; the store's unique model names make taking the lock atomic."""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..core.checks import PROMOTION_LOCK_SUFFIX
from ..core.errors import TrackingError
from ..core.files import process_alive
from ..core.interrupts import stop_requested
from ..core.names import Tag

log = logging.getLogger(__name__)

#: the registered model that, while it exists, says that a publish is promoting ``<name>``: the
#: store's unique model names make taking it atomic (MLflow's registry has no compare-and-set)
LOCK_SUFFIX = PROMOTION_LOCK_SUFFIX
#: how long a publish waits for another one's promotion (which takes seconds), and the age after
#: which a lock whose holder cannot be checked (another host) counts as left by a dead process
LOCK_WAIT_S, LOCK_STALE_S = 120.0, 600.0
_LOCK_TAGS = (Tag.LOCK_HOST, Tag.LOCK_PID, Tag.LOCK_TOKEN, Tag.LOCK_STARTED, Tag.LOCK_FOR)


def is_lock(name: str) -> bool:
    """Whether a registered model is frenk's promotion lock, not a model (readers skip it)."""
    return name.endswith(LOCK_SUFFIX)


def check_model_name(name: str) -> None:
    if is_lock(name):
        raise TrackingError(f"{name!r} is the promotion lock of {name[:-len(LOCK_SUFFIX)]!r}, not a model; "
                            f"choose a registered model name that does not end in {LOCK_SUFFIX}")


def _lock_holder(client: MlflowClient, lock: str) -> dict | None:
    try:
        model = client.get_registered_model(lock)
    except MlflowException:
        return None  # released meanwhile
    return {**model.tags, "created_ms": model.creation_timestamp or 0}


def _holder_gone(held: dict) -> bool:
    """The holder is a dead process of this host, or (any host, a reused pid too) it has held the
    lock too long."""
    pid = held.get(Tag.LOCK_PID, "")
    if held.get(Tag.LOCK_HOST) == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() \
            and not process_alive(int(pid)):
        return True
    return time.time() - held["created_ms"] / 1000 > LOCK_STALE_S


def _who(held: dict) -> str:
    return (f"{held.get(Tag.LOCK_FOR, 'a publish')}, process {held.get(Tag.LOCK_PID, '?')} on "
            f"{held.get(Tag.LOCK_HOST, '?')} since {held.get(Tag.LOCK_STARTED, '?')}")


def _break(client: MlflowClient, lock: str, held: dict) -> None:
    """Delete a lock its holder left (it was killed), unless another process took it meanwhile;
    a lock this user may not delete is one line (an admin removes it), never a loop."""
    again = _lock_holder(client, lock)
    if again is None or again.get(Tag.LOCK_TOKEN) != held.get(Tag.LOCK_TOKEN):
        return
    try:
        client.delete_registered_model(lock)
    except MlflowException as exc:
        if _lock_holder(client, lock) is None:
            return  # another process removed it first
        raise TrackingError(
            f"the promotion lock {lock} was left by {_who(held)}, whose process is gone or which has held it over "
            f"{LOCK_STALE_S:g} s, and this user may not delete it ({exc.error_code}): ask an admin of the tracking "
            f"server to delete the registered model {lock}, then publish again") from None
    log.info(f"removed the promotion lock {lock} left by {_who(held)} (the process is gone)")


@contextlib.contextmanager
def promotion_lock(name: str, purpose: str, wait_s: float | None = None) -> Iterator[None]:
    """Hold the promotion lock of registered model ``name`` for the block (read the champion,
    promote, tag): the registered model ``<name>.frenk-lock``, whose tags name this host and
    process. Another holder is waited for (``LOCK_WAIT_S``); a dead holder's lock is removed."""
    client, lock = MlflowClient(), name + LOCK_SUFFIX
    token, wait = uuid.uuid4().hex, LOCK_WAIT_S if wait_s is None else wait_s
    deadline, told = time.monotonic() + wait, False
    tags = dict(zip(_LOCK_TAGS, (socket.gethostname(), str(os.getpid()), token,  # one value per tag
                                 datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), purpose),
                    strict=True))
    description = (f"Not a model: while it exists, {purpose} is moving the aliases of `{name}` (frenk's promotion "
                   "lock; it is deleted when the promotion ends, or by the next publish if its process is gone).")
    while True:
        try:
            client.create_registered_model(lock, tags=tags, description=description)
            break
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        held = _lock_holder(client, lock)
        if held is not None and _holder_gone(held):
            _break(client, lock, held)
            time.sleep(0.25)  # another process may have broken and retaken it: look again, within the deadline
            if time.monotonic() <= deadline:
                continue
        if stop_requested():
            raise KeyboardInterrupt("received signal SIGTERM")
        if time.monotonic() > deadline:
            raise TrackingError(
                f"another publish holds the promotion lock of {name} ({_who(held or {})}) and did not release it "
                f"within {wait:g} s; run again later. If no publish is running there, delete the registered "
                f"model {lock} (MLflow UI, or MlflowClient().delete_registered_model)")
        if held is not None and not told:
            log.info(f"waiting for {_who(held)} to finish promoting {name}")
            told = True
        time.sleep(0.25)
    try:
        yield
    finally:
        held = _lock_holder(client, lock)
        if held is not None and held.get(Tag.LOCK_TOKEN) == token:
            with contextlib.suppress(MlflowException):
                client.delete_registered_model(lock)
