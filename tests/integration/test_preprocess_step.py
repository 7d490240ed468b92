"""The preprocess step with a real (temporary) MLflow store, and through `mlflow run`."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner

from frenk.config import PreprocessConfig
from frenk.steps import preprocess

from ..helpers import ROOT, all_runs, mlflow_run


def test_preprocess_logs_datasets_and_artifacts(mlflow_store, tmp_path):
    result = preprocess(PreprocessConfig(source="sample", lang="en", output=str(tmp_path / "out")))
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["frenk.step"] == "preprocess" and tags["frenk.lang"] == "en" and tags["frenk.labels"] == "binary"
    assert tags["frenk.data_digest"] == result.data.data_digest
    assert run.data.params["seed"] == "42" and run.data.params["source"] == "sample"
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"frenk-en-train", "frenk-en-validation", "frenk-en-test"}
    test_input = inputs["frenk-en-test"]
    assert {t.key: t.value for t in test_input.tags}["sha256"] == result.data.manifest["digests"]["test"]
    assert test_input.dataset.digest == result.data.manifest["digests"]["test"][:32]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id)}
    assert {"manifest.json", "label_distribution.csv", "label_distribution.png", "label_distribution.json"} <= artifacts
    local = mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path="manifest.json")
    assert json.loads(Path(local).read_text()) == json.loads((tmp_path / "out" / "manifest.json").read_text())


def _cli():
    from importlib import util

    spec = util.spec_from_file_location("entry_preprocess", ROOT / "entrypoints" / "preprocess.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_bad_input_exits_non_zero_and_writes_nothing(mlflow_store, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pd.DataFrame({"text": ["a b c", "d e f"], "label": ["Acceptable", float("nan")], "topic": "lgbt", "split": "train"}).to_csv(
        src / "lgbt.csv", index=False
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["--source", str(src), "--output", str(out)])
    assert result.exit_code == 2
    assert "lgbt.csv, row 2: label is missing" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert mlflow.search_runs(search_all_experiments=True).empty


@pytest.mark.slow
def test_mlflow_run_preprocess_end_to_end(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out = tmp_path / "data" / "hr"
    proc = mlflow_run("preprocess", {"lang": "hr", "source": "sample", "output": out, "seed": 7}, uri, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == {"train.parquet", "validation.parquet", "test.parquet", "manifest.json"}
    mlflow.set_tracking_uri(uri)
    runs = all_runs(filter_string="tags.`frenk.step` = 'preprocess'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["seed"] == "7"
    assert len(runs[0].inputs.dataset_inputs) == 3
