"""Running the project's entry points as their own MLflow runs (the main step)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.projects
from mlflow.exceptions import ExecutionException

from ..core.errors import FrenkError
from ..core.names import Tag
from .runs import param_value


def run_entry_point(project: Path, entry_point: str, params: dict[str, object], experiment_id: str, main_run_id: str):
    """Run an entry point of the project as its own MLflow run (``mlflow run`` semantics, local
    environment) and return that run; tag it with the main run that started it."""
    try:
        submitted = mlflow.projects.run(
            str(project), entry_point=entry_point, parameters={k: param_value(v) for k, v in params.items()},
            experiment_id=experiment_id, env_manager="local", synchronous=True,
        )
    except ExecutionException as exc:
        raise FrenkError(f"the {entry_point} step failed: {exc}") from None
    return tag_main_run(submitted.run_id, main_run_id)


def start_entry_point(project: Path, entry_point: str, params: dict[str, object], experiment_id: str):
    """Start an entry point of the project as its own MLflow run without waiting for it (``mlflow run``
    in a process of its own); returns the handle :func:`wait_entry_point` takes (its ``run_id`` is
    known at once)."""
    return mlflow.projects.run(
        str(project), entry_point=entry_point, parameters={k: param_value(v) for k, v in params.items()},
        experiment_id=experiment_id, env_manager="local", synchronous=False,
    )


def ended(submitted) -> bool:
    """Whether the process of :func:`start_entry_point`'s run has ended."""
    return submitted.get_status() != "RUNNING"


def wait_entry_point(submitted, entry_point: str, main_run_id: str):
    """Wait for a run :func:`start_entry_point` started; the run (tagged with the main run), or
    FrenkError when it failed."""
    if not submitted.wait():
        raise FrenkError(f"the {entry_point} step failed (run {submitted.run_id}; its output is above)")
    return tag_main_run(submitted.run_id, main_run_id)


def tag_main_run(run_id: str, main_run_id: str):
    """Tag a step's run (started elsewhere, e.g. in a Slurm task) with the main run; returns the run."""
    mlflow.MlflowClient().set_tag(run_id, Tag.MAIN_RUN, main_run_id)
    return mlflow.get_run(run_id)
