"""MLflow at the edge: the one place that talks to the tracking server.

Data, model, training and statistics code return plain results; the functions here log
them. Nothing happens at import time: the tracking URI is resolved when a run starts.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .errors import TrackingError

#: the embedded default store: MLflow's SQLite store in the working directory
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
TAG_PREFIX = "frenk."


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the SQLite store ``./mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def configure() -> str:
    """Point MLflow at :func:`tracking_uri` and check that it answers."""
    import mlflow

    uri = tracking_uri()
    check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    return uri


def check_reachable(uri: str) -> None:
    """Fail with a clear message, before any work starts, when a tracking server does not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        response = requests.get(uri.rstrip("/") + "/health", timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise TrackingError(
            f"the MLflow tracking server at {uri} is not reachable ({type(exc).__name__}). Start it "
            "(`mlflow server --backend-store-uri sqlite:///mlflow.db`), fix MLFLOW_TRACKING_URI, or unset it "
            f"to use the local store {DEFAULT_TRACKING_URI}"
        ) from None


def frenk_tags(**values: object) -> dict[str, str]:
    """``frenk.<name>`` tags from keyword arguments, dropping ``None`` values."""
    return {f"{TAG_PREFIX}{k}": str(v) for k, v in values.items() if v is not None}


@contextlib.contextmanager
def step_run(run_name: str, tags: dict[str, str], nested: bool = False) -> Iterator:
    """Start (or, under ``mlflow run``, resume) the run of a step.

    An exception inside the block marks the run FAILED and propagates.
    """
    import mlflow

    from .provenance import code_version

    configure()
    with mlflow.start_run(run_name=run_name, nested=nested, tags={**tags, "frenk.code_version": code_version()}) as run:
        yield run


def param_value(value: object) -> str:
    """A parameter as it is written on the command line (``true``/``false``, comma lists)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def log_params(params: dict[str, object]) -> None:
    """Log parameters, leaving alone those that ``mlflow run`` already logged for this run
    (MLflow refuses to change a logged value, and the user's own spelling is the one to keep)."""
    import mlflow

    run = mlflow.active_run()
    existing = mlflow.get_run(run.info.run_id).data.params if run else {}
    new = {k: param_value(v) for k, v in params.items() if k not in existing}
    if new:
        mlflow.log_params(new)


def log_frame_dataset(frame: pd.DataFrame, *, name: str, source, context: str, digest: str) -> None:
    """Log a split as an MLflow dataset input, with the split's own content digest."""
    import mlflow
    import mlflow.data

    with warnings.catch_warnings():
        # MLflow registers its local artifact source twice ("can be interpreted in multiple
        # ways": both are the same class) and hints about integer columns; neither applies
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
        dataset = mlflow.data.from_pandas(frame, source=source, targets="label", name=name, digest=digest[:32])
        mlflow.log_input(dataset, context=context, tags={"sha256": digest})


def log_figure(fig, path: str) -> None:
    import mlflow

    mlflow.log_figure(fig, path)


# ---------------------------------------------------------------- preprocess


def log_preprocess(data, output: Path) -> None:
    """Log a prepared dataset: parameters, one dataset input per split, the manifest, the
    label-distribution table and its bar chart."""
    import mlflow

    from . import plots

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
    log_figure(plots.label_distribution(table), "label_distribution.png")
    mlflow.log_metrics({f"rows_{split}": n for split, n in manifest["rows"].items()})


def distribution_table(manifest: dict) -> pd.DataFrame:
    rows = [
        {"split": split, "topic": topic, "label": label, "count": n}
        for split, topics in manifest["counts"].items()
        for topic, labels in topics.items()
        for label, n in labels.items()
    ]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- train


def epoch_logger(epoch: int, metrics: dict[str, float]) -> None:
    """An epoch listener for :mod:`frenk.training`: validation metrics as step metrics, so
    the MLflow UI draws learning curves."""
    import mlflow

    mlflow.log_metrics(metrics, step=epoch)


def log_prepared_inputs(data, folder: Path | None = None) -> None:
    """The splits as MLflow dataset inputs, each with its content digest: the Parquet files
    of ``folder`` (or of the folder they were read from), or, for data prepared in-process,
    the source the step read."""
    from mlflow.data.code_dataset_source import CodeDatasetSource

    lang = data.manifest["parameters"]["lang"]
    folder = folder or data.folder
    for split, frame in data.splits.items():
        if folder is not None:
            source = (folder / f"{split}.parquet").as_uri()
        else:
            source = CodeDatasetSource(tags={"frenk.source": data.manifest["source"], "frenk.prepared": "in-process"})
        log_frame_dataset(
            frame, name=f"frenk-{lang}-{split}", source=source, context=split, digest=data.manifest["digests"][split]
        )


def log_train_result(result) -> None:
    """Metrics, the reload check, the confusion matrix, per-example predictions and the
    learning-curve table of one trained model."""
    import mlflow

    from . import plots

    metrics = {**result.evaluation.metrics, **{f"final_{k}": v for k, v in result.validation.items()}}
    metrics["reload_max_prob_diff"] = result.reload_max_prob_diff
    metrics["train_seconds"] = result.train_seconds
    if result.peak_gpu_memory_mb is not None:
        metrics["peak_gpu_memory_mb"] = result.peak_gpu_memory_mb
    mlflow.log_metrics(metrics)
    log_params(
        {
            "per_device_batch_size": result.per_device_batch,
            "gradient_accumulation_steps": result.accumulation_steps,
            "resolved_precision": result.precision,
            "device": result.device,
        }
    )
    mlflow.set_tag("frenk.reload_check", "passed" if result.reload_identical else "failed")
    log_figure(plots.confusion_matrix(result.evaluation.confusion, result.evaluation.class_names), "confusion_matrix.png")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.parquet"
        result.evaluation.predictions.to_parquet(path, index=False)
        mlflow.log_artifact(str(path))
        if result.history:
            hist = Path(tmp) / "history.csv"
            pd.DataFrame(result.history).to_csv(hist, index=False)
            mlflow.log_artifact(str(hist))


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    reqs = []
    for name in ("mlflow", "torch", "transformers", "scikit-learn", "pandas", "numpy", "joblib", "safetensors", "tokenizers"):
        try:
            reqs.append(f"{name}=={version(name).split('+')[0]}")
        except Exception:
            continue
    return reqs


def log_model(model_dir: Path, registered_name: str | None):
    """Log a model folder as an MLflow pyfunc model (and register it); returns the ModelInfo."""
    import mlflow.pyfunc

    from .pyfunc_model import ARTIFACT, FrenkTextClassifier

    package_dir = Path(__file__).resolve().parent
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=FrenkTextClassifier(),
        artifacts={ARTIFACT: str(model_dir)},
        code_paths=[str(package_dir)],
        pip_requirements=_pip_requirements(),
        registered_model_name=registered_name or None,
    )


def register(model_uri: str, name: str):
    import mlflow

    return mlflow.register_model(model_uri, name)


def set_candidate(name: str, version: str | int, tags: dict[str, str]) -> None:
    """Alias ``candidate`` on ``version`` and tag the version with the run's frenk tags."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    client.set_registered_model_alias(name, "candidate", str(version))


@contextlib.contextmanager
def resume_run(run_id: str, nested: bool = True) -> Iterator:
    import mlflow

    with mlflow.start_run(run_id=run_id, nested=nested) as run:
        yield run


def log_summary(metrics: dict[str, float], tags: dict[str, str]) -> None:
    import mlflow

    mlflow.log_metrics(metrics)
    mlflow.set_tags(tags)


# ---------------------------------------------------------------- compare


def experiment_ids(experiment: str) -> list[str]:
    """The experiment to search: a name or id, else the current one (``MLFLOW_EXPERIMENT_ID``/
    ``MLFLOW_EXPERIMENT_NAME``, as ``mlflow run`` sets them), else the default experiment."""
    from mlflow import MlflowClient

    client = MlflowClient()
    wanted = experiment or os.environ.get("MLFLOW_EXPERIMENT_ID") or os.environ.get("MLFLOW_EXPERIMENT_NAME") or ""
    if not wanted:
        return ["0"]
    exp = client.get_experiment_by_name(wanted)
    if exp is None and wanted.isdigit():
        try:
            exp = client.get_experiment(wanted)
        except Exception:
            exp = None
    if exp is None:
        raise TrackingError(f"no MLflow experiment named or numbered {wanted!r}")
    return [exp.experiment_id]


def train_runs(experiment: str, group: str, filter_string: str, by: str) -> list:
    """Train runs of ``group`` (or matching ``filter_string``) as comparison records."""
    import mlflow

    from .comparison import RunRecord

    clauses = ["tags.`frenk.step` = 'train'"]
    if group:
        if "'" in group:
            raise TrackingError(f"group {group!r} contains a quote; use filter= instead")
        clauses.append(f"tags.`frenk.group` = '{group}'")
    if filter_string:
        clauses.append(filter_string)
    query = " AND ".join(clauses)
    try:
        runs = mlflow.search_runs(experiment_ids=experiment_ids(experiment), filter_string=query, output_format="list",
                                  max_results=50000)
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(f"MLflow rejected the search {query!r}: {exc.message}") from None
    tag = by[len("tags."):] if by.startswith("tags.") else by
    parents = {r.data.tags.get("mlflow.parentRunId") for r in runs}
    return [
        RunRecord(
            run_id=r.info.run_id,
            system=r.data.tags.get(tag, f"(no {tag})"),
            seed=r.data.tags.get("frenk.seed"),
            data_digest=r.data.tags.get("frenk.data_digest"),
            metrics=dict(r.data.metrics),
            status=r.info.status,
            is_parent=r.info.run_id in parents or "frenk.repeats" in r.data.tags,
        )
        for r in runs
    ]


def best_run_predictions(records, systems: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """For each system, the per-example test predictions of its best run by validation macro-F1."""
    import mlflow

    predictions, best = {}, {}
    for system in systems:
        runs = [r for r in records if r.system == system and not r.is_parent and r.status == "FINISHED"]
        if not runs:
            continue
        top = max(runs, key=lambda r: r.metrics.get("final_val_macro_f1", float("-inf")))
        try:
            path = mlflow.artifacts.download_artifacts(run_id=top.run_id, artifact_path="predictions.parquet")
        except Exception:
            continue  # a run without predictions (logged by other code): no per-example view
        predictions[system] = pd.read_parquet(path)
        best[system] = top.run_id
    return predictions, best


def _metric_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", text)


def log_compare(report: dict, markdown: str, figures: dict, params: dict) -> None:
    """The compare run's parameters, links to the runs it used, p-values and effect sizes as
    metrics, and the report (Markdown, JSON, plots) as artifacts."""
    import mlflow

    log_params(params)
    used = [rid for ids in report["runs"].values() for rid in ids]
    mlflow.set_tags({
        "frenk.compared_runs": ",".join(used)[:5000],
        "frenk.systems": ",".join(report["systems"]),
        "frenk.best_system": report["best_system"] or "none",
    })
    metrics = {}
    for c in report["comparisons"]:
        base = _metric_name(f"{c['metric']}.{c['a']}_vs_{c['b']}")
        rec = c["recommended"]
        metrics[f"{base}.p_value"] = rec["p_value"]
        if "p_holm" in rec:
            metrics[f"{base}.p_holm"] = rec["p_holm"]
        metrics[f"{base}.mean_difference"] = c["mean_difference"]
        for k in ("cohens_d", "cliffs_delta", "aso_eps_min"):
            metrics[f"{base}.{k}"] = c["effect"][k]
        if c["power"]["seeds_needed"] is not None:
            metrics[f"{base}.seeds_needed"] = c["power"]["seeds_needed"]
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and _finite(v)})
    mlflow.log_text(markdown, "report.md")
    mlflow.log_dict(report, "report.json")
    for path, fig in figures.items():
        log_figure(fig, path)


def _finite(value) -> bool:
    import math

    return isinstance(value, (int, float)) and math.isfinite(value)


# ---------------------------------------------------------------- registry and publish


def model_version(name: str, version: str, alias: str = "candidate"):
    """A registered model version by number, else the one carrying ``alias``."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        return client.get_model_version(name, version) if version else client.get_model_version_by_alias(name, alias)
    except MlflowException:
        what = f"version {version}" if version else f"a version with alias {alias!r}"
        raise TrackingError(
            f"registered model {name!r} has no {what}; train with -P register={name} first or pass -P version=<n>"
        ) from None


def alias_version(name: str, alias: str):
    """The version holding ``alias``, or None."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def get_run(run_id: str):
    import mlflow

    return mlflow.get_run(run_id)


def seed_runs(run) -> list:
    """The per-seed runs of the repeat group ``run`` belongs to (itself alone without repeats)."""
    import mlflow

    parent = run.data.tags.get("mlflow.parentRunId")
    if not parent:
        return [run]
    return mlflow.search_runs(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}' AND attributes.status = 'FINISHED'",
        output_format="list",
    )


def load_report(run_id: str) -> dict:
    """``report.json`` of a compare run."""
    import json

    import mlflow

    return json.loads(Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="report.json")).read_text())


def compare_report(compare_run: str, system: str, experiment_id: str) -> tuple[dict, str]:
    """The report of ``compare_run``, or of the newest finished compare run that includes ``system``."""
    import mlflow

    if compare_run:
        candidates = [mlflow.get_run(compare_run)]
    else:
        candidates = mlflow.search_runs(
            experiment_ids=[experiment_id],
            filter_string="tags.`frenk.step` = 'compare' AND attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            output_format="list",
        )
    for run in candidates:
        if system in run.data.tags.get("frenk.systems", "").split(","):
            return load_report(run.info.run_id), run.info.run_id
    raise TrackingError(
        f"no compare report includes the system {system!r}"
        + (f" (compare run {compare_run})" if compare_run else "")
        + "; run `mlflow run . -e compare -P group=<group>` first"
    )


def download_model(name: str, version: str, dst: Path) -> Path:
    """The Hugging Face folder inside a registered pyfunc model (exported, not retrained)."""
    import mlflow

    from .pyfunc_model import ARTIFACT

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(dst)))
    return local / "artifacts" / ARTIFACT


def promote(name: str, version: str, alias: str, tags: dict[str, str], previous, replaced_on: str) -> None:
    """Set ``alias`` on ``version``; the previous holder keeps a dated tag and the alias
    ``previous-<alias>`` so it stays reachable."""
    from mlflow import MlflowClient

    client = MlflowClient()
    if previous is not None and str(previous.version) != str(version):
        client.set_model_version_tag(name, str(previous.version), f"frenk.{alias}_replaced_on", replaced_on)
        client.set_model_version_tag(name, str(previous.version), f"frenk.{alias}_replaced_by", str(version))
        client.set_registered_model_alias(name, f"previous-{alias}", str(previous.version))
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    client.set_registered_model_alias(name, alias, str(version))


def log_publication(folder: Path, tags: dict[str, str]) -> None:
    """The card and the publication record as artifacts of the publish run."""
    import mlflow

    mlflow.set_tags(tags)
    mlflow.log_artifact(str(folder / "README.md"), "model_card")
    mlflow.log_artifact(str(folder / "frenk_publish.json"), "model_card")


# ---------------------------------------------------------------- main (multistep)


def find_reusable(entry_point: str, params: dict[str, object], experiment_id: str, tags: dict[str, str] | None = None):
    """The newest finished run of ``entry_point`` made by this code version with exactly these
    parameter values (and these tags), or None."""
    import mlflow

    from .provenance import code_version

    clauses = [
        f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
        f"tags.`frenk.code_version` = '{code_version()}'",
        "attributes.status = 'FINISHED'",
    ] + [f"tags.`{k}` = '{v}'" for k, v in (tags or {}).items()]
    runs = mlflow.search_runs(experiment_ids=[experiment_id], filter_string=" AND ".join(clauses),
                              order_by=["attributes.start_time DESC"], output_format="list")
    wanted = {k: param_value(v) for k, v in params.items()}
    for run in runs:
        if all(run.data.params.get(k) == v for k, v in wanted.items()):
            return run
    return None


def run_entry_point(project: Path, entry_point: str, params: dict[str, object], experiment_id: str, main_run_id: str):
    """Run an entry point of the project as its own MLflow run (``mlflow run`` semantics, local
    environment) and return that run; tag it with the main run that started it."""
    import mlflow
    import mlflow.projects
    from mlflow.exceptions import ExecutionException

    from .errors import FrenkError

    try:
        submitted = mlflow.projects.run(
            str(project), entry_point=entry_point, parameters={k: param_value(v) for k, v in params.items()},
            experiment_id=experiment_id, env_manager="local", synchronous=True,
        )
    except ExecutionException as exc:
        raise FrenkError(f"the {entry_point} step failed: {exc}") from None
    mlflow.MlflowClient().set_tag(submitted.run_id, "frenk.main_run", main_run_id)
    return mlflow.get_run(submitted.run_id)


def group_train_runs(group: str, experiment_id: str) -> list:
    import mlflow

    return mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.`frenk.step` = 'train' AND tags.`frenk.group` = '{group}'",
        output_format="list",
    )


def version_of(name: str, run_ids: set[str]):
    """The newest registered version of ``name`` made by one of ``run_ids``, or None."""
    from mlflow import MlflowClient

    versions = [v for v in MlflowClient().search_model_versions(f"name='{name}'") if v.run_id in run_ids]
    return max(versions, key=lambda v: int(v.version)) if versions else None
