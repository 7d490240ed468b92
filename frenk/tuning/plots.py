"""Charts of a study, from ``optuna.visualization.matplotlib`` (figures only)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna


def study_figures(study: optuna.Study) -> dict:
    """Optimisation history, parallel coordinates, and parameter importances when at least two
    dimensions vary; by artifact path. Figures Optuna cannot draw (too few trials) are left out."""
    from optuna.visualization import matplotlib as ovm

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    names = {k for t in complete for k in t.params}
    varying = [name for name in names if len({t.params.get(name) for t in complete}) > 1]
    plots: dict[str, Callable[..., Any]] = {"plots/optimization_history.png": ovm.plot_optimization_history}
    if complete:
        plots["plots/parallel_coordinate.png"] = ovm.plot_parallel_coordinate
    if len(varying) >= 2 and len(complete) >= 2:
        plots["plots/param_importances.png"] = ovm.plot_param_importances
    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib backend experimental
        for path, plot in plots.items():
            try:
                figures[path] = plot(study).figure
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue
    return figures
