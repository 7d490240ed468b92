"""Logging what the library returns: prepared data, trained models' results, compare
reports, publications. Each function logs to the active run."""

from __future__ import annotations

import math
import os
import tempfile
import time
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.pandas_dataset import from_pandas

from ..comparison import ComparisonReport, report_figures
from ..comparison.direction import oriented
from ..comparison.tables import results_table, to_latex, to_markdown
from ..core.names import Metric, Tag
from ..data.plots import distribution_table, label_distribution
from ..training import TrainResult
from ..training.plots import confusion_matrix
from . import metric_names
from .runs import log_params


def log_frame_dataset(frame: pd.DataFrame, *, name: str, source, context: str, digest: str) -> None:
    """Log a split as an MLflow dataset input, with the split's own content digest."""
    with warnings.catch_warnings():
        # MLflow registers its local artifact source twice ("can be interpreted in multiple
        # ways": both are the same class) and hints about integer columns; neither applies
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
        dataset = from_pandas(frame, source=source, targets="label", name=name, digest=digest[:32])
        try:
            mlflow.log_input(dataset, context=context, tags={"sha256": digest})
        except mlflow.exceptions.MlflowException as exc:
            # two runs logging the same dataset at once: MLflow looks it up, then inserts it, and the
            # later insert fails on the unique key; once more finds it there (an SQL store's race)
            if "UNIQUE constraint failed: datasets" not in str(exc) and "duplicate key" not in str(exc):
                raise
            mlflow.log_input(dataset, context=context, tags={"sha256": digest})


def log_figure(fig, path: str) -> None:
    mlflow.log_figure(fig, path)


def log_preprocess(data, output: Path) -> None:
    """Log a prepared dataset: parameters, one dataset input per split, the manifest, the
    label-distribution table and its bar chart."""
    manifest = data.manifest
    log_params({**manifest["parameters"], "output": str(output)})
    log_prepared_inputs(data, folder=Path(output).resolve())
    mlflow.log_dict(manifest, "manifest.json")
    table = distribution_table(manifest)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "label_distribution.csv"
        table.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
    mlflow.log_table(table, "label_distribution.json")
    log_figure(label_distribution(table), "label_distribution.png")
    mlflow.log_metrics({f"rows_{split}": n for split, n in manifest["rows"].items()})


def epoch_logger(epoch: int, metrics: dict[str, float]) -> None:
    """An epoch listener for :mod:`frenk.training`: validation metrics as step metrics
    (``val/macro_f1``, ...), so the MLflow UI draws learning curves in one section."""
    mlflow.log_metrics({metric_names.epoch_name(k): v for k, v in metrics.items()}, step=epoch)


def log_loss_curve(curve: list[tuple[int, float]]) -> None:
    """The training loss as logged several times an epoch: ``train/step_loss`` by optimizer step
    (the per-epoch ``train/loss`` and ``val/*`` curves are by epoch)."""
    if not curve:
        return
    from mlflow.entities import Metric as Logged

    stamp = int(time.time() * 1000)
    logged = [Logged(metric_names.STEP_LOSS, loss, stamp, step) for step, loss in curve]
    run = mlflow.active_run()
    if run is not None:
        mlflow.MlflowClient().log_batch(run.info.run_id, metrics=logged)


def log_results(metrics: dict[str, float]) -> None:
    """A few top-level metrics (:data:`~.metric_names.TOP`), the rest as the run's results table."""
    top, rows = metric_names.split(metrics)
    mlflow.log_metrics(top)
    if rows:
        mlflow.log_table(pd.DataFrame(rows), metric_names.RESULTS_TABLE)
        mlflow.set_tag(Tag.RESULTS_TABLE, metric_names.RESULTS_TABLE)


def log_prepared_inputs(data, folder: Path | None = None,
                        splits: tuple[str, ...] = ("train", "validation", "test")) -> None:
    """The splits as MLflow dataset inputs, each with its content digest: the Parquet files
    of ``folder`` (or of the folder they were read from), or, for data prepared in-process,
    the source the step read."""
    lang = data.manifest["parameters"]["lang"]
    folder = folder or data.folder
    for split in splits:
        if folder is not None:
            source = (folder / f"{split}.parquet").as_uri()
        else:
            source = CodeDatasetSource(tags={Tag.SOURCE: data.manifest["source"], Tag.PREPARED: "in-process"})
        log_frame_dataset(data.splits[split], name=f"frenk-{lang}-{split}", source=source, context=split,
                          digest=data.manifest["digests"][split])


def log_train_result(result: TrainResult) -> None:
    """Metrics (a few top-level ones and the results table), the reload check, the confusion
    matrix, per-example predictions and the learning-curve table of one trained model."""
    evaluation = result.test_evaluation
    metrics = {**evaluation.metrics, **{f"final_{k}": v for k, v in result.validation.items()}}
    metrics[Metric.TRAIN_SECONDS] = result.train_seconds
    if result.loss_drop is not None:
        metrics[Metric.TRAIN_LOSS_DROP] = result.loss_drop
    if result.peak_gpu_memory_mb is not None:
        metrics[Metric.PEAK_GPU_MEMORY_MB] = result.peak_gpu_memory_mb
    log_results(metrics)
    log_loss_curve(result.loss_curve)
    log_params(
        {
            "per_device_batch_size": result.per_device_batch,
            "gradient_accumulation_steps": result.accumulation_steps,
            "resolved_precision": result.precision,
            "device": result.device,
        }
    )
    # the reload check is a tag, not a metric: a chart of 0 would open every seed's metrics tab
    mlflow.set_tags({Tag.RELOAD_CHECK: "passed" if result.reload_identical else "failed",
                     Tag.RELOAD_MAX_PROB_DIFF: f"{result.reload_max_prob_diff:.1e}",
                     **metric_names.scored_classes_tag(getattr(evaluation, "scored_classes", ()))})
    if result.load_report:  # which weights the base checkpoint lacked (created new) or carried unused
        mlflow.log_dict(result.load_report, "load_report.json")
    log_figure(confusion_matrix(evaluation.confusion, evaluation.class_names), "confusion_matrix.png")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.parquet"
        evaluation.predictions.to_parquet(path, index=False)
        mlflow.log_artifact(str(path))
        # the same rows as a table the UI previews (Parquet files have no preview there)
        mlflow.log_table(_json_safe(evaluation.predictions), "predictions.json")
        if result.history:
            hist = Path(tmp) / "history.csv"
            pd.DataFrame(result.history).to_csv(hist, index=False)
            mlflow.log_artifact(str(hist))


def _json_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose columns are plain strings and numbers (NumPy arrays and categories become text)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) == "category":
            out[column] = out[column].map(lambda v: v if isinstance(v, (str, int, float)) or v is None else str(v))
    return out


def log_summary(metrics: dict[str, float], tags: dict[str, str]) -> None:
    """A parent's summary over seeds: mean and sd of test accuracy and macro-F1 as metrics, the rest as its table."""
    log_results(metrics)
    mlflow.set_tags(tags)


def log_compare(report: ComparisonReport, markdown: str, params: dict) -> None:
    """The compare run's parameters, links to the runs it used, its verdict as the description,
    p-values and effect sizes as one table (``comparisons.json``, not hundreds of metrics), and
    the report (Markdown, JSON, plots) as artifacts."""
    log_params(params)
    used = [rid for ids in report.runs.values() for rid in ids]
    mlflow.set_tags({
        Tag.COMPARED_RUNS: ",".join(used)[:5000],
        Tag.SYSTEMS: ",".join(report.systems),
        Tag.BEST_SYSTEM: report.best_system or "none",
    })
    rows = [
        {"metric": c.metric, "a": c.a, "b": c.b, "design": c.design, "n": c.n_a,
         "test": c.verdict.name, "p_value": _number(c.verdict.p_value),
         "p_holm": _number(c.verdict.p_holm), "mean_difference": _number(c.mean_difference),
         # the effects for the leader over the other, as the verdict text gives them
         "effects_of": (o := oriented(c)).direction, "cohens_d": _number(o.cohens_d),
         "cliffs_delta": _number(o.cliffs_delta), "aso_eps_min": _number(o.aso_eps_min),
         "seeds_needed": _number(c.power.seeds_needed),
         "better": c.verdict.better or "", "level": c.verdict.level, "call": c.verdict.call,
         "ci_low": _number(_interval(c)[0]), "ci_high": _number(_interval(c)[1]),
         "plan_seeds": c.plan.seeds if c.plan else None, "verdict": c.verdict.text}
        for c in report.comparisons
    ]
    if rows:
        mlflow.log_table(pd.DataFrame(rows), "comparisons.json")
    # each pair's primary p-value, difference and deciding interval as metrics, to chart across compares
    values = {}
    for c in report.comparisons:
        low, high = _interval(c)
        difference = c.two_level.difference if c.two_level is not None else c.mean_difference
        for stat, v in zip(Metric.PAIR_STATISTICS, (c.verdict.p, difference, low, high), strict=True):
            if (number := _number(v)) is not None:
                values[Metric.pair_metric(c.metric, c.a, c.b, stat)] = number
    if values:
        mlflow.log_metrics(values)
    mlflow.log_text(markdown, "report.md")
    mlflow.log_dict(report.to_dict(), "report.json")
    table = results_table(report)  # the table a paper prints, and the runs behind each cell
    mlflow.log_text(to_markdown(table), "results_table.md")
    mlflow.log_text(to_latex(table), "results_table.tex")
    mlflow.log_dict(table.to_dict(), "results_table.json")
    verdicts = "".join(f"\n- {c.verdict.text}" for c in report.comparisons)
    describe(f"**{report.summary}.**{verdicts}\n\n"
             "Full report: `report.md`; statistics table: `comparisons.json` (artifacts).")
    for path, fig in report_figures(report).items():
        log_figure(fig, path)


def log_stability(table: pd.DataFrame | None, flips: str) -> None:
    """The per-comment stability table (``stability.json``, a table the UI previews) and the
    least stable comments (``flips.md``) on the compare run."""
    if table is not None:
        mlflow.log_table(_json_safe(table), "stability.json")
    mlflow.log_text(flips, "flips.md")


def _interval(c) -> tuple:
    """The deciding interval of a pair: two-level when made, else the seed-level one."""
    if c.two_level is not None:
        return c.two_level.ci_low, c.two_level.ci_high
    return c.seed_ci or (None, None)


def _number(value) -> float | None:
    """A finite number as float, else None (an empty cell of the table)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def log_publication(folder: Path, tags: dict[str, str], description: str) -> None:
    """The card and the publication record as artifacts of the publish run, and its description."""
    mlflow.set_tags(tags)
    describe(description)
    mlflow.log_artifact(str(folder / "README.md"), "model_card")
    mlflow.log_artifact(str(folder / "frenk_publish.json"), "model_card")


def describe(text: str, run_id: str | None = None) -> None:
    """The run's description (``mlflow.note.content``: Markdown, shown on the run page)."""
    if run_id is None:
        mlflow.set_tag("mlflow.note.content", text)
    else:
        mlflow.MlflowClient().set_tag(run_id, "mlflow.note.content", text)


#: the MLflow 3.17 UI's workflow of model training (its page parameter ``workflowType``)
ML_WORKFLOW = "machine_learning"


def describe_project_run(name: str, text: str) -> None:
    """Under ``mlflow run``, the run it made for a step that opens none (publish verify=): its name
    and description; nothing otherwise (a check that only reads leaves no run)."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if run_id:
        client = mlflow.MlflowClient()
        client.set_tag(run_id, "mlflow.runName", name)
        describe(text, run_id)


def run_link(run_id: str) -> str:
    """A Markdown link to a run's page in the MLflow UI, named after the run."""
    run = mlflow.get_run(run_id)
    return (f"[{run.info.run_name}](#/experiments/{run.info.experiment_id}/runs/{run_id}"
            f"?workflowType={ML_WORKFLOW})")


def version_link(name: str, version: str) -> str:
    """A Markdown link to a registered model version's page in the MLflow UI."""
    return f"[{name} version {version}](#/models/{name}/versions/{version})"


def train_description(model: str, lang: str, labels: str, summary: dict[str, float], best_seed: int,
                      best_run_id: str, n_seeds: int) -> str:
    """What a train parent run found, in one paragraph."""
    return (
        f"**{model}** on {lang}/{labels}, {n_seeds} seeds: test macro-F1 "
        f"{summary[Metric.TEST_MACRO_F1_MEAN]:.4f} ± {summary[Metric.TEST_MACRO_F1_STD]:.4f}, accuracy "
        f"{summary[Metric.TEST_ACCURACY_MEAN]:.4f} ± {summary[Metric.TEST_ACCURACY_STD]:.4f} (mean ± sd). "
        f"Best seed by validation macro-F1 (never test): {best_seed}, run {run_link(best_run_id)}."
    )
