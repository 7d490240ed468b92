"""Promotion is one transaction (issue 19, point 3): two publishes of different versions at once
end with one champion, the replaced version under previous-champion, nothing written on the
version that lost, the loser saying so in one line (exit 2), and the output folder agreeing with
the registry; the promotion lock (a registered model ``<name>.frenk-lock``) is waited for,
broken when its holder is dead, and never seen as a model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from frenk.config import PublishConfig, TrainConfig
from frenk.core.errors import FrenkError, TrackingError
from frenk.tracking import locks, registry

from ..helpers import compared_store
from .test_kills import running_runs, spawn_step, staging_beside

FAST = '{"num_train_epochs": 1, "max_seq_length": 32}'
NAME = "frenk-hr"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _hold(name: str, pid: int, host: str | None = None) -> None:
    mlflow.MlflowClient().create_registered_model(name + locks.LOCK_SUFFIX, tags={
        "frenk.lock_host": host or socket.gethostname(), "frenk.lock_pid": str(pid), "frenk.lock_token": "t"})


def _models() -> list[str]:
    return sorted(m.name for m in mlflow.MlflowClient().search_registered_models())


def test_the_lock_is_exclusive_waits_boundedly_and_is_released(mlflow_store):
    mlflow.MlflowClient().create_registered_model("m")
    with locks.promotion_lock("m", "test"):
        assert _models() == ["m", "m.frenk-lock"]
        tags = mlflow.MlflowClient().get_registered_model("m.frenk-lock").tags
        assert tags["frenk.lock_pid"] == str(os.getpid()) and tags["frenk.lock_host"] == socket.gethostname()
        with pytest.raises(TrackingError, match=r"another publish holds the promotion lock of m \(test, process "
                                                rf"{os.getpid()}.*delete the registered model m.frenk-lock"), \
                locks.promotion_lock("m", "a second one", wait_s=0.5):
            pass
    assert _models() == ["m"]  # released
    with pytest.raises(RuntimeError), locks.promotion_lock("m", "test"):
        raise RuntimeError("a failed promotion")
    assert _models() == ["m"]  # released on failure too


def test_a_dead_holders_lock_is_broken_and_a_remote_ones_waited_for(mlflow_store, capsys):
    _hold("m", _dead_pid())
    with locks.promotion_lock("m", "test", wait_s=0.5):
        assert mlflow.MlflowClient().get_registered_model("m.frenk-lock").tags["frenk.lock_pid"] == str(os.getpid())
    assert "removed the promotion lock m.frenk-lock" in capsys.readouterr().out
    _hold("r", _dead_pid(), host="another-machine")  # its process cannot be checked from here: wait, then refuse
    with pytest.raises(TrackingError, match="another publish holds the promotion lock of r"), \
            locks.promotion_lock("r", "test", wait_s=0.5):
        pass


def test_a_dead_holders_lock_this_user_may_not_delete_is_one_line_not_a_loop(mlflow_store, monkeypatch):
    from mlflow.exceptions import MlflowException

    _hold("d", _dead_pid())

    def refused(self, name):
        raise MlflowException("Permission denied", error_code="PERMISSION_DENIED")

    monkeypatch.setattr(mlflow.MlflowClient, "delete_registered_model", refused)
    started = time.monotonic()
    with pytest.raises(TrackingError, match="may not delete it .*ask an admin .*delete the registered model "
                                            "d.frenk-lock"), locks.promotion_lock("d", "test", wait_s=30):
        pass
    assert time.monotonic() - started < 10  # at once, not after the wait


def test_the_lock_is_not_a_model(mlflow_store):
    with pytest.raises(FrenkError, match="is the promotion lock of 'frenk-hr', not a model"):
        registry.model_version("frenk-hr.frenk-lock", "1")


@pytest.fixture(scope="module")
def store(tmp_path_factory, prepared_sample):
    """tfidf (version 1), tiny (2) and two more tiny trainings (3, 4), and a compare run; version 2 is champion."""
    from frenk.steps import publish, train

    with compared_store(tmp_path_factory.mktemp("race"), prepared_sample, 2) as state:
        for seed in (500, 600):
            train(TrainConfig(model="tiny", data=str(prepared_sample), seed=seed, args=FAST))
        publish(PublishConfig(output=str(state["root"] / "hf"), version="2", force=True))
        yield state


def _version(v: str):
    return mlflow.MlflowClient().get_model_version(NAME, v)


def _race(versions: list[str], out: Path, tmp: Path) -> dict[str, subprocess.CompletedProcess]:
    """Two publishes at once, each of its version to ``out``, both past their gate before either promotes."""
    barrier = tmp / "barrier"
    barrier.mkdir(parents=True)
    procs = {}
    for v in versions:
        (tmp / v).mkdir()
        procs[v] = spawn_step("barrier", barrier, "publish", ["--version", v, "--output", str(out), "--force", "true"],
                              tmp / v, tmp / f"{v}.log")
    for proc in procs.values():
        proc.wait(timeout=900)
    return {v: (proc.returncode, (tmp / f"{v}.log").read_text()) for v, proc in procs.items()}


@pytest.mark.slow
def test_three_rounds_of_two_publishes_at_once_end_consistent(store, tmp_path):
    out, client = store["root"] / "hf", mlflow.MlflowClient()
    for round_ in range(3):
        before = str(client.get_model_version_by_alias(NAME, "champion").version)
        racers = [v for v in ("2", "3", "4") if v != before]
        earlier = {v: (_version(v).tags, _version(v).description) for v in racers}
        ended = _race(racers, out, tmp_path / f"round{round_}")
        assert sorted(rc for rc, _ in ended.values()) == [0, 2], ended
        (winner,) = [v for v, (rc, _) in ended.items() if rc == 0]
        (loser,) = [v for v, (rc, _) in ended.items() if rc == 2]
        assert f"forced {NAME} version {winner} (tiny) to alias champion" in ended[winner][1]
        errors = [line for line in ended[loser][1].splitlines() if line.startswith("frenk: error:")]
        assert len(errors) == 1 and "Traceback" not in ended[loser][1], ended[loser][1][-3000:]
        assert errors[0].startswith(f"frenk: error: another publish moved @champion of {NAME} to version {winner} "
                                    f"while this one prepared version {loser} (it had read @champion = {before})")
        # one champion, the replaced one under previous-champion, with the dated tags that say so
        assert str(client.get_model_version_by_alias(NAME, "champion").version) == winner
        assert str(client.get_model_version_by_alias(NAME, "previous-champion").version) == before
        assert _version(before).tags["frenk.champion_replaced_by"] == winner
        assert _version(winner).description.startswith("Forced to `@champion` (tiny)")
        assert _version(winner).tags["frenk.forced"] == "true"
        # the loser: not a tag, not a word changed
        assert (_version(loser).tags, _version(loser).description) == earlier[loser]
        # the folder is the champion's, whole; nothing left beside it, in the temporary folders or the store
        record = json.loads((out / "frenk_publish.json").read_text())
        assert record["version"] == winner and "pending" not in record
        assert record["files"] == sorted(p.name for p in out.iterdir())
        assert staging_beside(out) == [] and running_runs() == [] and _models() == [NAME]
        assert all(os.listdir(tmp_path / f"round{round_}" / v) == [] for v in racers)
        loser_run = mlflow.search_runs(search_all_experiments=True, output_format="list",
                                       filter_string=f"attributes.run_name = 'publish-{NAME}-v{loser}'",
                                       order_by=["attributes.start_time DESC"])[0]
        assert loser_run.info.status == "FAILED"
