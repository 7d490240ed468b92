"""`mlflow run . -e main` end to end on CPU: the whole chain, then a rerun that reuses every step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from frenk.config import MainConfig
from frenk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_main_config_validation():
    with pytest.raises(ConfigError, match="at least two models"):
        MainConfig(models="tiny")
    with pytest.raises(ConfigError, match="at least 2 seeds"):
        MainConfig(repeats=1)
    with pytest.raises(ConfigError, match="tune step is not implemented"):
        MainConfig(tune=True)


@pytest.mark.slow
def test_main_runs_the_chain_and_a_rerun_reuses_every_step(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path}/mlflow.db"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    out, data = tmp_path / "hf", tmp_path / "data"
    cmd = [sys.executable, "-m", "mlflow", "run", str(ROOT), "-e", "main", "-P", "lang=hr", "-P", "data=sample",
           "-P", "models=tiny,tfidf", "-P", "repeats=3", "-P", f"output={out}", "-P", f"data_dir={data}",
           "--env-manager", "local"]

    def run():
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-4000:]
        return proc.stdout

    first = run()
    assert first.count("running") == 5 and "5 steps, 0 reused" in first
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    steps = {r.data.tags.get("frenk.step") for r in mlflow.search_runs(search_all_experiments=True, output_format="list")}
    assert {"main", "preprocess", "train", "compare", "publish"} <= steps
    champion = mlflow.MlflowClient().get_model_version_by_alias("frenk-hr", "champion")
    assert champion.tags["frenk.model"] == "tiny"
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()

    second = run()
    assert "5 steps, 5 reused" in second and "running" not in second

    shutil.rmtree(out)  # as if publishing had failed: the rerun continues there
    third = run()
    assert "5 steps, 4 reused" in third and "[main] publish: running" in third
    assert (out / "model.safetensors").is_file()
