"""The record of a refused command under ``mlflow run``.

``mlflow run`` creates the step's run before frenk's code starts. When frenk then refuses the
command (a parameter click or a config refuses, a :class:`~frenk.core.errors.FrenkError`), that run
is all that is left of it: :func:`record_refusal` names it ``<step>-refused``, tags it with the step
and gives it the one-line error as its description, so that it reads as what it is (MLflow ends it
FAILED). A run that the step had already opened as its own (it has the step's tag: the error came
after work began) keeps its name and tags and gets the error as its description when it has none.
Outside ``mlflow run`` (no ``MLFLOW_RUN_ID``) nothing is written: a refusal creates nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from ..core.names import Tag
from ..team.connection import tracking_uri
from .experiments import NOTE_TAG

log = logging.getLogger(__name__)


def refused_run_name(step: str) -> str:
    return f"{step}-refused"


@contextmanager
def _no_retries() -> Iterator[None]:
    """A server that stopped answering must not hold the error line for minutes of retries."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def record_refusal(step: str, message: str) -> str | None:
    """Under ``mlflow run``: its run becomes the record of the refusal (named, tagged with the step,
    the error as its description). Returns the run's id, None where there is none or it could not
    be written (the refusal itself is what the user reads; this never hides it)."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if not run_id:
        return None
    from mlflow import MlflowClient

    try:
        with _no_retries():
            client = MlflowClient(tracking_uri())
            tags = client.get_run(run_id).data.tags
            if Tag.STEP in tags:  # the step had opened its run (and done work): its name stays, the error is said
                if NOTE_TAG not in tags:
                    client.set_tag(run_id, NOTE_TAG, f"**Failed**: {message}")
                return run_id
            client.update_run(run_id, name=refused_run_name(step))
            client.set_tag(run_id, Tag.STEP, step)
            client.set_tag(run_id, NOTE_TAG, f"**Refused** (`{step}`, nothing was done): {message}")
    except Exception as exc:  # the refusal's own line must come out
        log.debug(f"could not record the refusal on run {run_id}: {type(exc).__name__}: {exc}")
        return None
    return run_id
