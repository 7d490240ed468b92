"""The ``mlflow.default_experiment_provider`` plugin (pyproject.toml): inside ``mlflow run`` of this
project, the run goes to ``frenk-<lang>-<labels>`` of its ``-P lang=``/``-P labels=``.

MLflow loads it while ``mlflow`` itself is being imported, so this module imports only MLflow's
base class at the top and the rest when MLflow asks.
"""

from __future__ import annotations

import sys

from mlflow.tracking.default_experiment.abstract_context import DefaultExperimentProvider


class ProjectExperiment(DefaultExperimentProvider):
    """MLflow asks it only when no experiment was chosen (``--experiment-name``/``--experiment-id``,
    ``MLFLOW_EXPERIMENT_NAME``/``_ID``); in every other process it answers "not in context"."""

    def __init__(self):
        self._id: str | None = None

    def in_context(self) -> bool:
        from .experiments import experiment_for_command
        from .preflight import is_frenk_project_run, refuse_secret_params

        if not is_frenk_project_run(sys.argv):
            return False
        refuse_secret_params(sys.argv)  # before MLflow creates the run and logs the parameters
        self._id = experiment_for_command(sys.argv[2:])
        if self._id is not None:
            _require_write(self._id)  # MLflow's own create-run would otherwise fail in a 403 traceback
        return self._id is not None

    def get_experiment_id(self) -> str:
        return self._id


def _require_write(experiment_id: str) -> None:
    """One line and exit status 2 when the user may only read the experiment of the run."""
    from ..errors import TrackingError
    from .access import require_write

    try:
        require_write([("experiment", experiment_id)], "mlflow run (its run in the experiment)")
    except TrackingError as exc:
        print(f"frenk: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
