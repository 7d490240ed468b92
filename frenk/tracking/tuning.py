"""Logging a tuning run: one nested run per trial (its hyperparameters, the per-epoch
validation curve, its state), and on the parent the best value and parameters, the trial
table, ``best_params.json`` and the study's plots. Like Optuna's own MLflow integration, the
objective stays free of tracking: the trial runs open and close through listener hooks."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus

from ..core.errors import TrackingError
from ..core.names import Tag
from ..tuning import SearchResult, TrialListener
from .results import describe, epoch_logger, log_figure
from .runs import frenk_tags, inherited_tags, log_params, step_run

BEST_PARAMS = "best_params.json"
#: a trial run's metric of one seed (its step is the seed); ``objective`` is their mean
SEED_METRIC = "seed_objective"


class TrialRuns(TrialListener):
    """Each trial as a child run of the active (tune) run, tagged ``frenk.trial`` and
    ``frenk.trial_state``; finds the trials of one study across invocations by ``frenk.study``."""

    def __init__(self, run_name: str):
        self.run_name = run_name
        self._context: contextlib.AbstractContextManager | None = None
        self.run_ids: dict[int, str] = {}
        self._seeds: list[int] = []

    def on_trial_start(self, number: int, params: dict) -> None:
        tags = {**inherited_tags(exclude=(Tag.BEST_TRIAL,)), **frenk_tags(step="tune-trial", trial=number)}
        self._context = step_run(self.run_name.format(trial=number), tags, nested=True)
        run = self._context.__enter__()
        self.run_ids[number] = run.info.run_id
        self._seeds = []
        log_params(params)

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        epoch_logger(epoch, metrics)

    def on_seed(self, seed: int, value: float) -> None:
        """Each seed's value as the step metric ``seed_objective`` (step: the seed)."""
        self._seeds.append(seed)
        mlflow.log_metric(SEED_METRIC, value, step=seed)

    def on_trial_end(self, number: int, state: str, value: float | None, duplicate_of: int | None) -> None:
        if self._context is None:
            return
        tags = frenk_tags(trial_state=state, duplicate_of=duplicate_of,
                          seeds=",".join(map(str, self._seeds)) if self._seeds else None)
        mlflow.set_tags(tags)
        if value is not None:
            mlflow.log_metric("objective", value)
        over = f" over seed(s) {', '.join(map(str, self._seeds))}" if self._seeds else ""
        shown = f": objective {value:.4f}{over}" if value is not None else ""
        describe(f"Trial {number}, {state}{shown}" + (f" (the same configuration as trial {duplicate_of})"
                                                     if duplicate_of is not None else "") + ".")
        context, self._context = self._context, None
        context.__exit__(None, None, None)
        if state == "failed":
            # an interruption (Ctrl+C, SIGTERM) or an error: the run must never stay RUNNING
            mlflow.MlflowClient().set_terminated(self.run_ids[number], RunStatus.to_string(RunStatus.KILLED))


def log_search(result: SearchResult, figures: dict, study_tags: dict[str, str], description: str = "") -> None:
    """The parent run's summary of the study as it stands after this invocation (and its
    description: what the search found and the command that trains it)."""
    if description:
        describe(description)
    mlflow.set_tags({**study_tags, **frenk_tags(best_trial=result.best_trial, seeds=",".join(map(str, result.seeds)),
                                                tied_trials=",".join(map(str, result.tied)) or None)})
    metrics: dict[str, float] = {"new_trials": result.new_trials, "trials": len(result.table),
                                 "new_trainings": result.new_trainings, "trainings": result.trainings,
                                 "budget_trainings": result.budget[1]}
    if result.best_value is not None:
        metrics[f"best_{result.metric}"] = result.best_value
    mlflow.log_metrics(metrics)
    if result.best_params:
        log_params({f"best.{k}": v for k, v in result.best_params.items()})
    mlflow.log_dict({"study": result.study, "metric": result.metric, "value": result.best_value,
                     "trial": result.best_trial, "params": result.best_params, "seeds": result.seeds,
                     "tied_trials": result.tied}, BEST_PARAMS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trials.csv"
        result.table.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
    for path, fig in figures.items():
        log_figure(fig, path)


def best_params_of_run(run_id: str) -> dict:
    """The best hyperparameters of a tune run (its ``best_params.json``)."""
    try:
        run = mlflow.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        raise TrackingError(f"params={run_id}: no such run in {mlflow.get_tracking_uri()}; "
                            "give a tune run id or a best_params.json file") from None
    if run.data.tags.get(Tag.STEP) != "tune":
        raise TrackingError(f"params={run_id}: run {run_id} is a {run.data.tags.get(Tag.STEP, 'non-frenk')} "
                            "run, not a tune run")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=BEST_PARAMS, dst_path=tmp)
        except Exception:
            raise TrackingError(f"params={run_id}: the tune run has no {BEST_PARAMS} (no trial finished?)") from None
        values = json.loads(Path(path).read_text()).get("params") or {}
    if not values:
        raise TrackingError(f"params={run_id}: the tune run found no best parameters (no trial finished)")
    return values


def tuning_seeds_of_run(run_id: str) -> tuple[list[int], bool]:
    """The seeds a tune run's trials trained, and whether the run records them (its tag
    ``frenk.seeds``); a tune run logged before seeds were raced trained its ``seed`` parameter."""
    run = mlflow.get_run(run_id)
    recorded = run.data.tags.get(Tag.SEEDS)
    listed = recorded if recorded is not None else run.data.params.get("seed", "")
    return [int(float(s)) for s in listed.split(",") if s.strip()], recorded is not None


def tuned_model(run_id: str) -> str | None:
    """The model (preset name) a tune run tuned, from its tag; None where it has none."""
    return mlflow.get_run(run_id).data.tags.get(Tag.MODEL)


def mark_killed(run_id: str | None) -> None:
    """End an interrupted run as KILLED (a run must never stay RUNNING)."""
    if run_id is not None:
        mlflow.MlflowClient().set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
