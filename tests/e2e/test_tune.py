"""The tune step on real Optuna storage and a real MLflow store: a grid that ends and never
repeats itself, pruning, workers sharing one journal, the closed test split, interruption and
resumption, and train taking the best parameters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
import pytest

from frenk.config import TrainConfig, TuneConfig
from frenk.core.errors import DataError
from frenk.data import load_prepared, without_test
from frenk.training import TrainSettings, fit, resolve

from ..helpers import ROOT, all_runs, mlflow_run

GRID = "learning_rate: [1.0e-3, 2.0e-3, 4.0e-3]\nwarmup_ratio: [0.0, 0.1, 0.2]\nepochs: [1]\n"
FAST = {"max_length": 32}


def _journal_study(path: Path, name: str) -> optuna.Study:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(path))))


def _runs(uri: str, **filters) -> list:
    mlflow.set_tracking_uri(uri)
    runs = all_runs()
    return [r for r in runs if all(r.data.tags.get(k) == v for k, v in filters.items())]


@pytest.mark.slow
def test_a_grid_raced_over_three_seeds_runs_each_point_once_a_rerun_trains_nothing_and_train_takes_other_seeds(
        tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    params = {"model": "tiny", "data": "sample", "space": tmp_path / "grid.yaml", "storage": tmp_path / "study.journal",
              "seeds": 3, **FAST}
    first = mlflow_run("tune", params, uri, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "9 new trial(s), 9 in all" in first.stdout and "sampler grid, pruner none within a seed; seeds raced" in first.stdout
    assert "of a budget of 9 trial(s) x 3 seed(s) = 27 at most (seeds 1000000, 1000001, 1000002)" in first.stdout
    trials = _runs(uri, **{"frenk.step": "tune-trial"})
    assert sorted(int(r.data.tags["frenk.trial"]) for r in trials) == list(range(9))
    assert {r.data.tags["frenk.trial_state"] for r in trials} <= {"complete", "pruned"}
    assert len({(r.data.params["learning_rate"], r.data.params["warmup_ratio"]) for r in trials}) == 9
    seeds = {int(r.data.tags["frenk.trial"]): r.data.tags["frenk.seeds"] for r in trials}
    assert set(seeds.values()) <= {"1000000", "1000000,1000001", "1000000,1000001,1000002"}
    (parent,) = _runs(uri, **{"frenk.step": "tune"})
    assert parent.data.tags["frenk.sampler"] == "grid" and parent.data.tags["frenk.study"].startswith("tiny-hr-binary-")
    assert parent.data.tags["frenk.seeds"] == "1000000,1000001,1000002"
    assert seeds[int(parent.data.tags["frenk.best_trial"])] == "1000000,1000001,1000002"  # the best has every seed
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in trials)
    history = mlflow.MlflowClient().get_metric_history(trials[0].info.run_id, "val/macro_f1")
    assert [m.step for m in history] == [1000 * i + 1 for i in range(len(seeds[int(trials[0].data.tags["frenk.trial"])].split(",")))]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id)}
    assert {"best_params.json", "trials.csv", "plots"} <= artifacts
    best = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="best_params.json",
                                                               dst_path=str(tmp_path / "dl"))).read_text())
    assert parent.data.tags["frenk.best_trial"] == str(best["trial"]) and best["seeds"] == [1000000, 1000001, 1000002]
    best_line = next(line for line in first.stdout.splitlines() if line.startswith("best val_macro_f1"))
    assert "over 3 seeds" in best_line
    trainings = parent.data.metrics["trainings"]

    again = mlflow_run("tune", params, uri, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 new trial(s), 9 in all" in again.stdout and best_line in again.stdout
    assert f"trainings: 0 new, {int(trainings)} in all" in again.stdout
    assert len(_runs(uri, **{"frenk.step": "tune-trial"})) == 9

    trained = mlflow_run("train", {"model": "tiny", "data": "sample", "params": parent.info.run_id, "repeats": 3,
                                   **FAST}, uri, tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    runs = _runs(uri, **{"frenk.step": "train", "frenk.tune_run": parent.info.run_id})
    trained_seeds = {int(r.data.tags["frenk.seed"]) for r in runs if "frenk.seed" in r.data.tags}
    assert trained_seeds == {42, 43, 44} and not trained_seeds & {1000000, 1000001, 1000002}


@pytest.mark.slow
def test_tpe_with_the_median_pruner_prunes_and_train_takes_the_best_parameters(mlflow_store, prepared_sample, tmp_path):
    from frenk.steps import train, tune

    (tmp_path / "range.yaml").write_text("learning_rate: {low: 1.0e-6, high: 1.0e-2, log: true}\nepochs: [3]\n")
    outcome = tune(TuneConfig(model="tiny", data=str(prepared_sample), space=str(tmp_path / "range.yaml"), trials=6,
                              seeds=1, storage=str(tmp_path / "j.journal"), **FAST))
    assert outcome.result.sampler == "tpe" and outcome.result.pruner == "median"
    states = {r.data.tags["frenk.trial_state"] for r in _runs(mlflow_store, **{"frenk.step": "tune-trial"})}
    assert "pruned" in states and "complete" in states
    best = outcome.result.best_params

    trained = train(TrainConfig(model="tiny", data=str(prepared_sample), params=outcome.run_id, **FAST))
    run = mlflow.get_run(trained.best.run_id)
    assert float(run.data.params["learning_rate"]) == pytest.approx(best["learning_rate"])
    assert float(run.data.params["epochs"]) == 3 and run.data.tags["frenk.tune_run"] == outcome.run_id

    path = mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="best_params.json", dst_path=str(tmp_path))
    cfg = TrainConfig(model="tiny", data=str(prepared_sample), params=path, args='{"num_train_epochs": 1}')
    assert cfg.learning_rate == pytest.approx(best["learning_rate"]) and cfg.epochs == 1  # args still override
    with pytest.raises(Exception, match="not a tune run"):
        train(TrainConfig(model="tiny", data=str(prepared_sample), params=trained.best.run_id))


@pytest.mark.slow
def test_tuning_never_reads_the_test_split(prepared_sample, tmp_path):
    data = without_test(load_prepared(prepared_sample))
    with pytest.raises(DataError, match="test split is closed"):
        data.splits["test"]
    settings = TrainSettings(epochs=1, learning_rate=2e-3, batch_size=32, max_length=32)
    (tmp_path / "a").mkdir()
    result = fit(resolve("tiny"), data, settings, tmp_path / "a", final=False)  # a trial: validation only
    assert 0 <= result.validation["val_macro_f1"] <= 1 and result.evaluation is None and result.model_dir is None
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match="test split is closed"):
        fit(resolve("tiny"), data, settings, tmp_path / "b", final=True)  # the guard is real


def _tune_process(tmp_path: Path, uri: str, study: str, space: Path, journal: Path) -> subprocess.Popen:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "TMPDIR": str(tmp_path / "tmp"), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, str(ROOT / "entrypoints" / "tune.py"), "--model", "tiny", "--data", "sample",
           "--space", str(space), "--storage", str(journal), "--study", study, "--max-length", "32", "--seeds", "1"]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _init_store(uri: str) -> None:
    mlflow.set_tracking_uri(uri)
    mlflow.search_experiments()  # creates the schema once, before workers start together


@pytest.mark.slow
def test_two_workers_divide_a_grid_on_one_journal(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "grid.yaml").write_text(GRID)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    _init_store(uri)
    journal = tmp_path / "shared.journal"
    workers = [_tune_process(tmp_path, uri, "shared", tmp_path / "grid.yaml", journal) for _ in range(2)]
    outputs = [w.communicate(timeout=900) for w in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=False):
        assert worker.returncode == 0, err[-3000:]
    trials = [t for t in _journal_study(journal, "shared").get_trials()
              if "frenk.surplus" not in t.user_attrs]  # two workers at the end of the budget: one trains nothing
    assert len(trials) == 9 and {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 9
    assert not [t for t in trials if "frenk.duplicate_of" in t.user_attrs]
    new = [int(out.split(" new trial")[0].rsplit(" ", 1)[-1]) for out, _ in outputs]
    assert sum(new) == 9 and all(n >= 1 for n in new)  # both did work


@pytest.mark.slow
def test_sigterm_marks_the_trial_killed_and_the_same_command_resumes(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "grid.yaml").write_text("learning_rate: [1.0e-3, 4.0e-3]\nepochs: [8, 10]\n")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    _init_store(uri)
    journal = tmp_path / "j.journal"
    worker = _tune_process(tmp_path, uri, "resume", tmp_path / "grid.yaml", journal)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if journal.exists():
            trials = _journal_study(journal, "resume").get_trials()
            # inside the second trial's training: it reported an epoch and has at least 7 to go
            if any(t.state == optuna.trial.TrialState.COMPLETE for t in trials) and any(
                    t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values for t in trials):
                break
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=120)
    assert worker.returncode != 0 and "run the same command again to resume it" in err
    assert "Traceback" not in err
    statuses = {r.info.status for r in _runs(uri)}
    assert "RUNNING" not in statuses and "KILLED" in statuses
    killed = [r for r in _runs(uri, **{"frenk.step": "tune-trial"}) if r.info.status == "KILLED"]
    assert killed and killed[0].data.tags["frenk.trial_state"] == "failed"
    assert [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("frenk-")] == []  # work folders removed
    done_before = [t.params for t in _journal_study(journal, "resume").get_trials()
                   if t.state == optuna.trial.TrialState.COMPLETE]

    again = _tune_process(tmp_path, uri, "resume", tmp_path / "grid.yaml", journal)
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0, err[-3000:]
    trials = _journal_study(journal, "resume").get_trials()
    complete = [t.params for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4 and len({tuple(sorted(p.items())) for p in complete}) == 4
    assert all(p in complete for p in done_before)  # finished trials kept, not rerun
    assert f"{4 - len(done_before)} new trial(s)" in out
