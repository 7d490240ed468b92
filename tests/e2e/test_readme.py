"""The README's Run block, run as a newcomer would: every command of its first code block, in
order, on a fresh copy of the project (the commands are read from the README, not copied here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import mlflow
import pytest

from ..helpers import ROOT, all_runs, without_mlflow_vars

SKIP = shutil.ignore_patterns(".git", ".venv", "mlflow.db", "mlruns", "mlartifacts", "data", "outputs", "__pycache__",
                              "optuna.journal*", "*.egg-info", ".pytest_cache")


def run_block_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Run\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_run_block_is_what_this_test_runs():
    commands = run_block_commands()
    assert commands and all(c.startswith("mlflow run . -e ") for c in commands)
    steps = [c.split()[4] for c in commands]
    assert steps == ["preprocess", "train", "train", "tune", "compare", "publish", "main"]


@pytest.mark.slow
def test_the_readme_run_block_works_top_to_bottom(tmp_path):
    project = tmp_path / "frenk"
    shutil.copytree(ROOT, project, ignore=SKIP)
    env = without_mlflow_vars()  # the README's default store
    env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"
    for command in run_block_commands():
        proc = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert (project / "outputs" / "hf-model" / "model.safetensors").is_file()
    mlflow.set_tracking_uri(f"sqlite:///{project}/mlflow.db")
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias("frenk-hr", "champion")
    assert champion.tags["frenk.model"] == "tiny" and champion.description
    assert "to `@champion`" in champion.description and "Trained as:" in champion.description
    # every run of the block (all through `mlflow run`) is in the experiment of hr/binary, which says what it holds
    experiment = client.get_experiment_by_name("frenk-hr-binary")
    assert experiment is not None and "Croatian" in experiment.tags["mlflow.note.content"]
    runs = all_runs()
    assert {r.info.experiment_id for r in runs} == {experiment.experiment_id}
    described = [r for r in runs if r.data.tags.get("frenk.step") in ("compare", "publish", "main")
                 or "frenk.repeats" in r.data.tags]
    assert described and all(r.data.tags.get("mlflow.note.content") for r in described)
    assert "compare-hr-binary" in {r.info.run_name for r in runs}
    # #22: the compare run logs the stability of the predictions, with the comments' texts from data/hr
    for compared in [r for r in runs if r.data.tags.get("frenk.step") == "compare"]:
        assert {"stability.json", "flips.md"} <= {a.path for a in client.list_artifacts(compared.info.run_id)}
        assert "texts from " in mlflow.artifacts.load_text(f"runs:/{compared.info.run_id}/flips.md")
    assert client.get_model_version_by_alias("frenk-hr", "baseline").tags["frenk.model"] == "tfidf"
    # the bundled 3 x 3 grid, each configuration raced over up to 3 tuning seeds; the best has all 3
    trials = [r for r in runs if r.data.tags.get("frenk.step") == "tune-trial"]
    assert len(trials) == 9 and all(r.data.tags.get("frenk.seeds", "").startswith("1000000") for r in trials)
    (tune_run,) = [r for r in runs if r.data.tags.get("frenk.step") == "tune"]
    best = next(r for r in trials if r.data.tags["frenk.trial"] == tune_run.data.tags["frenk.best_trial"])
    assert best.data.tags["frenk.seeds"] == "1000000,1000001,1000002"
