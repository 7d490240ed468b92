"""Issue 19 point 2: no secret in a parameter. A URL with a password is refused before anything is
logged (and a run that ``mlflow run`` logged with it is deleted); the stack's user database is the
owner's only. The canary password must be nowhere: not in a parameter, tag, artifact or log."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from frenk.config import TuneConfig
from frenk.core.secret_params import STORAGE_ENV, SecretInParameter, refuse_credentials, shown_storage, storage_url

from ..helpers import ROOT, mlflow_run, subprocess_env

CANARY = "Canary-7f3a9q"
LEAKY = f"postgresql://frenk:{CANARY}@127.0.0.1:9/optuna"


def test_a_url_with_a_password_is_refused_naming_the_safe_way():
    with pytest.raises(SecretInParameter) as refused:
        TuneConfig(model="tiny", storage=LEAKY)
    message = str(refused.value)
    assert CANARY not in message
    assert "postgresql://frenk@127.0.0.1:9/optuna" in message and "PGPASSWORD" in message and STORAGE_ENV in message
    with pytest.raises(SecretInParameter):
        refuse_credentials("data", f"https://ana:{CANARY}@example.org/x.csv")
    for fine in ("postgresql://frenk@127.0.0.1:9/optuna", "sqlite:///optuna.db", "optuna.journal", "a@b", ""):
        refuse_credentials("storage", fine)
    TuneConfig(model="tiny", storage="postgresql://frenk@127.0.0.1:9/optuna")


def test_the_storage_from_the_environment_is_used_and_shown_without_its_password(monkeypatch):
    monkeypatch.setenv(STORAGE_ENV, LEAKY)
    assert storage_url("") == LEAKY
    assert storage_url("other.journal") == "other.journal"
    assert shown_storage("") == f"${STORAGE_ENV}"  # the variable, never the URL it holds


def _everything_stored(root: Path) -> bytes:
    """Every byte under ``root``: the SQLite store, artifacts, logs."""
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def _all_runs(uri: str) -> list:
    client = mlflow.MlflowClient(uri)
    experiments = client.search_experiments(view_type=mlflow.entities.ViewType.ALL)
    return client.search_runs([e.experiment_id for e in experiments], run_view_type=mlflow.entities.ViewType.ALL)


@pytest.mark.slow
def test_mlflow_run_with_a_password_in_storage_logs_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    proc = mlflow_run("tune", {"model": "tiny", "data": "sample", "storage": LEAKY}, uri, tmp_path, timeout=300)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(errors) == 1 and "a password in a parameter" in errors[0], proc.stderr[-2000:]
    assert CANARY not in proc.stdout + proc.stderr  # not even MLflow's "Running command" line
    assert CANARY.encode() not in _everything_stored(tmp_path)
    assert _all_runs(uri) == []


@pytest.mark.slow
def test_a_run_mlflow_run_logged_with_the_password_is_deleted_for_good(tmp_path):
    """--experiment-name: MLflow does not ask frenk's experiment plugin, so it logs the parameters
    before the step starts; the step refuses them and deletes that run (mlflow gc on a local store)."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("chosen")
    run = client.create_run(experiment)
    client.log_param(run.info.run_id, "storage", LEAKY)  # as mlflow run does before the entry point starts
    env = subprocess_env(uri, MLFLOW_RUN_ID=run.info.run_id)
    proc = subprocess.run([sys.executable, str(ROOT / "entrypoints" / "tune.py"), "--model", "tiny", "--data", "sample",
                           "--storage", LEAKY], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(lines) == 1 and f"Its run {run.info.run_id}" in lines[0] and "deleted for good" in lines[0], proc.stderr
    assert CANARY not in proc.stdout + proc.stderr
    assert _all_runs(uri) == []
    assert CANARY.encode() not in _everything_stored(tmp_path)  # purged and vacuumed, not only marked deleted


def test_the_stacks_user_database_is_the_owners_only(tmp_path):
    from frenk.team.server import auth_env

    auth_env(tmp_path)
    users = tmp_path / "basic_auth.db"
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    sqlite3.connect(users).execute("CREATE TABLE t (x)")  # an empty file is a database MLflow can fill
    (tmp_path / "basic_auth.db").chmod(0o644)
    auth_env(tmp_path)  # a stack made before keeps its users and loses the others' read bit
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


def test_every_form_of_a_password_is_caught_and_hidden():
    from frenk.core.secret_params import argv_params, redact, url_password

    hidden = ["postgresql://u:pa/ss@h/db", "postgresql://u:p?a#s@h/db", "postgresql://u:p@ss@h/db",
              "postgresql://u@h/db?password=pa55", "postgresql:///db?host=h&user=u&password=pa55",
              "POSTGRESQL://U:PA55@H/DB", '{"url": "postgresql://u:pa55@h/db"}']
    for url in hidden:
        assert url_password(url), url
        assert not any(secret in redact(url) for secret in ("pa/ss", "p?a#s", "p@ss", "pa55", "PA55")), redact(url)
    for fine in ("postgresql://frenk@127.0.0.1:9/optuna", "http://127.0.0.1:5000", "sqlite:///x.db", "a@b", "tiny"):
        assert not url_password(fine), fine
    argv = ["-e", "tune", f"-Pstorage={LEAKY}", "-P", "a=b", "--param-list=c=d", "--param-list", "e=f"]
    assert argv_params(argv) == {"storage": LEAKY, "a": "b", "c": "d", "e": "f"}
