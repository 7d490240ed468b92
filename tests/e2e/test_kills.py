"""Kills leave no ghosts (issue 19, point 4): a compare, publish or tune killed while its run
exists is found by the next step's orphan scan (its run FAILED, its temporary and staging
folders removed); a SIGTERM of publish stops cleanly (exit 130), and one that arrives while the
promotion runs waits for it; a publish killed between moving its folder and moving the alias is
completed by the next one. Real processes and signals: each child runs the step's entry point
with one library function wrapped so that it stops at the moment the test is about."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from frenk.config import CompareConfig, PublishConfig
from frenk.tracking import registry

from ..helpers import ROOT, compared_store

#: the child: ``CHILD hook marker step args...``: wrap one function (the hook), then run the entry point
CHILD = r'''
import pathlib, runpy, sys, time
hook, marker, step = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]

def stop_here(label):  # tell the test, then wait to be killed
    marker.write_text(label)
    time.sleep(600)

if hook == "download":  # the step's run, its staging and temporary folders exist
    import mlflow.artifacts
    real_download = mlflow.artifacts.download_artifacts
    def download(*args, **kwargs):
        path = real_download(*args, **kwargs)
        if kwargs.get("artifact_path") == "predictions.parquet" or str(kwargs.get("artifact_uri")).startswith("models:/"):
            stop_here("download")
        return path
    mlflow.artifacts.download_artifacts = download
elif hook == "tune":  # a trial has written its model into the tune's work folder
    import frenk.steps.tune
    tune_step = sys.modules["frenk.steps.tune"]  # the module (frenk.steps.tune is also the step's function)
    def search(spec, data, plan, work_root, listeners):
        (work_root / "trial-0-x").mkdir()
        (work_root / "trial-0-x" / "model.safetensors").write_bytes(b"0" * 220_000)
        stop_here("tune")
    tune_step.search = search
elif hook in ("promote-slow", "promote-never"):  # the folder is in place, the alias not moved yet
    from frenk.tracking import registry
    real_promote = registry.promote
    def promote(*args, **kwargs):
        if hook == "promote-never":
            stop_here("promote")
        marker.write_text("promote")
        time.sleep(4)  # a SIGTERM arrives meanwhile
        return real_promote(*args, **kwargs)
    registry.promote = promote
elif hook == "barrier":  # both publishes have read the champion before either may take the lock
    import contextlib, os
    from frenk.tracking import locks
    real_lock = locks.promotion_lock
    @contextlib.contextmanager
    def lock(name, purpose, wait_s=None):
        if purpose.startswith("publish run"):
            (marker / str(os.getpid())).touch()
            deadline = time.monotonic() + 600
            while len(list(marker.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
        with real_lock(name, purpose, wait_s):
            yield
    locks.promotion_lock = lock
sys.argv = [step, *sys.argv[4:]]
runpy.run_path(__import__("os").environ["FRENK_ROOT"] + f"/entrypoints/{step}.py", run_name="__main__")
'''


def child_env(tmpdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=os.environ["MLFLOW_TRACKING_URI"], PYTHONPATH=str(ROOT), FRENK_ROOT=str(ROOT),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TMPDIR=str(tmpdir))
    return env


def spawn_step(hook: str, marker: Path, step: str, args: list[str], tmpdir: Path, log: Path) -> subprocess.Popen:
    """``python entrypoints/<step>.py args`` with ``hook`` wrapped (see CHILD), in the store's folder."""
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-c", CHILD, hook, str(marker), step, *args], cwd=Path.cwd(),
                                env=child_env(tmpdir), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def wait_for(marker: Path, proc: subprocess.Popen, log: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"the child did not reach its stop: {log.read_text()[-3000:]}"
        time.sleep(0.2)


def running_runs() -> list:
    return mlflow.search_runs(search_all_experiments=True, output_format="list",
                              filter_string="attributes.status = 'RUNNING'")


def staging_beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture(scope="module")
def store(tmp_path_factory, prepared_sample):
    """tfidf (version 1) and tiny (version 2), two seeds each, and a compare run, in the working directory."""
    root = tmp_path_factory.mktemp("kills")
    with compared_store(root, prepared_sample, 2) as state:
        yield {**state, "data": prepared_sample}


def _killed(hook: str, step: str, args: list[str], tmp_path: Path, downloading: bool = True) -> tuple[Path, str]:
    """Run ``step`` until ``hook`` stops it, SIGKILL it; returns its TMPDIR and the id of its (RUNNING) run."""
    child_tmp, marker, log = tmp_path / "child-tmp", tmp_path / "stopped", tmp_path / "child.log"
    child_tmp.mkdir()
    proc = spawn_step(hook, marker, step, args, child_tmp, log)
    try:
        wait_for(marker, proc, log)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (ghost,) = running_runs()
    tags = ghost.data.tags
    assert tags["frenk.step"] == step and tags["frenk.pid"] == str(proc.pid)  # recorded at the start, not the end
    assert tags["frenk.host"] and tags["frenk.temp_dirs"]
    if downloading:
        assert os.listdir(child_tmp), "the killed step left no temporary folder: the test stopped it at the wrong point"
    return child_tmp, ghost.info.run_id


@pytest.mark.slow
def test_a_killed_compare_is_cleaned_up_by_the_next_step(store, tmp_path, capsys):
    from frenk.steps import compare

    child_tmp, ghost = _killed("download", "compare", ["--group", "hr-binary"], tmp_path)
    assert any(child_tmp.glob("frenk-compare-*/*/predictions.parquet"))
    compare(CompareConfig(group="hr-binary"))
    assert "marked 1 orphaned run(s) FAILED" in capsys.readouterr().out
    assert mlflow.get_run(ghost).info.status == "FAILED" and running_runs() == []
    assert os.listdir(child_tmp) == []


@pytest.mark.slow
def test_a_killed_tune_leaves_no_work_folder(store, tmp_path):
    from frenk.tracking import runs

    child_tmp, ghost = _killed("tune", "tune", ["--model", "tiny", "--data", str(store["data"]), "--trials", "1"],
                               tmp_path)
    assert any(child_tmp.glob("frenk-tune-*/trial-0-x/model.safetensors"))
    runs.start_step()  # what any step does first
    assert mlflow.get_run(ghost).info.status == "FAILED" and running_runs() == []
    assert os.listdir(child_tmp) == []


@pytest.mark.slow
def test_a_killed_publish_leaves_no_staging_and_the_next_publish_works(store, tmp_path, capsys):
    from frenk.steps import publish

    out = store["root"] / "hf-killed"
    child_tmp, ghost = _killed("download", "publish", ["--output", str(out), "--force", "true"], tmp_path)
    assert staging_beside(out) and any(child_tmp.glob("frenk-publish-*"))
    assert not out.exists() and registry.alias_version("frenk-hr", "champion") is None
    outcome = publish(PublishConfig(output=str(out), force=True))
    assert "marked 1 orphaned run(s) FAILED" in capsys.readouterr().out
    assert mlflow.get_run(ghost).info.status == "FAILED" and running_runs() == []
    assert os.listdir(child_tmp) == [] and staging_beside(out) == []
    assert json.loads((out / "frenk_publish.json").read_text())["version"] == outcome.version == "2"
    # a staging folder whose run was never recorded (killed before the run could note it) goes by its name
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from frenk.core.files import staging_prefix

    stray = out.parent / (staging_prefix(out).replace(f".{os.getpid()}.", f".{dead.pid}.") + "abc123")
    (stray / "x").mkdir(parents=True)
    live = out.parent / (staging_prefix(out) + "live")  # this process's own: alive, left alone
    live.mkdir()
    publish(PublishConfig(output=str(out), force=True))
    assert not stray.exists() and live.exists()
    live.rmdir()


def _sigterm_publish(hook: str, out: Path, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    child_tmp, marker, log = tmp_path / "child-tmp", tmp_path / "stopped", tmp_path / "child.log"
    child_tmp.mkdir()
    proc = spawn_step(hook, marker, "publish", ["--output", str(out), "--force", "true"], child_tmp, log)
    try:
        wait_for(marker, proc, log)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert proc.returncode == 130, text[-3000:]
    assert "frenk: interrupted (received signal SIGTERM)" in text and "Traceback" not in text, text[-3000:]
    assert os.listdir(child_tmp) == [] and staging_beside(out) == [] and running_runs() == []
    return proc, text


def _champion():
    holder = registry.alias_version("frenk-hr", "champion")
    return None if holder is None else str(holder.version)


@pytest.mark.slow
def test_sigterm_of_publish_exits_130_and_changes_nothing_or_everything(store, tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    before = _champion()
    out = store["root"] / "hf-term"
    _sigterm_publish("download", out, tmp_path / "a")  # while exporting: nothing changed
    (stopped,) = mlflow.search_runs(search_all_experiments=True, output_format="list",
                                    filter_string="tags.`frenk.step` = 'publish' AND attributes.status = 'KILLED'")
    assert not out.exists() and _champion() == before
    # while promoting: the promotion finishes first, then the process stops
    _sigterm_publish("promote-slow", out, tmp_path / "b")
    record = json.loads((out / "frenk_publish.json").read_text())
    assert _champion() == record["version"] == "2" and "pending" not in record
    assert mlflow.get_run(record["publish_run_id"]).info.status == "FINISHED"
    assert registry.alias_version("frenk-hr", "champion").tags["frenk.published_to"] == str(out.resolve())


@pytest.mark.slow
def test_a_publish_killed_between_folder_and_alias_is_completed_by_the_next(store, tmp_path, capsys):
    from frenk.steps import publish

    client = mlflow.MlflowClient()
    if _champion():  # a store where no version is champion yet
        client.delete_registered_model_alias("frenk-hr", "champion")
    out = store["root"] / "hf-half"
    child_tmp, ghost = _killed("promote-never", "publish", ["--output", str(out), "--force", "true"], tmp_path,
                               downloading=False)
    record = json.loads((out / "frenk_publish.json").read_text())
    assert record["version"] == "2" and record["pending"]["alias"] == "champion"  # the folder is ahead
    assert _champion() is None
    publish(PublishConfig(output=str(out), force=True))
    printed = capsys.readouterr().out
    assert f"completed the promotion of frenk-hr version 2 to @champion that publish run {ghost} left half-done" in printed
    record = json.loads((out / "frenk_publish.json").read_text())
    assert _champion() == record["version"] == "2" and "pending" not in record
    assert os.listdir(child_tmp) == [] and staging_beside(out) == [] and running_runs() == []
    assert client.search_registered_models(filter_string="name LIKE '%frenk-lock%'") == []
