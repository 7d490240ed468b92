"""The evaluate step's MLflow side: the registered version a model URI names, its weights folder,
what an evaluate run logs, the version's links to its evaluate runs (a tag and a line appended
to its description), and those runs as the model card lists them."""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..comparison.evaluation_table import evaluation_table
from ..comparison.tables import to_latex, to_markdown
from ..core.errors import ConfigError, TrackingError
from ..core.names import Metric, Tag, search_tag
from ..publishing.out_of_domain import OutOfDomainRow
from ..training.plots import confusion_matrix
from . import metric_names, registry
from .locks import check_model_name
from .results import log_figure, log_frame_dataset, log_results, run_link
from .runs import log_params

_ALIAS = re.compile(r"^models:/([^/@]+)@([^/@]+)$")
_VERSION = re.compile(r"^models:/([^/@]+)/([0-9]+)$")
_RUN = re.compile(r"^(?:runs:/)?([0-9a-f]{32})(?:/.*)?$")
#: what ``model=`` takes, for the refusals
FORMS = "models:/<name>@<alias>, models:/<name>/<version>, a train run id or runs:/<train run id>/<path>"


def resolve_version(uri: str):
    """The registered model version ``uri`` names (see :data:`FORMS`); a one-line refusal otherwise."""
    client = MlflowClient()
    where = f"in the tracking store {mlflow.get_tracking_uri()}"
    if match := _ALIAS.match(uri) or _VERSION.match(uri):
        name, ref = match.groups()
        check_model_name(name)
        try:
            return (client.get_model_version_by_alias(name, ref) if uri.startswith(f"models:/{name}@")
                    else client.get_model_version(name, ref))
        except MlflowException:
            what = f"alias {ref!r}" if "@" in uri else f"version {ref}"
            raise TrackingError(f"model={uri}: registered model {name!r} has no {what} {where}; check the name and "
                                "the version in the MLflow UI (Models), or MLFLOW_TRACKING_URI") from None
    if match := _RUN.match(uri):
        return _version_of_run(uri, match.group(1), client)
    raise ConfigError(f"model={uri!r} is not a model URI; give {FORMS}")


def _version_of_run(uri: str, run_id: str, client: MlflowClient):
    """The newest version registered from train run ``run_id`` or from one of its seed runs."""
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise TrackingError(f"model={uri}: no run {run_id} in the tracking store {mlflow.get_tracking_uri()}; "
                            f"check the run id, or give {FORMS}") from None
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    versions = [v for rid in [run_id, *(c.info.run_id for c in children)]
                for v in client.search_model_versions(f"run_id = '{rid}'")]
    if not versions:
        raise TrackingError(f"model={uri}: run {run_id} registered no model version (train -P register=<name> "
                            "registers its best seed); evaluate a registered version, models:/<name>/<version>")
    return max(versions, key=lambda v: (v.name, int(v.version)))


def train_run(mv):
    """The train run a version was registered from (None when it is gone or was not a run's)."""
    try:
        return mlflow.get_run(mv.run_id) if mv.run_id else None
    except MlflowException:
        return None


def download_weights(mv, dst: Path) -> Path:
    """The weights folder inside the registered version (MLflow's artifacts; nothing is loaded here)."""
    return registry.download_model(mv.name, str(mv.version), dst)


def log_evaluation(evaluation, predictions: pd.DataFrame, data, system: str, params: dict, run_id: str) -> None:
    """What an evaluate run logs: parameters, the scored data as a dataset input, and, with labels,
    the same metrics, results table, confusion matrix and predictions as a train run's test (and
    the one-row ``results_table.md``/``.tex``/``.json``); without labels the predictions only."""
    log_params(params)
    if data.labelled:  # an MLflow dataset has targets; a file without labels is in the tags and predictions
        source = Path(data.folder or params["data"]).resolve().as_uri()
        log_frame_dataset(data.frame, name=f"evaluate-{data.lang or 'file'}-{data.split}", source=source,
                          context="evaluation", digest=data.split_digest)
    mlflow.log_metric("evaluate/n_comments", len(data.frame))
    if evaluation is not None:
        log_results(evaluation.metrics)
        mlflow.set_tags(metric_names.scored_classes_tag(evaluation.scored_classes))
        log_figure(confusion_matrix(evaluation.confusion, evaluation.class_names), "confusion_matrix.png")
        core = {m: evaluation.metrics[f"test_{m}"] for m in ("macro_f1", "accuracy")}
        table = evaluation_table(system, core, len(data.frame), data.description, (run_id,),
                                 data.mapping)
        mlflow.log_text(to_markdown(table), "results_table.md")
        mlflow.log_text(to_latex(table), "results_table.tex")
        mlflow.log_dict(table.to_dict(), "results_table.json")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.parquet"
        predictions.to_parquet(path, index=False)
        mlflow.log_artifact(str(path))
    mlflow.log_table(_plain(predictions), "predictions.json")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: v if isinstance(v, (str, int, float)) or v is None else str(v))
    return out


def link_version(mv, run_id: str, line: str) -> None:
    """The version names the evaluate run: its id added to the tag ``frenk.evaluate_runs`` and a
    line with the run's link appended to its description (what it said stays)."""
    client = MlflowClient()
    current = client.get_model_version(mv.name, str(mv.version))
    ids = [r for r in (current.tags.get(Tag.EVALUATE_RUNS) or "").split(",") if r]
    if run_id not in ids:
        ids.append(run_id)
    client.set_model_version_tag(mv.name, str(mv.version), Tag.EVALUATE_RUNS, ",".join(ids)[-5000:])
    own = (current.description or "").rstrip()
    text = f"Evaluated out of domain: {line} Run {run_link(run_id)}."
    client.update_model_version(mv.name, str(mv.version), description=f"{own}\n\n{text}" if own else text)


def out_of_domain_rows(name: str, version: str) -> list[OutOfDomainRow]:
    """The finished evaluate runs of ``name`` version ``version`` with gold labels, oldest first."""
    filters = " AND ".join([f"{search_tag(Tag.STEP)} = 'evaluate'", f"{search_tag(Tag.EVALUATED_MODEL)} = '{name}'",
                            f"{search_tag(Tag.MODEL_VERSION)} = '{version}'", "attributes.status = 'FINISHED'"])
    found = mlflow.search_runs(search_all_experiments=True, filter_string=filters, output_format="list",
                               order_by=["attributes.start_time ASC"])
    rows = []
    for run in found:
        tags, metrics = run.data.tags, metric_names.library_names(run.data.metrics)
        if tags.get(Tag.PREDICTIONS_ONLY) == "true":
            continue
        rows.append(OutOfDomainRow(
            run.info.run_id, run.info.run_name or "", (run.data.params.get("data") or "?").strip("'"),
            tags.get(Tag.DATA_DIGEST, "?"),
            tags.get(Tag.LANG, "?"), tags.get(Tag.TOPICS, ""), tags.get(Tag.LABEL_MAPPING, "none"),
            int(metrics.get("evaluate/n_comments", 0)), metrics.get(Metric.TEST_MACRO_F1, math.nan),
            metrics.get(Metric.TEST_ACCURACY, math.nan),
            _page(run)))
    return rows


def _page(run) -> str:
    """The run's page in the MLflow UI of a tracking server (empty for a local store: a card has no UI to link)."""
    uri = mlflow.get_tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return ""
    parts = urlsplit(uri)  # no user or password in a link on the card
    host = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    return (f"{parts.scheme}://{host}{parts.path.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/"
            f"{run.info.run_id}?workflowType=machine_learning")
