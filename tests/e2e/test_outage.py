"""The tracking server goes down during a real training (a real `mlflow server` process, really
stopped): if it comes back within MLflow's retries the run finishes with everything; if it stays
down, the training still finishes, saves a recovery folder and names the command that logs it, and
that command, run when the server is back, leaves the runs as a normal training would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from frenk.team.server import free_port, start_mlflow_server, stop_process, wait_healthy

from ..helpers import ROOT, subprocess_env

pytestmark = pytest.mark.slow
EPOCHS = 12  # long enough (tens of seconds) that the server stops while the training runs, however fast the engine
ARGS = json.dumps({"num_train_epochs": EPOCHS, "max_seq_length": 32})


class Server:
    """`mlflow server` on a SQLite store with served artifacts, stoppable and restartable on its port."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.folder / f"server-{self.starts}.log"
        self.proc = start_mlflow_server(f"sqlite:///{self.folder}/mlflow.db", self.folder / "artifacts", "127.0.0.1",
                                        self.port, 1, {}, log)
        wait_healthy(self.url, self.proc, log)

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    srv.start()
    yield srv
    srv.stop()


def _env(server: Server, retries: int, backoff: int) -> dict[str, str]:
    return subprocess_env(server.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES=str(retries),
                          MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=str(backoff), MLFLOW_HTTP_REQUEST_TIMEOUT="10")


def _start_training(server: Server, data: Path, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log = cwd / "train.log"
    cmd = [sys.executable, str(ROOT / "entrypoints" / "train.py"), "--model", "tiny", "--data", str(data),
           "--repeats", "2", "--seed", "100", "--args", ARGS]
    with open(log, "w") as out:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT), log


def _wait_for_first_epoch(server: Server, proc: subprocess.Popen, log: Path, timeout: float = 600) -> None:
    client, deadline = mlflow.MlflowClient(server.url), time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        experiment = client.get_experiment_by_name("frenk-hr-binary")
        if experiment and client.search_runs([experiment.experiment_id], "metrics.`val/macro_f1` >= 0"):
            return
        time.sleep(0.5)
    raise AssertionError("the training logged no epoch in time")


def _check_complete_training(server: Server) -> None:
    """Both seeds' runs and the parent FINISHED with every epoch, the test metrics and the model registered."""
    client = mlflow.MlflowClient(server.url, registry_uri=server.url)
    runs = client.search_runs([client.get_experiment_by_name("frenk-hr-binary").experiment_id], "tags.`frenk.step` = "
                                                                                                "'train'")
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and len(children) == 2, [(r.info.run_name, r.info.status) for r in runs]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["frenk.seed"] for r in children} == {"100", "101"}
    for child in children:
        curve = client.get_metric_history(child.info.run_id, "val/macro_f1")
        assert sorted(m.step for m in curve) == list(range(1, EPOCHS + 1))
        assert "test/macro_f1" in child.data.metrics and child.inputs.dataset_inputs
        assert "frenk.orphaned" not in child.data.tags
    assert "test/macro_f1_mean" in parents[0].data.metrics
    version = client.get_model_version_by_alias("frenk-hr", "candidate")
    assert version.run_id == parents[0].data.tags["frenk.best_run_id"]
    files = mlflow.artifacts.download_artifacts(client.get_model_version_download_uri("frenk-hr", version.version),
                                                tracking_uri=server.url)
    assert (Path(files) / "MLmodel").is_file()


#: imported by the training's Python (on its PYTHONPATH): urllib3's retry warnings, which nothing
#: prints by default, go to the training's log, so the test sees MLflow retry a request
SHOW_RETRIES = """import logging
_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter("urllib3: %(message)s"))
logging.getLogger("urllib3.connectionpool").addHandler(_handler)
"""


def test_a_server_that_restarts_within_the_retries_costs_the_training_nothing(server, prepared_sample, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SHOW_RETRIES)
    env = _env(server, retries=6, backoff=1)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    proc, log = _start_training(server, prepared_sample, tmp_path, env)
    try:
        _wait_for_first_epoch(server, proc, log)
        server.stop()
        time.sleep(15)  # longer than an epoch: the training's requests meet a stopped server
        server.start()
        assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    printed = log.read_text()
    assert "recover" not in printed
    # a request met the stopped server and MLflow retried it (with no retry the training would have
    # gone on without the server and saved a recovery folder)
    assert "urllib3: Retrying" in printed and "Connection refused" in printed, printed[-3000:]
    _check_complete_training(server)


def test_a_server_that_stays_down_leaves_a_recovery_folder_that_frenk_recover_logs(server, prepared_sample, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    env = _env(server, retries=1, backoff=0)
    proc, log = _start_training(server, prepared_sample, tmp_path, env)
    try:
        _wait_for_first_epoch(server, proc, log)
        server.stop()
        assert proc.wait(timeout=900) == 2, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    printed = log.read_text()
    errors = [line for line in printed.splitlines() if line.startswith("frenk: error:")]
    assert len(errors) == 1 and "Traceback" not in printed, printed[-3000:]
    assert f"tracking server at {server.url} went down during the training" in errors[0]
    folder = Path(errors[0].split("`frenk-recover --folder ")[1].split("`")[0])
    assert folder.parent == tmp_path and folder.name.startswith("frenk-recovery-")
    assert sorted(p.name for p in folder.iterdir()) == ["recovery.json", "state-data", "work"]
    assert any((folder / "work").rglob("model.safetensors"))  # the best seed's trained weights
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    # the server is back: the command the message named logs everything to the same runs
    server.start()
    recovered = subprocess.run([sys.executable, "-m", "frenk.steps.recover", "--folder", str(folder)], cwd=tmp_path,
                               env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert "logged the training saved in" in recovered.stdout and not folder.exists()
    _check_complete_training(server)


def test_recover_refuses_a_folder_that_is_not_a_recovery(tmp_path):
    from frenk.config import RecoverConfig
    from frenk.core.errors import ConfigError, TrackingError
    from frenk.steps.train_recovery import recover

    with pytest.raises(ConfigError, match="not a folder"):
        RecoverConfig(folder=str(tmp_path / "missing"))
    with pytest.raises(TrackingError, match="is not a recovery folder of frenk"):
        recover(RecoverConfig(folder=str(tmp_path)))
