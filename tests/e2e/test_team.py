"""A lab's set-up, with real processes: a PostgreSQL server, `frenk-serve` (mlflow server on it with
served artifacts and basic-auth) on a free loopback port, the sample pipeline through `mlflow run`
checked through the REST API the UI uses, two trainings at once, two tune workers on one
PostgreSQL Optuna storage, a reader, a wrong password, and a tracking server that is down.

PostgreSQL: FRENK_TEST_POSTGRES_URL (`.ci/run` starts one), else a local cluster initialised in a
temporary folder. Without either these tests fail in CI (CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from frenk.core.errors import TrackingError
from frenk.core.secret_params import STORAGE_ENV
from frenk.team.server import (
    create_database,
    free_port,
    local_postgres,
    postgres_bindir,
    start_mlflow_server,
    stop_process,
    wait_healthy,
    with_database,
)

from ..helpers import ROOT, mlflow_run, without_mlflow_vars

pytestmark = pytest.mark.slow
IN_CI = os.environ.get("CI", "").lower() == "true"
GRID = "learning_rate: [1.0e-3, 2.0e-3, 4.0e-3]\nwarmup_ratio: [0.0, 0.1, 0.2]\nepochs: [1]\n"


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason}; in CI, .ci/run must install and start PostgreSQL (FRENK_TEST_POSTGRES_URL)")
    pytest.skip(f"{reason}: these tests need a PostgreSQL server (set FRENK_TEST_POSTGRES_URL, or "
                "`apt-get install postgresql` for a local cluster)")


@pytest.fixture(scope="module")
def postgres_url():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the PostgreSQL driver psycopg is not installed (pip install -e '.[dev]')")
    url = os.environ.get("FRENK_TEST_POSTGRES_URL")
    if url:
        try:
            create_database(url, "postgres")
        except TrackingError as exc:
            _unavailable(str(exc))
        yield url
        return
    try:
        postgres_bindir()
    except TrackingError as exc:
        _unavailable(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="frenk-pg-"))  # under /tmp: reachable by the postgres user
    folder.chmod(0o755)
    try:
        with local_postgres(folder / "pg") as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Team:
    """The running stack and the admin's credentials."""

    def __init__(self, url: str, password: str, optuna: str, work: Path):
        self.url, self.password, self.optuna, self.work = url, password, optuna, work
        self.printed: list[str] = []  # everything the processes printed, searched for credentials

    def env(self, user: str = "admin", password: str | None = None) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.url, "MLFLOW_TRACKING_USERNAME": user,
                "MLFLOW_TRACKING_PASSWORD": self.password if password is None else password}

    def api(self, method: str, path: str, **kwargs) -> dict:
        answer = requests.request(method, self.url + path, auth=("admin", self.password), timeout=30, **kwargs)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
        return answer.json()

    def run(self, entry_point: str, params: dict, **kwargs):
        proc = mlflow_run(entry_point, params, self.url, self.work, env_vars=self.env(), **kwargs)
        self.printed += [proc.stdout, proc.stderr]
        assert proc.returncode == 0, proc.stderr[-4000:]
        return proc

    def entry(self, step: str, args: list[str], env: dict[str, str], timeout: int = 900):
        """`python entrypoints/<step>.py ...` (no `mlflow run`: a reader cannot create its run)."""
        proc = subprocess.run([sys.executable, str(ROOT / "entrypoints" / f"{step}.py"), *args], cwd=self.work,
                              env={**without_mlflow_vars(), **env}, capture_output=True, text=True, timeout=timeout)
        self.printed += [proc.stdout, proc.stderr]
        return proc


@pytest.fixture(scope="module")
def team(postgres_url, tmp_path_factory):
    """`python -m frenk.team.server --auth` on free ports, started and stopped as a user would."""
    data = tmp_path_factory.mktemp("team")
    prefix = f"t{secrets.token_hex(4)}_"
    port = free_port()
    password = secrets.token_urlsafe(12)
    env = {**without_mlflow_vars(), "MLFLOW_AUTH_ADMIN_PASSWORD": password}
    cmd = [sys.executable, "-m", "frenk.team.server", "--data-dir", str(data / "stack"), "--port", str(port),
           "--postgres-url", postgres_url, "--db-prefix", prefix, "--auth", "--workers", "2"]
    out = open(data / "stack.out", "w+")  # noqa: SIM115 (the server writes to it until the fixture ends)
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while "is up" not in (data / "stack.out").read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, (data / "stack.out").read_text()[-3000:]
            time.sleep(1)
        printed = (data / "stack.out").read_text()
        assert f"export MLFLOW_TRACKING_URI=http://127.0.0.1:{port}" in printed, printed
        assert "MLFLOW_TRACKING_USERNAME" in printed and password not in printed
        (data / "work").mkdir()
        yield Team(f"http://127.0.0.1:{port}", password, with_database(postgres_url, f"{prefix}optuna"), data / "work")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        out.close()
    assert proc.returncode == 0 and "stack stopped" in (data / "stack.out").read_text()


@pytest.fixture(scope="module")
def pipeline(team):
    """The sample pipeline through `mlflow run` as the admin: preprocess, train tiny and tfidf with
    two seeds each in group hr-binary, compare, publish."""
    data = team.work / "data" / "hr"
    team.run("preprocess", {"source": "sample", "output": data})
    team.run("train", {"model": "tiny", "data": data, "repeats": 2, "group": "hr-binary", "max_length": 32,
                       "args": '{"num_train_epochs": 1}'})
    team.run("train", {"model": "tfidf", "data": data, "repeats": 2, "group": "hr-binary"})
    team.run("compare", {"group": "hr-binary"})
    team.run("publish", {"name": "frenk-hr", "version": 1, "output": team.work / "hf", "force": "true"})  # tiny: tfidf has no HF folder
    return data


def _runs(team: Team) -> list[dict]:
    experiments = team.api("POST", "/api/2.0/mlflow/experiments/search", json={"max_results": 1000})["experiments"]
    ids = [e["experiment_id"] for e in experiments]
    found = team.api("POST", "/api/2.0/mlflow/runs/search", json={"experiment_ids": ids, "max_results": 1000})
    return found.get("runs", [])


def _experiment_id(team: Team, name: str) -> str:
    return team.api("GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name})["experiment"]["experiment_id"]


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def test_the_sample_pipeline_on_postgresql_with_served_artifacts(team, pipeline):
    runs = _runs(team)
    steps = [_tags(r).get("frenk.step") for r in runs]
    assert steps.count("preprocess") == 1 and steps.count("compare") == 1 and steps.count("publish") == 1
    train = [r for r in runs if _tags(r).get("frenk.step") == "train"]
    assert len(train) == 6 and {r["info"]["status"] for r in runs} == {"FINISHED"}  # 2 parents + 4 seeds
    seeds = [r for r in train if "frenk.seed" in _tags(r)]
    assert {_tags(r)["frenk.model"] for r in seeds} == {"tiny", "tfidf"} and len(seeds) == 4
    assert all({m["key"] for m in r["data"]["metrics"]} >= {"test/macro_f1", "val/final_macro_f1"} for r in seeds)
    where = {r["info"]["experiment_id"] for r in runs}  # all in the experiment of hr/binary, none in Default
    assert where == {_experiment_id(team, "frenk-hr-binary")}
    assert all(_tags(r)["frenk.group"] == "hr-binary" for r in train)
    assert all(r["inputs"].get("dataset_inputs") for r in seeds)  # the splits as MLflow datasets
    model = team.api("GET", "/api/2.0/mlflow/registered-models/get", params={"name": "frenk-hr"})["registered_model"]
    aliases = {a["alias"]: a["version"] for a in model.get("aliases", [])}
    assert {"candidate", "champion"} <= set(aliases)
    compare_run = next(r for r in runs if _tags(r).get("frenk.step") == "compare")
    listed = team.api("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": compare_run["info"]["run_id"]})
    assert "report.json" in {f["path"] for f in listed["files"]}
    report = requests.get(team.url + "/get-artifact", auth=("admin", team.password), timeout=30,
                          params={"path": "report.json", "run_uuid": compare_run["info"]["run_id"]})
    assert report.status_code == 200 and json.loads(report.content)["systems"]  # downloadable as the UI does
    assert (team.work / "hf" / "README.md").is_file() and (team.work / "hf" / "config.json").is_file()


def _everything_logged(team: Team, dst: Path) -> str:
    """Params, tags, metrics and every artifact of every run, as one text."""
    import mlflow

    os.environ.update(team.env())
    try:
        client = mlflow.MlflowClient(tracking_uri=team.url)
        parts = []
        for run in _runs(team):
            parts.append(json.dumps(run))
            local = client.download_artifacts(run["info"]["run_id"], "", str(dst / run["info"]["run_id"]))
            for path in Path(local).rglob("*"):
                if path.is_file():
                    parts.append(path.read_bytes().decode("latin-1"))
        return "\n".join(parts)
    finally:
        for key in team.env():
            os.environ.pop(key, None)


def test_no_credential_is_logged_or_printed(team, pipeline, tmp_path):
    logged = _everything_logged(team, tmp_path)
    basic = base64.b64encode(f"admin:{team.password}".encode()).decode()
    for secret in (team.password, basic):
        assert secret not in logged
        assert not [text for text in team.printed if secret in text]
    assert len(logged) > 10_000  # the search really read the artifacts


def _one_line_error(proc, *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(errors) == 1 and all(n in errors[0] for n in needles), proc.stderr[-3000:]
    return errors[0]


def test_a_reader_compares_but_cannot_publish_and_a_wrong_password_is_one_line(team, pipeline):
    team.api("POST", "/api/2.0/mlflow/users/create", json={"username": "reader", "password": "reader-pass-1"})
    reader = team.env("reader", "reader-pass-1")
    before = _runs(team)
    compared = team.entry("compare", ["--group", "hr-binary"], reader)
    assert compared.returncode == 0, compared.stderr[-3000:]
    # the compare run would go to the experiment of the runs it compares (mlflow run put them in frenk-hr-binary)
    where = _experiment_id(team, "frenk-hr-binary")
    assert f"compare report not logged: you may only read experiment '{where}' (READ)" in compared.stdout
    model = team.api("GET", "/api/2.0/mlflow/registered-models/get", params={"name": "frenk-hr"})["registered_model"]
    out = team.work / "reader-hf"
    refused = team.entry("publish", ["--name", "frenk-hr", "--version", "1", "--output", str(out), "--force", "true"],
                         reader)
    _one_line_error(refused, "user 'reader' has no write permission on", "registered model 'frenk-hr' (READ)",
                    "nothing was changed")
    after = team.api("GET", "/api/2.0/mlflow/registered-models/get", params={"name": "frenk-hr"})["registered_model"]
    assert after["aliases"] == model["aliases"] and not out.exists() and len(_runs(team)) == len(before)

    # train and tune are refused before any work: no run, no version, no download
    trained = team.entry("train", ["--model", "tfidf", "--data", str(pipeline), "--group", "hr-binary"], reader)
    _one_line_error(trained, "user 'reader' has no write permission on", f"experiment '{where}' (READ)",
                    "registered model 'frenk-hr' (READ)")
    tuned = team.entry("tune", ["--model", "tiny", "--data", str(pipeline)], reader)
    _one_line_error(tuned, "user 'reader' has no write permission on", f"experiment '{where}' (READ)")
    through = mlflow_run("train", {"model": "tfidf", "data": pipeline}, team.url, team.work, env_vars=reader)
    _one_line_error(through, "user 'reader' has no write permission on", f"experiment '{where}' (READ)")
    assert len(_runs(team)) == len(before)

    wrong = team.entry("compare", ["--group", "hr-binary"], team.env("admin", "not-the-password"))
    _one_line_error(wrong, "refused the credentials of user 'admin' (HTTP 401)")
    assert "not-the-password" not in wrong.stderr + wrong.stdout
    through = mlflow_run("compare", {"group": "hr-binary"}, team.url, team.work,
                         env_vars=team.env("admin", "not-the-password"))
    _one_line_error(through, "refused the credentials")


def test_two_trainings_at_once_get_distinct_versions_and_candidate_ends_on_the_newer(team, pipeline):
    args = ["--model", "tfidf", "--data", str(pipeline), "--register", "frenk-race", "--group", "race"]
    env = {**without_mlflow_vars(), **team.env()}
    procs = [subprocess.Popen([sys.executable, str(ROOT / "entrypoints" / "train.py"), *args, "--seed", str(seed)],
                              cwd=team.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        team.printed += [out, err]
        assert proc.returncode == 0, err[-3000:]
    versions = team.api("GET", "/api/2.0/mlflow/model-versions/search", params={"filter": "name='frenk-race'"})
    numbers = sorted(int(v["version"]) for v in versions["model_versions"])
    assert numbers == [1, 2]
    model = team.api("GET", "/api/2.0/mlflow/registered-models/get", params={"name": "frenk-race"})["registered_model"]
    # tfidf versions carry the alias baseline (candidate is for transformers); the same race rule holds
    assert {a["alias"]: a["version"] for a in model["aliases"]}["baseline"] == "2"


def test_two_tune_workers_share_a_postgresql_optuna_storage(team, pipeline):
    import optuna

    (team.work / "grid.yaml").write_text(GRID)
    env = {**without_mlflow_vars(), **team.env(), "PYTHONUNBUFFERED": "1"}
    # the password of the storage only in the environment (a -P storage= with one is refused)
    env[STORAGE_ENV] = team.optuna
    cmd = [sys.executable, str(ROOT / "entrypoints" / "tune.py"), "--model", "tiny", "--data", str(pipeline),
           "--space", str(team.work / "grid.yaml"), "--study", "shared", "--max-length", "32", "--seeds", "1"]
    workers = [subprocess.Popen(cmd, cwd=team.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for worker in workers:
        out, err = worker.communicate(timeout=1200)
        assert worker.returncode == 0, err[-3000:]
    trials = [t for t in optuna.load_study(study_name="shared", storage=team.optuna).get_trials()
              if "frenk.surplus" not in t.user_attrs]  # two workers at the end of the budget: one trains nothing
    assert len(trials) == 9 and {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 9


def test_a_stopped_server_is_one_line_within_seconds_also_through_mlflow_run(tmp_path):
    plugins = {e.name for e in importlib.metadata.entry_points(group="mlflow.request_header_provider")}
    assert "frenk-preflight" in plugins, "the mlflow plugin is not registered: reinstall with `pip install -e .`"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_mlflow_server(f"sqlite:///{tmp_path}/mlflow.db", tmp_path / "artifacts", "127.0.0.1", port, 1, {},
                               tmp_path / "server.log")
    try:
        wait_healthy(url, proc, tmp_path / "server.log")
    finally:
        stop_process(proc)  # a real server, really stopped
    start = time.monotonic()
    through = mlflow_run("compare", {"group": "hr-binary"}, url, tmp_path, timeout=120)
    line = _one_line_error(through, f"tracking server at {url} is not reachable", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    assert time.monotonic() - start < 30 and re.search(r"\d+ s timeout", line)
    start = time.monotonic()
    direct = subprocess.run([sys.executable, str(ROOT / "entrypoints" / "train.py"), "--model", "tfidf", "--data",
                             "sample"], cwd=tmp_path, env={**without_mlflow_vars(), "MLFLOW_TRACKING_URI": url},
                            capture_output=True, text=True, timeout=120)
    _one_line_error(direct, "is not reachable")
    assert time.monotonic() - start < 30


def test_a_local_cluster_is_initialised_started_and_stopped(postgres_url):
    try:
        bindir = postgres_bindir()
    except TrackingError as exc:
        _unavailable(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="frenk-pg-"))
    folder.chmod(0o755)
    try:
        with local_postgres(folder / "pg") as url:
            created = create_database(url, "probe")
            import psycopg

            with psycopg.connect(created, connect_timeout=10) as conn:
                assert conn.execute("SELECT current_database()").fetchone() == ("probe",)
        status = subprocess.run([str(bindir / "pg_ctl"), "status", "-D", str(folder / "pg" / "pgdata")],
                                capture_output=True, text=True, user="postgres" if os.geteuid() == 0 else None)
        assert "no server running" in status.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
