"""Safety (issue 14): only finished trainings count, orphaned runs are cleaned up, registrations
are made whole, no model folder's code runs, checks come before training, one-line errors, and
a fresh SQLite store survives two steps starting together. Real processes and signals where
the point is about them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from frenk.comparison import RunRecord
from frenk.comparison.selection import select_samples
from frenk.config import PublishConfig, TrainConfig
from frenk.core.errors import ConfigError, DataError, FrenkError, ModelError
from frenk.tracking import registry, runs
from frenk.training import TrainListener

from ..helpers import ROOT, all_runs, fast_args, subprocess_env

FAST = fast_args(max_seq_length=32)


def _env(uri: str, tmpdir: Path | None = None) -> dict[str, str]:
    return subprocess_env(uri, **({"TMPDIR": str(tmpdir)} if tmpdir is not None else {}))


def _entrypoint(step: str, args: list[str], uri: str, cwd: Path, extra_env: dict | None = None, timeout: int = 600):
    """``python entrypoints/<step>.py ...`` with stdin closed (a prompt would fail, not wait)."""
    return subprocess.run([sys.executable, str(ROOT / "entrypoints" / f"{step}.py"), *args], cwd=cwd,
                          env={**_env(uri), **(extra_env or {})}, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def _one_line_error(proc, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr[-3000:]


# ------------------------------------------------------------------ 2. only finished trainings count


def test_children_of_unfinished_parents_are_skipped():
    records = [
        RunRecord("p", "tiny", None, "d", {}, status="KILLED", is_parent=True),
        RunRecord("c1", "tiny", "1", "d", {"test_macro_f1": 0.5}, parent_status="KILLED"),
        RunRecord("c2", "tiny", "2", "d", {"test_macro_f1": 0.5}, parent_status="FAILED"),
        RunRecord("c3", "tiny", "3", "d", {"test_macro_f1": 0.5}, parent_status="FINISHED"),
        RunRecord("s", "tiny", "4", "d", {"test_macro_f1": 0.5}),  # no parent: a single-seed training
    ]
    samples, skipped = select_samples(records, ("macro_f1",))
    assert [r.run_id for r in samples["tiny"]] == ["c3", "s"]
    reasons = {s.run_id: s.reason for s in skipped}
    assert reasons["c1"] == "its parent run did not finish (status KILLED)"
    assert reasons["c2"].startswith("its parent run did not finish")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_orphaned_runs_are_marked_failed_and_their_folders_removed(mlflow_store, tmp_path, capsys):
    host, dead = socket.gethostname(), str(_dead_pid())
    staging, work = tmp_path / f".out.{host}.{dead}.abc123", tmp_path / "frenk-train-abc"
    precious = tmp_path / "precious"  # not a folder frenk makes: a tag naming it removes nothing
    for folder in (staging, work, precious):
        folder.mkdir()
        (folder / "half.parquet").write_text("x")
    recorded = os.pathsep.join(map(str, (staging, work, precious)))
    with mlflow.start_run(tags={"frenk.step": "preprocess", "frenk.host": host, "frenk.pid": dead,
                                "frenk.temp_dirs": recorded}) as orphan:
        pass
    # a planted run of another user naming this user's folders: its tags decide nothing
    with mlflow.start_run(tags={"frenk.host": host, "frenk.pid": dead, "mlflow.user": "someone-else",
                                "frenk.temp_dirs": str(precious)}) as planted:
        pass
    with mlflow.start_run(tags={"frenk.host": host, "frenk.pid": str(os.getpid())}) as alive:
        pass
    with mlflow.start_run(tags={"frenk.host": "elsewhere", "frenk.pid": str(_dead_pid())}) as remote:
        pass
    client = mlflow.MlflowClient()
    for run in (orphan, alive, remote, planted):
        client.update_run(run.info.run_id, status="RUNNING")  # as a SIGKILL leaves them
    runs.start_step()
    assert mlflow.get_run(orphan.info.run_id).info.status == "FAILED"
    assert "ended without ending the run" in mlflow.get_run(orphan.info.run_id).data.tags["frenk.orphaned"]
    assert not staging.exists() and not work.exists() and (precious / "half.parquet").is_file()
    assert mlflow.get_run(planted.info.run_id).info.status == "RUNNING"
    assert mlflow.get_run(alive.info.run_id).info.status == "RUNNING"  # its process (this one) lives
    assert mlflow.get_run(remote.info.run_id).info.status == "RUNNING"  # another host: not ours to judge
    out = capsys.readouterr().out
    assert out.count("frenk: marked 1 orphaned run(s) FAILED") == 1 and orphan.info.run_id in out


@pytest.mark.slow
def test_half_done_registrations_are_deleted_or_completed(mlflow_store, prepared_sample, capsys):
    from frenk.steps import train

    client = mlflow.MlflowClient()
    # killed after registering: the parent did not finish, so the version does not count
    killed = train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2))
    # a finished training whose version lost its tags and alias (registered by an older frenk)
    whole = train(TrainConfig(model="tfidf", data=str(prepared_sample), seed=7))
    client.set_terminated(killed.parent_run_id, "FAILED")
    client.delete_model_version_tag("frenk-hr", whole.registered_version, "frenk.run_id")
    client.delete_registered_model_alias("frenk-hr", "baseline")  # tfidf versions carry baseline, not candidate
    capsys.readouterr()
    changed = registry.repair_versions("frenk-hr")
    assert sorted(changed) == sorted([killed.registered_version, whole.registered_version])
    assert "deleted version(s) 1 (their training did not finish)" in capsys.readouterr().out
    versions = {str(v.version): v for v in client.search_model_versions("name='frenk-hr'")}
    assert list(versions) == [whole.registered_version]
    assert versions[whole.registered_version].tags["frenk.run_id"] == whole.best.run_id
    assert str(client.get_model_version_by_alias("frenk-hr", "baseline").version) == whole.registered_version
    assert registry.repair_versions("frenk-hr") == []  # whole now: nothing more to do
    # publish never uses a version of a training that has not finished
    from frenk.steps import publish

    client.update_run(whole.best.run_id, status="RUNNING")
    with pytest.raises(FrenkError, match="whose training did not finish"):
        publish(PublishConfig(output=str(Path.cwd() / "hf"), version=whole.registered_version, force=True))
    client.set_terminated(whole.best.run_id, "KILLED")
    with pytest.raises(FrenkError, match=f"has no version {whole.registered_version}"):
        publish(PublishConfig(output=str(Path.cwd() / "hf"), version=whole.registered_version, force=True))
    assert not (Path.cwd() / "hf").exists()


def _popen_train(uri: str, cwd: Path, tmpdir: Path, data: Path, seed: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "entrypoints" / "train.py"), "--model", "tiny", "--data", str(data),
           "--repeats", "3", "--seed", str(seed), "--args", FAST]
    with open(log, "w") as out:
        return subprocess.Popen(cmd, cwd=cwd, env=_env(uri, tmpdir), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)


def _seed_run(seed: int, status: str | None = None):
    clause = f"tags.`frenk.seed` = '{seed}' AND tags.`frenk.model` = 'tiny'"
    found = all_runs(filter_string=clause + (f" AND attributes.status = '{status}'" if status else ""))
    return found[0] if found else None


def _wait_for_second_seed(procs: dict[int, subprocess.Popen], logs: dict[int, Path], timeout: float = 900) -> None:
    """Until each process has finished its first seed and started its second."""
    waiting, deadline = dict(procs), time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for seed, proc in list(waiting.items()):
            assert proc.poll() is None, logs[seed].read_text()[-3000:]
            if _seed_run(seed, "FINISHED") and _seed_run(seed + 1, "RUNNING"):
                del waiting[seed]
        time.sleep(1)
    assert not waiting, "the trainings did not reach their second seed in time"


def _parent_of(seed: int):
    return mlflow.get_run(_seed_run(seed).data.tags["mlflow.parentRunId"])


@pytest.mark.slow
def test_sigterm_and_sigkill_of_real_trainings_leave_only_finished_seeds(mlflow_store, prepared_sample, tmp_path,
                                                                        monkeypatch, capsys):
    import tempfile

    from frenk.config import CompareConfig
    from frenk.steps import compare, publish, train

    def leftovers(folder: Path) -> list[str]:
        return [p.name for p in folder.iterdir() if not p.name.startswith("torchinductor")]

    child_tmp, own_tmp = tmp_path / "child-tmp", tmp_path / "own-tmp"
    child_tmp.mkdir(), own_tmp.mkdir()
    train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=3, register=""))
    logs = {100: tmp_path / "term.log", 200: tmp_path / "kill.log"}
    procs = {seed: _popen_train(mlflow_store, Path.cwd(), child_tmp, prepared_sample, seed, logs[seed]) for seed in logs}
    try:
        _wait_for_second_seed(procs, logs)
        assert any(p.startswith("frenk-train-") for p in leftovers(child_tmp))
        procs[100].send_signal(signal.SIGTERM)
        procs[200].kill()  # SIGKILL: nothing runs after it
        assert procs[100].wait(timeout=300) == 130, logs[100].read_text()[-3000:]
        assert procs[200].wait(timeout=60) == -signal.SIGKILL
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    term_log = logs[100].read_text()
    assert "frenk: interrupted (received signal SIGTERM)" in term_log and "Traceback" not in term_log
    stopped = _parent_of(100)
    assert stopped.info.status == "KILLED"
    killed_seed, finished_seed = _seed_run(101), _seed_run(100)
    assert (finished_seed.info.status, killed_seed.info.status) == ("FINISHED", "KILLED")
    assert _seed_run(102) is None
    assert _parent_of(200).info.status == "RUNNING" and _seed_run(201).info.status == "RUNNING"  # as SIGKILL left them
    assert [p for p in leftovers(child_tmp) if p.startswith("frenk-train-")]  # the killed one's work folder
    kept = Path.cwd() / f"frenk-resume-{stopped.info.run_id}"  # the finished seed's result and weights
    assert f"{kept}: run the same command again to train the missing seeds only" in term_log
    assert any(kept.rglob("model.safetensors"))

    # the same command again: only the missing seeds train, the finished one's run is adopted
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    started: list[int] = []

    class Started(TrainListener):
        def on_seed_start(self, seed: int) -> None:
            started.append(seed)

    done = train(TrainConfig(model="tiny", data=str(prepared_sample), repeats=3, seed=100, args=FAST), [Started()])
    out = capsys.readouterr().out
    assert "frenk: marked 2 orphaned run(s) FAILED" in out  # the SIGKILLed parent and seed
    assert f"continuing the training stopped in run {stopped.info.run_id}: seeds [100] finished there" in out
    assert started == [101, 102] and [r.seed for r in done.runs] == [100, 101, 102]
    assert done.runs[0].run_id == finished_seed.info.run_id
    assert mlflow.get_run(finished_seed.info.run_id).data.tags["mlflow.parentRunId"] == done.parent_run_id
    assert mlflow.get_run(done.parent_run_id).info.status == "FINISHED" and not kept.exists()
    assert done.registered_version is not None
    assert _parent_of(200).info.status == "FAILED" and _seed_run(201).info.status == "FAILED"
    assert leftovers(child_tmp) == []  # its work folder removed
    report = compare(CompareConfig(group="hr-binary")).report
    assert sorted(report.runs["tiny"]) == sorted(r.run_id for r in done.runs)  # the continued training, n = 3
    assert report.descriptives["macro_f1"]["tiny"].n == 3
    skipped = {s.run_id: s.reason for s in report.skipped}
    assert skipped[killed_seed.info.run_id] == "status KILLED"
    assert skipped[_seed_run(200).info.run_id].startswith("its parent run did not finish")  # the SIGKILLed one's
    publish(PublishConfig(output=str(tmp_path / "hf"), force=True))  # tiny vs tfidf: the gate's verdict is not the point
    assert leftovers(own_tmp) == []  # compare and publish removed their downloads


# ------------------------------------------------------------------ 4. no model folder's code runs


def _custom_code_folder(tiny_models, tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "custom-model"
    shutil.copytree(tiny_models["electra"], folder)
    marker = tmp_path / "code-ran"
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "modeling_evil.EvilConfig",
                          "AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder, marker


def test_a_model_folder_that_ships_code_is_refused_without_running_it(tiny_models, tmp_path, mlflow_store, prepared_sample):
    from frenk.steps import train
    from frenk.training import load_classifier

    folder, marker = _custom_code_folder(tiny_models, tmp_path)
    with pytest.raises(ModelError, match="ships its own code .*modeling_evil.py.*never runs a model folder's code"):
        train(TrainConfig(model=str(folder), data=str(prepared_sample)))
    with pytest.raises(ModelError, match="ships its own code"):
        load_classifier(str(folder), fine_tuned=True)
    # transformers itself, asked with trust_remote_code=False as frenk always asks: no prompt, no code run
    from transformers import AutoConfig

    AutoConfig.from_pretrained(str(folder), trust_remote_code=False)  # the built-in class, the auto_map ignored
    assert not marker.exists() and all_runs() == []


def _is_false(node) -> bool:
    import ast

    return isinstance(node, ast.Constant) and node.value is False


def test_no_remote_code_is_false():
    from frenk.training import NO_REMOTE_CODE

    assert NO_REMOTE_CODE == {"trust_remote_code": False}


def test_every_auto_load_passes_trust_remote_code_false():
    import ast

    calls = []
    for path in (ROOT / "frenk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("from_pretrained",) or (
                    isinstance(node, ast.Call) and getattr(node.func, "id", "") == "pipeline"):
                passes = any(_is_false(k.value) if k.arg == "trust_remote_code" else
                             k.arg is None and getattr(k.value, "id", "") == "NO_REMOTE_CODE" for k in node.keywords)
                calls.append((f"{path.name}:{node.lineno}", passes))
    assert len(calls) >= 6 and all(passes for _, passes in calls), calls


# ------------------------------------------------------------------ 5. checked before training


@pytest.mark.parametrize("name", ["../../escape", "a/b", "a:b", "", ".", "..x/../y", "frenk-hr.frenk-lock"])
def test_invalid_registered_model_names_are_refused_at_once(name):
    with pytest.raises(ConfigError):
        TrainConfig(model="tfidf", register=name if name else " ")
    with pytest.raises(ConfigError):
        PublishConfig(name=name or " ")


@pytest.mark.parametrize("alias", ["v1", "V12", "latest", "Latest", "bad alias", "a/b", "x" * 250])
def test_reserved_and_invalid_aliases_are_refused_at_once(alias):
    with pytest.raises(ConfigError, match="alias"):
        PublishConfig(alias=alias)


def test_max_length_beyond_the_position_embeddings_is_refused_before_training(mlflow_store, prepared_sample, tiny_models):
    from frenk.steps import train

    with pytest.raises(ModelError, match="max_length=100000 is longer than the tiny model can read: .* 512 tokens"):
        train(TrainConfig(model="tiny", data=str(prepared_sample), max_length=100000))
    with pytest.raises(ModelError, match="max_length=600 .* 512 tokens"):
        train(TrainConfig(model=str(tiny_models["electra"]), data=str(prepared_sample), max_length=600))
    assert all_runs() == []


def test_outputs_that_cannot_be_written_are_refused_before_any_work(mlflow_store, tmp_path):
    from frenk.config import PreprocessConfig
    from frenk.steps import preprocess, publish

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="is not a folder"):
        preprocess(PreprocessConfig(source="sample", output=str(blocker / "data")))
    with pytest.raises(FrenkError, match="is not a folder"):
        publish(PublishConfig(output=str(blocker / "sub" / "hf")))  # before the registry is even asked
    assert all_runs() == [] and blocker.read_text() == "not a folder"


# ------------------------------------------------------------------ 6. one-line errors


def _blocked_weights_folder(tiny_models, tmp_path) -> tuple[Path, Path]:
    """A model folder whose pytorch_model.bin runs a command when unpickled."""
    import torch

    folder = tmp_path / "pickled-model"
    shutil.copytree(tiny_models["electra"], folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pickle-ran"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    torch.save({"electra.embeddings.word_embeddings.weight": Evil()}, folder / "pytorch_model.bin")
    return folder, marker


@pytest.mark.slow
def test_broken_manifest_symlinked_output_and_blocked_weights_are_one_line(tmp_path, prepared_sample, tiny_models):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    broken = tmp_path / "broken-data"
    shutil.copytree(prepared_sample, broken)
    (broken / "manifest.json").write_text("{ not json")
    proc = _entrypoint("train", ["--model", "tfidf", "--data", str(broken)], uri, tmp_path)
    _one_line_error(proc, "manifest.json cannot be read (JSONDecodeError")

    debug = _entrypoint("train", ["--model", "tfidf", "--data", str(broken)], uri, tmp_path, {"FRENK_DEBUG": "1"})
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "frenk: error:" in debug.stderr

    real = tmp_path / "real-out"
    real.mkdir()
    (tmp_path / "link-out").symlink_to(real)
    proc = _entrypoint("preprocess", ["--source", "sample", "--output", str(tmp_path / "link-out"), "--debug"], uri, tmp_path)
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "is a symbolic link" in proc.stderr  # --debug
    proc = _entrypoint("preprocess", ["--source", "sample", "--output", str(tmp_path / "link-out")], uri, tmp_path)
    _one_line_error(proc, "is a symbolic link")

    folder, marker = _blocked_weights_folder(tiny_models, tmp_path)
    proc = _entrypoint("train", ["--model", str(folder), "--data", str(prepared_sample), "--register", ""], uri, tmp_path)
    _one_line_error(proc, "refused by torch's safe loading (weights_only)")
    assert not marker.exists()

    folder, marker = _custom_code_folder(tiny_models, tmp_path)
    proc = _entrypoint("train", ["--model", str(folder), "--data", str(prepared_sample)], uri, tmp_path)
    _one_line_error(proc, "ships its own code")
    assert not marker.exists()


# ------------------------------------------------------------------ 7. a fresh SQLite store, two steps at once


@pytest.mark.slow
def test_two_steps_starting_together_on_a_fresh_store(tmp_path):
    for attempt in range(2):
        work = tmp_path / f"try{attempt}"
        work.mkdir()
        uri = f"sqlite:///{work}/mlflow.db"
        cmds = [[sys.executable, str(ROOT / "entrypoints" / "preprocess.py"), "--source", "sample",
                 "--output", str(work / f"data{i}")] for i in range(2)]
        procs = [subprocess.Popen(c, cwd=work, env=_env(uri), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for c in cmds]
        outs = [p.communicate(timeout=300) for p in procs]
        for proc, (_, err) in zip(procs, outs, strict=False):
            assert proc.returncode == 0, err[-3000:]
        mlflow.set_tracking_uri(uri)
        assert sorted(r.info.status for r in all_runs()) == ["FINISHED", "FINISHED"]
