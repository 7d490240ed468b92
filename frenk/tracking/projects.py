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
    mlflow.MlflowClient().set_tag(submitted.run_id, Tag.MAIN_RUN, main_run_id)
    return mlflow.get_run(submitted.run_id)
