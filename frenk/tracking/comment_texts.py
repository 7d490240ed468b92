"""The text of the test comments a compare run's stability table shows: predictions.parquet holds
ids, labels and predictions, not the comments, so they are read from the prepared data folder the
train runs logged as their test dataset input (``file://.../test.parquet``), when that folder is
on this machine and still holds the same test split (its digest in manifest.json matches the one
the run logged)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import pandas as pd

from ..core.errors import DataError
from ..data.prepared import canonical_digest, read_manifest

log = logging.getLogger(__name__)

CONTEXT = "mlflow.data.context"


def test_file(run_id: str) -> tuple[Path, str] | None:
    """The local test.parquet a train run logged as its test input, and the digest it logged; None
    when it logged none or not a local file (data prepared in-process, e.g. data=sample)."""
    try:
        inputs = mlflow.get_run(run_id).inputs
    except mlflow.exceptions.MlflowException:
        return None
    for item in getattr(inputs, "dataset_inputs", None) or []:
        tags = {t.key: t.value for t in item.tags}
        if tags.get(CONTEXT) != "test":
            continue
        try:
            uri = json.loads(item.dataset.source).get("uri", "")
        except (TypeError, ValueError, AttributeError):
            return None
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            return None
        return Path(unquote(parsed.path)), tags.get("sha256", "")
    return None


def comment_texts(run_ids: list[str]) -> tuple[dict, dict[int, str], str]:
    """The test comments' texts by id and the gold label names by code, from the prepared folder
    of the first of ``run_ids`` that names one that is here and unchanged; and where they came
    from (or why there are none), in words."""
    why = "the runs logged no local test file (data prepared in-process, e.g. data=sample)"
    for run_id in run_ids:
        found = test_file(run_id)
        if found is None:
            continue
        path, digest = found
        try:
            manifest = read_manifest(path.parent)
            frame = pd.read_parquet(path)
        except (DataError, OSError, ValueError) as exc:
            why = f"{path} cannot be read here ({type(exc).__name__})"
            continue
        if digest and (manifest["digests"].get("test") != digest or canonical_digest(frame) != digest):
            why = f"{path} no longer holds the test split the runs used (its digest differs)"
            continue
        names = dict(zip(frame["label"].astype(int), frame["label_name"].astype(str), strict=True)) \
            if "label_name" in frame.columns else {}
        return dict(zip(frame["id"], frame["text"].astype(str), strict=True)), names, f"texts from {path}"
    log.info(f"stability.json without the comments' texts: {why}")
    return {}, {}, f"texts not shown: {why}"
