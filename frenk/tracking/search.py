"""Finding runs: train runs of a comparison group, the seed runs of a repeat group, compare
reports, and finished runs that a rerun can reuse."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from ..comparison import ComparisonReport, RunRecord
from ..core.errors import TrackingError
from ..core.names import Metric, Tag, search_tag
from ..core.provenance import code_version
from ..publishing import RunFacts
from ..training import kind_of_system
from . import metric_names
from .runs import note_temp_dir, param_value


def current_experiment_id() -> str:
    """The experiment runs of this process go to when frenk does not choose: ``MLFLOW_EXPERIMENT_ID``/
    ``MLFLOW_EXPERIMENT_NAME`` (as ``mlflow run`` sets them), else MLflow's default experiment."""
    wanted = os.environ.get("MLFLOW_EXPERIMENT_ID") or os.environ.get("MLFLOW_EXPERIMENT_NAME") or ""
    ids = experiment_ids(wanted)  # a list when an experiment is named
    return ids[0] if ids else "0"


def experiment_ids(experiment: str) -> list[str] | None:
    """The experiments to search: the one named or numbered ``experiment``; None (every
    experiment) when empty, so that runs logged in "Default" before frenk used one experiment
    per language and label scheme still count."""
    client = MlflowClient()
    wanted = experiment
    if not wanted:
        return None
    exp = client.get_experiment_by_name(wanted)
    if exp is None and wanted.isdigit():
        try:
            exp = client.get_experiment(wanted)
        except Exception:
            exp = None
    if exp is None:
        raise TrackingError(f"no MLflow experiment named or numbered {wanted!r}")
    return [exp.experiment_id]


#: what a tag meant on train runs logged before it existed (for the kinds of model it applies to):
#: every transformer was trained by the default engine then
TAG_DEFAULTS = {Tag.ENGINE: "frenk"}
#: the train parameter each such tag records (a kind that ignores it never had the tag)
TAG_PARAMS = {Tag.ENGINE: "engine"}


def tag_or_default(tags: dict[str, str], tag: str) -> str:
    """A run's ``tag``, or what it meant before it was logged (:data:`TAG_DEFAULTS`)."""
    if tag in tags:
        return tags[tag]
    kind = kind_of_system(tags.get(Tag.MODEL), tags.get(Tag.KIND))
    if tag in TAG_DEFAULTS and TAG_PARAMS[tag] not in kind.ignored_params:
        return TAG_DEFAULTS[tag]
    return f"(no {tag})"


def train_runs(experiment: str, group: str, filter_string: str, by: str) -> list:
    """Train runs of ``group`` (or matching ``filter_string``) as comparison records."""
    clauses = [f"{search_tag(Tag.STEP)} = 'train'"]
    if group:
        if "'" in group:
            raise TrackingError(f"group {group!r} contains a quote; use filter= instead")
        clauses.append(f"{search_tag(Tag.GROUP)} = '{group}'")
    if filter_string:
        clauses.append(filter_string)
    query = " AND ".join(clauses)
    try:
        ids = experiment_ids(experiment)
        runs = mlflow.search_runs(experiment_ids=ids, search_all_experiments=ids is None, filter_string=query,
                                  output_format="list", max_results=50000)
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(f"MLflow rejected the search {query!r}: {exc.message}") from None
    return records(runs, by)


def runs_by_id(run_ids: list[str], by: str) -> list:
    """The train runs ``run_ids`` (in any experiment) as comparison records, systems by ``by``."""
    found = []
    for start in range(0, len(run_ids), 100):  # a long IN list in chunks
        chunk = ", ".join(f"'{r}'" for r in run_ids[start:start + 100])
        found += mlflow.search_runs(search_all_experiments=True, filter_string=f"attributes.run_id IN ({chunk})",
                                    output_format="list", max_results=50000)
    return records(found, by)


def records(runs: list, by: str) -> list:
    """MLflow runs as comparison records, their systems the values of the tag ``by``."""
    tag = by[len("tags."):] if by.startswith("tags.") else by
    parents = {r.data.tags.get("mlflow.parentRunId") for r in runs}
    statuses = parent_statuses(runs)
    return [
        RunRecord(
            run_id=r.info.run_id,
            system=tag_or_default(r.data.tags, tag),
            seed=r.data.tags.get(Tag.SEED),
            data_digest=r.data.tags.get(Tag.DATA_DIGEST),
            metrics=metric_names.library_names(r.data.metrics),
            status=r.info.status,
            start_time=r.info.start_time,
            is_parent=r.info.run_id in parents or Tag.REPEATS in r.data.tags,
            parent_status=statuses.get(r.data.tags.get("mlflow.parentRunId", "")),  # "": no parent
            experiment_id=r.info.experiment_id,
            lang=r.data.tags.get(Tag.LANG),
            labels=r.data.tags.get(Tag.LABELS),
            results_table=r.data.tags.get(Tag.RESULTS_TABLE),
            scored_classes=metric_names.scored_classes(r.data.tags),
            tune_run=r.data.tags.get(Tag.TUNE_RUN),
            init_seed=r.data.tags.get(Tag.INIT_SEED),
            data_seed=r.data.tags.get(Tag.DATA_SEED),
        )
        for r in runs
    ]


def tuning_budgets(samples: dict[str, list]) -> dict[str, str]:
    """Each system's tuning budget in words: the tune runs its runs' parameters came from, with
    their trials x seeds per trial, or "untuned (the preset's defaults)"."""
    out = {}
    for system, runs in samples.items():
        tune_runs = sorted({r.tune_run for r in runs if r.tune_run})
        if not tune_runs:
            out[system] = "untuned (the preset's defaults)"
            continue
        parts = []
        for run_id in tune_runs:
            try:
                run = MlflowClient().get_run(run_id)
            except Exception:
                parts.append(f"tune run {run_id}: trials not known")
                continue
            trials, trainings = run.data.metrics.get("trials"), run.data.metrics.get("trainings")
            seeds = len((run.data.tags.get(Tag.SEEDS) or "x").split(","))  # before seeds were raced: one
            text = f"{int(trials)} trials x {'up to ' if seeds > 1 else ''}{seeds} seed{'s' if seeds > 1 else ''}" \
                if trials is not None else "trials not known"
            parts.append(f"tune run {run_id}: {text}" + (f" ({int(trainings)} trainings)" if trainings else ""))
        out[system] = "; ".join(parts)
    return out


def parent_statuses(runs: list) -> dict[str, str]:
    """The status of every parent run of ``runs`` (read from the store where not among them)."""
    known = {r.info.run_id: r.info.status for r in runs}
    statuses = {}
    for parent in {r.data.tags.get("mlflow.parentRunId") for r in runs} - {None}:
        if parent not in known:
            try:
                known[parent] = mlflow.get_run(parent).info.status
            except mlflow.exceptions.MlflowException:
                known[parent] = "DELETED"
        statuses[parent] = known[parent]
    return statuses


def finished_trainings(runs: list) -> list:
    """The runs that count: FINISHED, and with a FINISHED parent where they have one."""
    statuses = parent_statuses(runs)
    return [r for r in runs if r.info.status == "FINISHED"
            and statuses.get(r.data.tags.get("mlflow.parentRunId"), "FINISHED") == "FINISHED"]


def run_predictions(samples: dict[str, list]) -> dict[str, pd.DataFrame]:
    """The per-example test predictions of every usable run (the samples of
    :func:`~frenk.comparison.select_samples`) by run id; a run without them (logged by other
    code) is absent. The downloads are read in a temporary folder that is removed (and recorded
    on the active run, for the orphan scan)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="frenk-compare-") as tmp:
        note_temp_dir(tmp)
        for runs in samples.values():
            for r in runs:
                try:
                    path = mlflow.artifacts.download_artifacts(run_id=r.run_id, artifact_path="predictions.parquet",
                                                               dst_path=str(Path(tmp) / r.run_id))
                except Exception:
                    continue  # a run without predictions: the verdict stays at the seed level
                out[r.run_id] = pd.read_parquet(path)
    return out


def best_run_predictions(samples: dict[str, list], by_run: dict[str, pd.DataFrame]
                         ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """For each system, the predictions of its best usable run by validation macro-F1 (for
    the per-example view), and that run's id; systems whose best run has none are absent."""
    predictions, best = {}, {}
    for system in sorted(samples):
        top = max(samples[system], key=lambda r: r.metrics.get(Metric.FINAL_VAL_MACRO_F1, float("-inf")))
        if top.run_id in by_run:
            predictions[system], best[system] = by_run[top.run_id], top.run_id
    return predictions, best


def get_run(run_id: str, what: str = "run"):
    """The run ``run_id``; a :class:`TrackingError` naming ``what`` it was meant to be when the
    store has no such run (a mistyped id, or another tracking URI)."""
    try:
        return mlflow.get_run(run_id)
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(
            f"no {what} {run_id!r} in the tracking store {mlflow.get_tracking_uri()} ({exc.error_code}); "
            "check the run id (MLflow UI, or `mlflow runs list`) and MLFLOW_TRACKING_URI"
        ) from None


def seed_runs(run) -> list:
    """The per-seed runs of the repeat group ``run`` belongs to (itself alone without repeats)."""
    parent = run.data.tags.get("mlflow.parentRunId")
    if not parent:
        return [run]
    if mlflow.get_run(parent).info.status != "FINISHED":
        return []
    return mlflow.search_runs(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}' AND attributes.status = 'FINISHED'",
        output_format="list",
    )


def load_report(run_id: str) -> ComparisonReport:
    """``report.json`` of a compare run (downloaded into a temporary folder that is removed), of
    any layout frenk wrote."""
    with tempfile.TemporaryDirectory(prefix="frenk-report-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="report.json", dst_path=tmp)
        except (mlflow.exceptions.MlflowException, OSError):
            raise TrackingError(
                f"run {run_id} has no compare report (report.json); pass the id of a compare run "
                f"({search_tag(Tag.STEP)} = 'compare') as compare_run, or leave it empty for the newest one"
            ) from None
        return ComparisonReport.from_dict(json.loads(Path(path).read_text()))


def compare_report(compare_run: str, system: str) -> tuple[ComparisonReport, str]:
    """The report of ``compare_run``, or of the newest finished compare run that includes ``system``."""
    if compare_run:
        candidates = [get_run(compare_run, "compare run")]
    else:
        candidates = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=f"{search_tag(Tag.STEP)} = 'compare' AND attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            output_format="list",
        )
    for run in candidates:
        if system in run.data.tags.get(Tag.SYSTEMS, "").split(","):
            return load_report(run.info.run_id), run.info.run_id
    raise TrackingError(
        f"no compare report includes the system {system!r}"
        + (f" (compare run {compare_run})" if compare_run else "")
        + "; run `mlflow run . -e compare -P group=<group>` first"
    )


def group_train_runs(group: str) -> list:
    """The train runs of ``group`` that count (in any experiment): finished, of trainings that finished."""
    return finished_trainings(mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"{search_tag(Tag.STEP)} = 'train' AND {search_tag(Tag.GROUP)} = '{group}'",
        output_format="list",
    ))


def last_trained(group: str) -> int:
    """When the newest training of ``group`` ended its last seed (ms): a compare that started after it
    compared them all. A parent's own end time is not it: a training on Slurm ends its parent twice
    (its finishing task, then the login node's command, after compare may have started)."""
    return max(((r.info.end_time or 0) if Tag.REPEATS not in r.data.tags else r.info.start_time
                for r in group_train_runs(group)), default=0)


def compared_after_training(group: str):
    """Whether a compare run started after every training of ``group`` had ended its seeds (a
    predicate on the run): else it compared fewer runs than there are now."""
    trained = last_trained(group)
    return lambda run: run.info.start_time >= trained


def find_reusable(entry_point: str, params: dict[str, object], experiment_id: str, tags: dict[str, str] | None = None):
    """The newest finished run of ``entry_point`` made by this code version with exactly these
    parameter values (and these tags) in ``experiment_id`` or, for runs logged before frenk used
    one experiment per language and label scheme, in "Default"; or None."""
    clauses = [
        f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
        f"{search_tag(Tag.CODE_VERSION)} = '{code_version()}'",
        "attributes.status = 'FINISHED'",
    ] + [f"tags.`{k}` = '{v}'" for k, v in (tags or {}).items()]
    runs = mlflow.search_runs(experiment_ids=list(dict.fromkeys([experiment_id, "0"])),
                              filter_string=" AND ".join(clauses), order_by=["attributes.start_time DESC"],
                              output_format="list")
    wanted = {k: param_value(v) for k, v in params.items()}
    for run in runs:
        if all(run.data.params.get(k) == v for k, v in wanted.items()):
            return run
    return None


def run_facts(run) -> RunFacts:
    """The plain facts of an MLflow run that the publishing code reads (its metrics under the
    library's names, the results table's included)."""
    metrics = {**metric_names.library_names(run.data.metrics),
               **results_table(run.info.run_id, run.data.tags.get(Tag.RESULTS_TABLE))}
    return RunFacts(run.info.run_id, dict(run.data.tags), dict(run.data.params), metrics)


def results_table(run_id: str, table: str | None) -> dict[str, float]:
    """The per-class, per-topic and per-fold results run ``run_id`` logged as its ``table`` (the
    tag ``frenk.results_table``; none for runs logged before frenk used tables: their metrics hold them)."""
    if not table:
        return {}
    try:
        logged = mlflow.artifacts.load_dict(f"runs:/{run_id}/{table}")
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        raise TrackingError(f"run {run_id} names its results table {table}, but it cannot be read: {exc}") from None
    column = {name: i for i, name in enumerate(logged["columns"])}
    return {row[column["metric"]]: float(row[column["value"]]) for row in logged["data"]
            if row[column["value"]] is not None}


def add_results_tables(records: list) -> None:
    """Add the results tables of ``records`` (comparison records of seed runs) to their metrics,
    for per-fold views and per-class metrics; records that hold such results already are left alone."""
    for record in records:
        if record.is_parent or any(k.startswith(("test_fold.", "test_topic.", "test_f1.")) for k in record.metrics):
            continue
        record.metrics.update({k: v for k, v in results_table(record.run_id, record.results_table).items()
                               if k not in record.metrics})
