"""Issue 22 (done when): `mlflow run . -e evaluate -P model=models:/frenk-hr@champion -P data=<an sl
sample folder> --env-manager local` logs an evaluation run linked from the model version."""

from __future__ import annotations

import os

import mlflow
import pytest

from frenk.config import TrainConfig
from frenk.data import PreprocessOptions, prepare, write_prepared
from frenk.steps import train

from ..helpers import FAST, all_runs, mlflow_run


@pytest.mark.slow
def test_mlflow_run_evaluate_logs_a_run_linked_from_the_champion(tmp_path, prepared_sample, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    mlflow.set_tracking_uri(uri)
    trained = train(TrainConfig(model="tiny", data=str(prepared_sample), args=FAST))
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("frenk-hr", "champion", trained.registered_version)
    sl = write_prepared(prepare(PreprocessOptions(lang="sl", source="sample")), tmp_path / "data" / "sl")

    proc = mlflow_run("evaluate", {"model": "models:/frenk-hr@champion", "data": sl}, uri, tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"evaluated frenk-hr version {trained.registered_version} on {sl}" in proc.stdout + proc.stderr
    (run,) = all_runs(filter_string="tags.`frenk.step` = 'evaluate'")
    assert run.data.tags["mlflow.project.entryPoint"] == "evaluate" and run.info.status == "FINISHED"
    assert run.data.tags["frenk.model_version"] == trained.registered_version and run.data.tags["frenk.lang"] == "sl"
    # the run goes to the experiment of the version's train run (frenk-hr-binary), not MLflow's default
    assert run.info.experiment_id == client.get_run(trained.best.run_id).info.experiment_id != "0"
    assert 0 <= run.data.metrics["test/macro_f1"] <= 1
    version = client.get_model_version("frenk-hr", trained.registered_version)
    assert version.tags["frenk.evaluate_runs"] == run.info.run_id
    assert f"/runs/{run.info.run_id}?workflowType=machine_learning)" in version.description
    assert "predictions.parquet" in {a.path for a in client.list_artifacts(run.info.run_id)}

    refused = mlflow_run("evaluate", {"model": "models:/frenk-hr/99", "data": sl}, uri, tmp_path)
    assert refused.returncode != 0
    lines = [line for line in refused.stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(lines) == 1 and "has no version 99" in lines[0]
    names = sorted(r.info.run_name for r in all_runs(filter_string="tags.`frenk.step` = 'evaluate'"))
    assert names == ["evaluate-frenk-hr-v1-sl", "evaluate-refused"]
    assert os.listdir(tmp_path / "data") == ["sl"]
