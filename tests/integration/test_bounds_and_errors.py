"""Issue #19 points 6-8: the environment's errors are one line, limits where a typo costs days.

* every 401/403 of the tracking server, in a step or in the ``mlflow run`` launcher, is one line
  ``frenk: error: ...`` naming the user, the action and the fix;
* epochs above 100 and a tune budget or grid above 10,000 trials are refused unless
  FRENK_ALLOW_LARGE=1, and a grid is stored once per study, not on every trial;
* many ``mlflow run``s may start together on a fresh SQLite store; a full disk, any OSError and an
  Optuna heartbeat that cannot reach its database are one line; control characters are escaped.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import optuna
import pytest
import requests
from click.testing import CliRunner

from frenk.cli import command
from frenk.config import TrainConfig
from frenk.core.errors import ALLOW_LARGE_ENV, ConfigError, explain
from frenk.tuning import SearchPlan, parse_space
from frenk.tuning.study import choose_sampler, open_storage

from ..helpers import ROOT, mlflow_run


def _raising(exc: BaseException):
    def step(cfg):
        raise exc

    return command(TrainConfig, step)


def _one_line(result_or_stderr: str) -> str:
    lines = [line for line in result_or_stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(lines) == 1 and "Traceback" not in result_or_stderr, result_or_stderr[-3000:]
    return lines[0]


# -- 6. a refusal of the tracking server is one line -------------------------------------------


class _ReadOnlyServer(BaseHTTPRequestHandler):
    """An MLflow tracking server as a user with READ permission sees it (basic-auth's plain-text
    403 "Permission denied" on every change; searches answer, nothing exists)."""

    def _answer(self, status: int, body: str, kind: str = "application/json") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/health"):
            return self._answer(200, "OK", "text/plain")
        if "get-by-name" in self.path or "/get?" in self.path:
            return self._answer(404, json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"}))
        if "/api/3.0/mlflow/users" in self.path:
            return self._answer(404, "Not Found", "text/plain")
        return self._answer(200, "{}")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/search"):
            return self._answer(200, "{}")
        return self._answer(403, "Permission denied", "text/html")

    def log_message(self, *args):
        pass


@pytest.fixture
def read_only_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ReadOnlyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _env(uri: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=uri, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
               MLFLOW_TRACKING_USERNAME="reader", MLFLOW_TRACKING_PASSWORD="s3cret-pw", **more)
    return env


def test_mlflow_refusals_are_one_line_naming_user_action_and_fix(monkeypatch):
    from mlflow.exceptions import MlflowException, RestException
    from mlflow.utils.rest_utils import augmented_raise_for_status, verify_rest_response

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "reader")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://admin:pw@tracking.example:5000")
    response = requests.models.Response()
    response.status_code, response._content, response.url = 403, b"Permission denied", "http://x/api/2.0/mlflow/runs/create"
    with pytest.raises(MlflowException) as plain:
        verify_rest_response(response, "/api/2.0/mlflow/runs/create")
    with pytest.raises(requests.HTTPError) as upload:
        augmented_raise_for_status(response)
    coded = RestException({"error_code": "PERMISSION_DENIED", "message": "Permission denied"})
    for exc in (plain.value, upload.value, coded, RuntimeError("wrapped")):
        if isinstance(exc, RuntimeError):
            exc.__cause__ = plain.value  # raised from a refusal deeper down
        result = CliRunner().invoke(_raising(exc), [])
        assert result.exit_code == 2, result.output
        line = _one_line(result.output)
        assert "user 'reader'" in line and "EDIT" in line and "HTTP 403" in line, line
        assert "tracking.example:5000" in line and "pw" not in line
    assert "create a run" in explain(plain.value)
    response.status_code = 401
    with pytest.raises(MlflowException) as unauthenticated:
        verify_rest_response(response, "/api/2.0/mlflow/runs/log-batch")
    assert "refused the credentials of user 'reader' to log to a run" in explain(unauthenticated.value)
    assert "MLFLOW_TRACKING_PASSWORD" in explain(unauthenticated.value)
    response.url, response.request = "https://huggingface.co/api/repos/create", requests.Request(
        "POST", "https://huggingface.co/api/repos/create").prepare()
    with pytest.raises(requests.HTTPError) as hub:
        response.raise_for_status()
    assert explain(hub.value).startswith("huggingface.co refused the request (HTTP 401, POST /api/repos/create)")
    assert "HF_TOKEN" in explain(hub.value) and "MLflow" not in explain(hub.value)


@pytest.mark.slow
def test_a_read_only_user_gets_one_line_from_a_step(read_only_server, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "entrypoints" / "train.py"), "--model", "tfidf", "--data", "sample"],
                          cwd=tmp_path, env=_env(read_only_server), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = _one_line(proc.stderr)
    assert "refused user 'reader' permission to" in line and "HTTP 403" in line and "ask an admin" in line, line
    assert "s3cret-pw" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_a_read_only_user_gets_one_line_from_the_mlflow_run_launcher(read_only_server, tmp_path):
    """MLflow's launcher creates the run before the step starts: its 403 is one line too."""
    proc = mlflow_run("train", {"model": "tfidf", "data": "sample"}, read_only_server, tmp_path, timeout=300,
                      env_vars={"MLFLOW_TRACKING_USERNAME": "reader", "MLFLOW_TRACKING_PASSWORD": "s3cret-pw",
                                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert proc.returncode == 1, proc.stderr[-3000:]
    line = _one_line(proc.stderr)
    assert "refused user 'reader' permission to create an experiment" in line and "HTTP 403" in line, line
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    named = mlflow_run("train", {"model": "tfidf", "data": "sample"}, read_only_server, tmp_path, timeout=300,
                       env_vars={"MLFLOW_TRACKING_USERNAME": "reader", "MLFLOW_TRACKING_PASSWORD": "s3cret-pw",
                                 "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_EXPERIMENT_NAME": "mine"})
    assert named.returncode == 1, named.stderr[-3000:]  # MLflow's own request, before any frenk code
    assert "refused user 'reader' permission to create an experiment" in _one_line(named.stderr)


# -- 7. limits where a typo costs days ---------------------------------------------------------


def test_epochs_above_the_limit_are_refused_unless_allowed(monkeypatch):
    monkeypatch.delenv(ALLOW_LARGE_ENV, raising=False)
    for kwargs in ({"epochs": 1e9}, {"args": '{"num_train_epochs": 101}'}):
        with pytest.raises(ConfigError, match=f"above the limit of 100 epochs.*{ALLOW_LARGE_ENV}=1"):
            TrainConfig(**kwargs)
    assert TrainConfig(epochs=100).epochs == 100
    with pytest.raises(ConfigError, match="space: epochs=1,000 is above the limit of 100"):
        parse_space("epochs: [3, 1000]")
    result = CliRunner().invoke(command(TrainConfig, lambda cfg: None), ["--epochs", "1e9"])
    assert result.exit_code == 2 and ALLOW_LARGE_ENV in _one_line(result.output)
    monkeypatch.setenv(ALLOW_LARGE_ENV, "1")
    assert TrainConfig(epochs=1e9).epochs == 1e9
    assert parse_space("epochs: [1000]").dimensions["epochs"] == (1000,)


def test_a_grid_or_budget_above_the_limit_is_refused_unless_allowed(monkeypatch):
    monkeypatch.delenv(ALLOW_LARGE_ENV, raising=False)
    huge = parse_space(f"batch_size: {list(range(1, 1001))}\nmax_length: {list(range(8, 108))}\n")
    assert huge.grid_size == 100_000
    with pytest.raises(ConfigError, match=f"its size=100,000 is above the limit of 10,000 trials.*{ALLOW_LARGE_ENV}=1"):
        SearchPlan(space=huge)
    small = parse_space("learning_rate: {low: 1.0e-5, high: 1.0e-3}")
    with pytest.raises(ConfigError, match="trials=20,000 is above the limit of 10,000"):
        SearchPlan(space=small, trials=20_000)
    assert SearchPlan(space=small, trials=10_000).trials == 10_000
    monkeypatch.setenv(ALLOW_LARGE_ENV, "1")
    assert SearchPlan(space=huge).space is huge


def test_the_grid_is_stored_once_not_on_every_trial(tmp_path):
    space = parse_space(f"batch_size: {list(range(1, 301))}\nepochs: [1, 2]\n")
    journal = tmp_path / "optuna.journal"

    def study(sampler):
        return optuna.create_study(study_name="s", storage=open_storage(str(journal)), sampler=sampler,
                                   load_if_exists=True)

    # an older study: Optuna's own grid sampler wrote the whole grid on its two trials
    old = study(optuna.samplers.GridSampler(space.grid, seed=1))
    created = journal.stat().st_size
    old.optimize(lambda t: space.suggest(t)["batch_size"] * 0, n_trials=2)
    size_before = journal.stat().st_size
    old_per_trial = (size_before - created) / 2
    _, sampler = choose_sampler("grid", space, seed=1)
    new = study(sampler)
    new.optimize(lambda t: space.suggest(t)["batch_size"] * 0, n_trials=20)
    grown_per_trial = (journal.stat().st_size - size_before) / 20
    # Optuna's own sampler stores the grid on each trial; what stays is each parameter's distribution
    assert grown_per_trial < old_per_trial - 0.6 * len(json.dumps(space.grid)), (grown_per_trial, old_per_trial)
    trials = new.get_trials()
    assert all(t.system_attrs["search_space"] == f"frenk:{space.digest}" for t in trials[2:])
    assert new.user_attrs["frenk.grid"] == space.grid
    points = [tuple(sorted(t.params.items())) for t in trials if "epochs" in t.params]
    assert len(points) == len(set(points))  # no point twice, the old trials' points counted
    old_ids = {t.system_attrs["grid_id"] for t in trials[:2]}
    assert not old_ids & {t.system_attrs["grid_id"] for t in trials[2:]}
    small = parse_space("batch_size: [8, 16]\nepochs: [1, 2]\n")
    done = optuna.create_study(sampler=choose_sampler("grid", small, seed=1)[1])
    done.optimize(lambda t: small.suggest(t)["batch_size"] * 0, n_trials=10)
    assert sorted(tuple(t.params.values()) for t in done.trials) == [(8, 1), (8, 2), (16, 1), (16, 2)]  # then it stops


# -- 8. a fresh SQLite store, full disks, lost heartbeats, control characters, exit codes ------


@pytest.mark.slow
def test_four_mlflow_runs_start_together_on_a_fresh_sqlite_store(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=uri, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    cmd = [sys.executable, "-m", "mlflow", "run", str(ROOT), "-e", "train", "-P", "model=tfidf", "-P", "data=sample",
           "-P", "register=", "--env-manager", "local"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [proc.communicate(timeout=900) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=False):
        assert proc.returncode == 0, err[-3000:]
    import mlflow

    runs = mlflow.MlflowClient(uri).search_runs(
        [e.experiment_id for e in mlflow.MlflowClient(uri).search_experiments()], "tags.`frenk.step` = 'train'")
    assert len([r for r in runs if r.info.status == "FINISHED"]) >= 4


def test_a_full_disk_and_other_os_errors_are_one_line_naming_the_path(tmp_path, monkeypatch):
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "data" / "train.parquet"))
    result = CliRunner().invoke(_raising(full), [])
    line = _one_line(result.output)
    assert result.exit_code == 2 and "no space left on the device of" in line and "train.parquet" in line, line
    missing = PermissionError(errno.EACCES, "Permission denied", "/srv/models")
    assert "Permission denied: /srv/models: fix the path" in _one_line(CliRunner().invoke(_raising(missing), []).output)
    sqlite_full = RuntimeError("(sqlite3.OperationalError) database or disk is full")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////data/mlflow.db")
    assert "the tracking store sqlite:////data/mlflow.db" in explain(sqlite_full)
    down = requests.ConnectionError("refused", request=requests.Request("GET", "http://u:p@db.example:5000/x").prepare())
    assert "the server at http://db.example:5000/x could not be reached" in explain(down)
    assert explain(ValueError("a bug")) is None  # a bug keeps its traceback
    result = CliRunner().invoke(_raising(ValueError("a bug")), [])
    assert isinstance(result.exception, ValueError)


def test_a_full_disk_while_preparing_data_is_one_line(mlflow_store, tmp_path, monkeypatch):
    """A real step: preprocess writing its folder on a full disk (simulated at the write)."""
    import pandas as pd

    from frenk.config import PreprocessConfig
    from frenk.steps import preprocess

    def no_space(self, path, *args, **kwargs):  # as pyarrow says it: no path
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", no_space)
    monkeypatch.setattr(pd.DataFrame, "to_csv", no_space)
    result = CliRunner().invoke(command(PreprocessConfig, preprocess), ["--source", "sample", "--output", "out"])
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert f"no space left on the device of {tmp_path / 'work' / 'out'}" in line, line
    assert not (tmp_path / "work" / "out").exists()


def test_a_heartbeat_that_cannot_reach_the_database_is_one_line_and_tries_again(tmp_path, monkeypatch, capsys):
    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db")
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    calls = []

    def server_restarting(self, trial_id):
        calls.append(trial_id)
        raise RuntimeError("(psycopg.OperationalError) server closed the connection unexpectedly\nmore detail")

    monkeypatch.setattr(optuna.storages.RDBStorage, "record_heartbeat", server_restarting)
    storage.record_heartbeat(trial._trial_id)
    storage.record_heartbeat(trial._trial_id)
    err = capsys.readouterr().err
    assert calls == [trial._trial_id] * 2 and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("frenk: warning: the heartbeat of trial") for line in lines), err
    assert "optuna.db" in lines[0] and "tries again in 30 s" in lines[0]


def test_control_characters_in_an_error_are_escaped(mlflow_store, tmp_path):
    from frenk.config import PreprocessConfig
    from frenk.steps import preprocess

    (tmp_path / "zeros.csv").write_bytes(b"\0" * 5000 + b"\x1b[2J")
    result = CliRunner().invoke(command(PreprocessConfig, preprocess), ["--source", str(tmp_path / "zeros.csv")])
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert "zeros.csv" in line and "\\x00" in line and "\\x1b" in line
    assert not any(ord(c) < 32 or ord(c) == 127 for c in line), repr(line[:200])
    assert len(line) < 2100


@pytest.mark.slow
def test_mlflow_run_exits_1_when_the_step_exits_2(tmp_path):
    """What the README says: a step's error is its one line, and `mlflow run` exits 1."""
    (tmp_path / "zeros.csv").write_bytes(b"\0" * 300)
    proc = mlflow_run("preprocess", {"source": str(tmp_path / "zeros.csv"), "output": str(tmp_path / "out")},
                      f"sqlite:///{tmp_path}/mlflow.db", tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    line = _one_line(proc.stderr)
    assert "\x00" not in proc.stderr and "\\x00" in line


def test_two_runs_logging_the_same_dataset_at_once_both_log_it(monkeypatch, prepared_sample):
    """The race the four mlflow runs met: MLflow looks a dataset up, then inserts it; the later
    insert fails on the unique key, and logging once more finds the dataset there."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from frenk.data import load_prepared
    from frenk.tracking import results

    calls = []

    def racing(dataset, **kwargs):
        calls.append(dataset.name)
        if len(calls) == 1:
            raise MlflowException("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, ...")

    monkeypatch.setattr(mlflow, "log_input", racing)
    frame = load_prepared(prepared_sample).splits["train"]
    results.log_frame_dataset(frame, name="frenk-hr-train", source=None, context="train", digest="ab" * 32)
    assert calls == ["frenk-hr-train"] * 2
    monkeypatch.setattr(mlflow, "log_input", lambda dataset, **kwargs: (_ for _ in ()).throw(MlflowException("other")))
    with pytest.raises(MlflowException, match="other"):
        results.log_frame_dataset(frame, name="frenk-hr-train", source=None, context="train", digest="ab" * 32)
