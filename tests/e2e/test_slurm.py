"""Training fanned out to a real Slurm (CI's one-node cluster, `.ci/slurm-up`): `train -P repeats=3
-P slurm=...` as a 3-task job array and a finishing task ends in the same runs, tags and registered
version as the same command run here. Without sbatch/squeue, or a cluster that does not answer,
these tests are skipped; under CI=true they fail."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time

import mlflow
import pytest

from ..helpers import ROOT, all_runs, mlflow_run, without_mlflow_vars

IN_CI = os.environ.get("CI", "").lower() == "true"
#: tags that differ between two runs of the same command, and the Slurm ones
VARYING = {"frenk.host", "frenk.pid", "frenk.temp_dirs", "frenk.slurm_job", "frenk.slurm_array_index",
           "frenk.slurm_finish_job", "mlflow.parentRunId", "mlflow.source.name", "mlflow.source.type",
           "mlflow.user", "mlflow.log-model.history", "frenk.best_run_id", "mlflow.note.content"}


def _require_slurm() -> None:
    reason = None
    if not (shutil.which("sbatch") and shutil.which("squeue")):
        reason = "sbatch/squeue are not on PATH"
    else:
        answer = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
        if answer.returncode != 0 or not answer.stdout.strip():
            reason = f"the Slurm cluster does not answer ({answer.stderr.strip()[:200]})"
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason}; in CI, .ci/run must start a one-node Slurm (.ci/slurm-up)")
    pytest.skip(f"{reason}: these tests need a Slurm cluster (.ci/slurm-up starts one)")


def _layout(uri: str) -> dict:
    mlflow.set_tracking_uri(uri)
    train = [r for r in all_runs() if r.data.tags.get("frenk.step") == "train"]
    (parent,) = [r for r in train if "frenk.repeats" in r.data.tags]
    seeds = sorted((r for r in train if r is not parent), key=lambda r: int(r.data.tags["frenk.seed"]))
    versions = mlflow.MlflowClient().search_model_versions("name='frenk-hr'")

    def shape(run) -> dict:
        return {"status": run.info.status, "tags": {k: v for k, v in run.data.tags.items() if k not in VARYING},
                "metrics": sorted(run.data.metrics), "params": sorted(run.data.params),
                "artifacts": sorted(a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id))}

    assert all(s.data.tags["mlflow.parentRunId"] == parent.info.run_id for s in seeds)
    best = next(s for s in seeds if s.info.run_id == parent.data.tags["frenk.best_run_id"])
    return {"parent": shape(parent), "seeds": [shape(s) for s in seeds], "versions": len(versions),
            "version_run": best.data.tags["frenk.seed"], "slurm": [s.data.tags.get("frenk.slurm_array_index")
                                                                   for s in seeds]}


@pytest.mark.slow
def test_train_with_repeats_on_slurm_is_an_array_with_the_local_runs_layout_also_when_a_task_is_preempted(
        tmp_path, prepared_sample):
    _require_slurm()
    params = {"model": "tiny", "data": prepared_sample, "repeats": 3, "epochs": 1, "max_length": 32}
    local_uri, slurm_uri = f"sqlite:///{tmp_path}/local.db", f"sqlite:///{tmp_path}/slurm.db"
    local = mlflow_run("train", params, local_uri, tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    (tmp_path / "slurm.toml").write_text('cpus_per_task = 1\ntime = "00:20:00"\n')
    fanned = _preempted_once({**params, "slurm": tmp_path / "slurm.toml"}, slurm_uri, tmp_path)
    assert fanned.returncode == 0, fanned.stderr[-3000:]
    mlflow.set_tracking_uri(slurm_uri)
    tried = mlflow.search_runs(search_all_experiments=True, output_format="list", run_view_type=3,
                               filter_string="tags.`frenk.slurm_array_index` = '0'")
    assert sorted(r.info.lifecycle_stage for r in tried) == ["active", "deleted"]  # the preempted try is gone
    assert "as the Slurm job array" in fanned.stderr + fanned.stdout
    here, there = _layout(local_uri), _layout(slurm_uri)
    assert there["slurm"] == ["0", "1", "2"] and here["slurm"] == [None] * 3
    there["parent"]["params"].remove("slurm") if "slurm" not in here["parent"]["params"] else None
    for side in (here, there):
        side.pop("slurm")
        for run in [side["parent"], *side["seeds"]]:
            run["params"] = [p for p in run["params"] if p != "slurm"]
    assert here == there
    assert here["versions"] == 1
    # compare counts each seed once: the preempted try is deleted, the requeued one is the sample
    from frenk.comparison.selection import select_samples
    from frenk.config import CompareConfig
    from frenk.tracking import search

    samples, _ = select_samples(search.train_runs("", "hr-binary", "", CompareConfig(group="hr-binary").by), ("macro_f1",))
    assert {system: len(runs) for system, runs in samples.items()} == {"tiny": 3}


def _preempted_once(params: dict, uri: str, cwd) -> subprocess.CompletedProcess:
    """The `mlflow run` of ``params``, its array task 0 stopped while it trains by `scancel
    --signal=TERM --batch` (what a preemption sends) and then requeued (`scontrol requeue`); the
    finishing task is held meanwhile, so that it cannot start in between, and Slurm's delay before
    a requeued job starts again is lifted."""
    process, cmd = _started("train", params, uri, cwd)
    try:
        task = _running_task(uri, process, "0")
        finishing = _finishing_job(uri)
        subprocess.run(["scontrol", "hold", finishing], check=True, capture_output=True, timeout=60)
        subprocess.run(["scancel", "--signal=TERM", "--batch", task], check=True, capture_output=True, timeout=60)
        _wait_state(task, lambda state: "RUNNING" not in state and "COMPLETING" not in state)
        subprocess.run(["scontrol", "requeue", task], check=True, capture_output=True, timeout=60)
        _wait_state(task, lambda state: "PENDING" in state)
        subprocess.run(["scontrol", "update", f"jobid={task}", "StartTime=now"], capture_output=True)
        subprocess.run(["scontrol", "release", finishing], check=True, capture_output=True, timeout=60)
        out, err = process.communicate(timeout=1200)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)


def _started(entry_point: str, params: dict, uri: str, cwd) -> tuple[subprocess.Popen, list[str]]:
    """``mlflow run`` of ``params`` started (not waited for), the store's schema made first: the test
    polls the store meanwhile, and two processes creating one SQLite schema at once fail."""
    mlflow.MlflowClient(uri).search_experiments()
    env = {**without_mlflow_vars(), "MLFLOW_TRACKING_URI": uri,
           "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "mlflow", "run", str(ROOT), "-e", entry_point, "--env-manager", "local"]
    for key, value in params.items():
        cmd += ["-P", f"{key}={value}"]
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, cmd


def _wait_state(job: str, reached, seconds: int = 120) -> str:
    """Wait until squeue's state of ``job`` satisfies ``reached`` (a job gone from squeue: "")."""
    state = ""
    for _ in range(seconds * 2):
        state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True).stdout
        if reached(state):
            return state
        time.sleep(0.5)
    pytest.fail(f"Slurm job {job} stayed {state.strip()!r} for {seconds} s")


def _finishing_job(uri: str) -> str:
    """The finishing job of the (one) training of the store, tagged on its parent at submission."""
    client = mlflow.MlflowClient(uri)
    for _ in range(240):
        found = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                   "tags.`frenk.slurm_finish_job` LIKE '%'")
        if found:
            return found[0].data.tags["frenk.slurm_finish_job"]
        time.sleep(0.5)
    pytest.fail("the training's parent run named no finishing job within 2 minutes")


def _running_task(uri: str, process: subprocess.Popen, index: str) -> str:
    """The array task of ``index`` once its seed run trains (``<array job>_<index>``)."""
    client = mlflow.MlflowClient(uri)
    for _ in range(600):
        if process.poll() is not None:
            pytest.fail(f"the training ended before its task could be stopped: {process.stderr.read()[-3000:]}")
        try:
            found = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                       f"tags.`frenk.slurm_array_index` = '{index}' AND attributes.status = 'RUNNING'")
        except Exception:  # the store is being created
            found = []
        if found:
            time.sleep(3)
            return found[0].data.tags["frenk.slurm_job"]
        time.sleep(0.5)
    pytest.fail("no seed task started within 5 minutes")


@pytest.mark.slow
def test_a_seed_task_cancelled_for_good_fails_the_training_and_the_parent_names_the_missing_seed(
        tmp_path, prepared_sample):
    _require_slurm()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    params = {"model": "tiny", "data": prepared_sample, "repeats": 2, "epochs": 1, "max_length": 32, "slurm": "true"}
    process, _ = _started("train", params, uri, tmp_path)
    try:
        task = _running_task(uri, process, "1")
        subprocess.run(["scancel", task], check=True, capture_output=True, timeout=60)
        out, err = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "seeds [43] of the training did not finish" in out + err, err[-3000:]
    mlflow.set_tracking_uri(uri)
    runs = all_runs()
    (parent,) = [r for r in runs if "frenk.repeats" in r.data.tags]
    assert parent.info.status == "FAILED" and parent.data.tags["frenk.missing_seeds"] == "43"
    by_seed = {r.data.tags["frenk.seed"]: r.info.status for r in runs if r is not parent}
    assert by_seed == {"42": "FINISHED", "43": by_seed["43"]} and by_seed["43"] in ("KILLED", "FAILED")
    assert not mlflow.MlflowClient().search_model_versions("name='frenk-hr'")  # nothing registered


def _optuna_storage(tmp_path) -> tuple[dict, dict[str, str]]:
    """The workers' shared storage: a fresh PostgreSQL database where a server is given (always in
    CI; its URL with the password only in the environment, as docs/slurm.md says), else a journal."""
    url = os.environ.get("FRENK_TEST_POSTGRES_URL")
    if not url:
        if IN_CI:
            pytest.fail("FRENK_TEST_POSTGRES_URL is not set; in CI, .ci/run starts PostgreSQL")
        return {"storage": tmp_path / "study.journal"}, {}
    from frenk.core.secret_params import STORAGE_ENV
    from frenk.team.server import create_database, with_database

    name = f"slurm_{secrets.token_hex(4)}"
    create_database(url, name)
    return {}, {STORAGE_ENV: with_database(url, name)}


@pytest.mark.slow
def test_two_tune_workers_on_slurm_train_the_bundled_grid_once_in_all(tmp_path, prepared_sample):
    _require_slurm()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.search_experiments()  # the schema, before the workers start together
    storage, env = _optuna_storage(tmp_path)
    params = {"model": "tiny", "data": prepared_sample, **storage, "seeds": 1, "max_length": 32, "workers": 2,
              "slurm": "true"}
    done = mlflow_run("tune", params, uri, tmp_path, timeout=1200, env_vars=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tune worker(s) of the Slurm job array" in done.stderr + done.stdout
    trials = [r for r in all_runs() if r.data.tags.get("frenk.step") == "tune-trial"]
    assert len(trials) == 9 and {r.info.status for r in trials} == {"FINISHED"}  # tiny's bundled 3 x 3 grid
    assert len({(r.data.params["learning_rate"], r.data.params["epochs"]) for r in trials}) == 9
    tunes = [r for r in all_runs() if r.data.tags.get("frenk.step") == "tune"]
    assert len(tunes) == 3  # one run per worker, and the login node's, which summarises the spent study
    (summary,) = [r for r in tunes if "frenk.slurm_job" not in r.data.tags]  # the login node's
    workers = [r for r in tunes if r is not summary]
    assert sorted(r.data.tags["frenk.slurm_array_index"] for r in workers) == ["0", "1"]
    assert sum(r.data.metrics["new_trainings"] for r in workers) == 9 and summary.data.metrics["new_trainings"] == 0
    assert summary.data.metrics["trials"] == 9
    assert summary.data.params.keys() >= {"best.learning_rate", "best.epochs"}  # what train -P params= reads


@pytest.mark.slow
def test_main_on_slurm_trains_every_model_as_an_array_and_compares_in_a_task_after_them(tmp_path):
    _require_slurm()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out = tmp_path / "hf"
    # force: whether 3 seeds of the tiny smoke model beat TF-IDF's mean is chance (the gate is tested elsewhere)
    params = {"lang": "hr", "data": "sample", "models": "tiny,tfidf", "repeats": 3, "output": out,
              "data_dir": tmp_path / "data", "force": "true", "slurm": "true"}
    first = mlflow_run("main", params, uri, tmp_path, timeout=1500)
    assert first.returncode == 0, first.stderr[-4000:]
    assert "5 steps, 0 reused" in first.stdout, first.stdout[-2000:]
    mlflow.set_tracking_uri(uri)
    runs = all_runs()
    assert {r.info.status for r in runs} == {"FINISHED"}
    parents = [r for r in runs if r.data.tags.get("frenk.step") == "train" and "frenk.repeats" in r.data.tags]
    assert sorted(p.data.tags["frenk.model"] for p in parents) == ["tfidf", "tiny"]
    finishing = [p.data.tags["frenk.slurm_finish_job"] for p in parents]
    # compare waited for both finishing tasks in Slurm (afterok), and ran as a task of its own
    line = next(x for x in first.stdout.splitlines() if "compare: a Slurm task after the finishing jobs" in x)
    assert sorted(line.split("finishing jobs ")[1].split(", ")) == sorted(finishing)
    for parent in parents:
        seeds = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert sorted(s.data.tags["frenk.slurm_array_index"] for s in seeds) == ["0", "1", "2"]
    (cmp,) = [r for r in runs if r.data.tags.get("frenk.step") == "compare"]
    (main_run,) = [r for r in runs if r.data.tags.get("frenk.step") == "main"]
    assert cmp.data.tags["frenk.main_run"] == main_run.info.run_id
    assert cmp.info.start_time >= max(r.info.end_time for r in runs if "frenk.slurm_array_index" in r.data.tags)
    assert mlflow.MlflowClient().get_model_version_by_alias("frenk-hr", "champion")
    assert (out / "model.safetensors").is_file()
    # a rerun reuses every step, the Slurm trainings included (where it runs is not what it computes)
    second = mlflow_run("main", params, uri, tmp_path, timeout=600)
    assert second.returncode == 0 and "5 steps, 5 reused" in second.stdout, second.stderr[-3000:]
