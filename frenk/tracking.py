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
    mlflow.set_tracking_uri(uri)
    check_reachable(uri)
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

    configure()
    with mlflow.start_run(run_name=run_name, nested=nested, tags=tags) as run:
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


def log_frame_dataset(frame: pd.DataFrame, *, name: str, source: str, context: str, digest: str) -> None:
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
    lang = manifest["parameters"]["lang"]
    for split, frame in data.splits.items():
        log_frame_dataset(
            frame,
            name=f"frenk-{lang}-{split}",
            source=(Path(output).resolve() / f"{split}.parquet").as_uri(),
            context=split,
            digest=manifest["digests"][split],
        )
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
