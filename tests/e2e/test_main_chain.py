"""`mlflow run . -e main` end to end on CPU: the whole chain, then a rerun that reuses every step."""

from __future__ import annotations

import shutil

import mlflow
import pytest
import yaml

from frenk.config import MainConfig
from frenk.core.errors import ConfigError

from ..helpers import ROOT, all_runs, mlflow_run


def test_main_config_validation():
    with pytest.raises(ConfigError, match="at least two models"):
        MainConfig(models="tiny")
    # issue 10: at least 3 seeds (was 2), 10 by default (was 5), as in MLproject
    for too_few in (1, 2):
        with pytest.raises(ConfigError, match="at least 3 seeds per model.*repeats=10"):
            MainConfig(repeats=too_few)
    assert MainConfig().repeats == 10 == MainConfig(repeats=3).repeats + 7
    spec = yaml.safe_load((ROOT / "MLproject").read_text())
    assert spec["entry_points"]["main"]["parameters"]["repeats"]["default"] == 10
    assert MainConfig(tune=True).tune


@pytest.mark.slow
def test_main_runs_the_chain_and_a_rerun_reuses_every_step(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out, data = tmp_path / "hf", tmp_path / "data"
    # force: whether 3 seeds of the tiny smoke model beat TF-IDF's mean is chance (the gate is tested in test_publish)
    params = {"lang": "hr", "data": "sample", "models": "tiny,tfidf", "repeats": 3, "output": out, "data_dir": data,
              "force": "true"}

    def run():
        proc = mlflow_run("main", params, uri, tmp_path, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-4000:]
        return proc.stdout

    first = run()
    assert first.count("running") == 5 and "5 steps, 0 reused" in first
    mlflow.set_tracking_uri(uri)
    steps = {r.data.tags.get("frenk.step") for r in all_runs()}
    assert {"main", "preprocess", "train", "compare", "publish"} <= steps
    champion = mlflow.MlflowClient().get_model_version_by_alias("frenk-hr", "champion")
    assert champion.tags["frenk.model"] == "tiny"
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()

    second = run()
    assert "5 steps, 5 reused" in second and "running" not in second

    shutil.rmtree(out)  # as if publishing had failed: the rerun continues there
    third = run()
    assert "5 steps, 4 reused" in third and "frenk: main: publish: running" in third
    assert (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_main_with_tune_trains_the_tuned_model_with_its_best_parameters(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    # force: the gate never promotes a mean below the baseline's, which the tiny smoke model may have
    params = {"lang": "hr", "data": "sample", "models": "tiny,tfidf", "repeats": 3, "tune": "true", "tune_seeds": 1,
              "force": "true", "output": tmp_path / "hf", "data_dir": tmp_path / "data"}
    proc = mlflow_run("main", params, uri, tmp_path, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "frenk: main: tune: running" in proc.stdout and "6 steps, 0 reused" in proc.stdout
    mlflow.set_tracking_uri(uri)
    runs = all_runs()
    (tune_run,) = [r for r in runs if r.data.tags.get("frenk.step") == "tune"]
    tiny = [r for r in runs if r.data.tags.get("frenk.step") == "train" and r.data.tags.get("frenk.model") == "tiny"
            and "frenk.repeats" in r.data.tags]
    assert tiny and tiny[0].data.tags["frenk.tune_run"] == tune_run.info.run_id
    assert tiny[0].data.params["params"] == tune_run.info.run_id
    assert tune_run.data.params["seeds"] == "1"  # main's tune_seeds reached the study
    card = (tmp_path / "hf" / "README.md").read_text()
    assert f"tune run `{tune_run.info.run_id}`" in card
    assert f"tiny: tune run {tune_run.info.run_id}: 9 trials x 1 seed (9 trainings)" in card
    assert "tfidf: untuned (the preset's defaults)" in card
