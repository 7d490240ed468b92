"""tune -P parallel: a trial's seeds trained at once, each in a process of its own, record what
training them one after another records (values, seeds, tags, epoch curves, trainings), and the
race looks after each batch instead of after each seed."""

from __future__ import annotations

from pathlib import Path

import mlflow
import optuna
import pytest

from bench.known_truth import GRID_YAML, KNOWN_TRUTH, forget, graded, use
from frenk.config import TuneConfig
from frenk.data import load_prepared
from frenk.steps import tune
from frenk.training import fit, resolve
from frenk.tuning import SearchPlan, parse_space, search, trial_seeds
from frenk.tuning.racing import tuning_seeds

from ..helpers import all_runs


@pytest.fixture(autouse=True)
def _no_known_truth_afterwards():
    """The known-truth kind exists only during these tests (other tests list every preset)."""
    yield
    forget()


def _trial_records(outcome) -> list[dict]:
    client = mlflow.MlflowClient()
    records = []
    for number, run_id in sorted(outcome.trial_runs.items()):
        run = client.get_run(run_id)
        records.append({
            "trial": number, "state": run.data.tags["frenk.trial_state"], "seeds": run.data.tags["frenk.seeds"],
            "objective": run.data.metrics["objective"],
            "per_seed": [(m.step, m.value) for m in client.get_metric_history(run_id, "seed_objective")],
            "curve": [(m.step, m.value) for m in client.get_metric_history(run_id, "val/macro_f1")],
        })
    return records


@pytest.mark.slow
def test_seeds_trained_at_once_record_what_seeds_one_after_another_record(mlflow_store, prepared_sample, tmp_path):
    (tmp_path / "one.yaml").write_text("learning_rate: [2.0e-3]\nepochs: [2]\n")
    outcomes = {}
    for parallel in ("1", "2"):  # 2 of 3 seeds: a batch of two in processes, then the third alone here
        outcomes[parallel] = tune(TuneConfig(model="tiny", data=str(prepared_sample), space=str(tmp_path / "one.yaml"),
                                             seeds=3, race=False, parallel=parallel, max_length=32,
                                             storage=str(tmp_path / f"p{parallel}.journal")))
    one, two = (outcomes[p] for p in ("1", "2"))
    records = _trial_records(one)
    assert records == _trial_records(two)  # equal, not close: each seed's training on a CPU is deterministic
    seeds = tuning_seeds(3)
    assert records[0]["seeds"] == ",".join(map(str, seeds)) and [s for s, _ in records[0]["per_seed"]] == seeds
    assert [s for s, _ in records[0]["curve"]] == [1, 2, 1001, 1002, 2001, 2002]  # the epochs, in seed order
    assert one.result.trainings == two.result.trainings == one.result.new_trainings == two.result.new_trainings == 3
    assert one.result.best_value == two.result.best_value
    parents = [mlflow.get_run(o.run_id).data for o in (one, two)]
    assert parents[0].tags["frenk.seeds"] == parents[1].tags["frenk.seeds"] and parents[1].params["parallel"] == "2"
    assert len([r for r in all_runs() if r.data.tags.get("frenk.step") == "tune-trial"]) == 2


class InProcess:
    """Stands for frenk.training.SeedProcesses (the known-truth kind exists only in this process):
    each seed trains here when it is waited for; records the batches started."""

    batches: list[list[int]] = []

    def __init__(self, width: int) -> None:
        self.jobs: dict = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def start(self, seed, spec, data, settings, work, final=True) -> None:
        if not self.jobs:
            InProcess.batches.append([])
        InProcess.batches[-1].append(seed)
        self.jobs[seed] = (spec, data, settings, work, final)

    def result(self, seed, hooks):
        spec, data, settings, work, final = self.jobs.pop(seed)
        return fit(spec, data, settings, work, hooks, final)


@pytest.mark.parametrize("parallel, seeds_of_a_pruned_trial", [(1, 1), (2, 2), (3, None)])
def test_the_race_looks_after_each_batch(tmp_path, monkeypatch, prepared_sample, parallel, seeds_of_a_pruned_trial):
    monkeypatch.setattr(trial_seeds, "SeedProcesses", InProcess)
    InProcess.batches = []
    truth = use(graded(gaps=(0.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3), sd=0.01, seed=3))
    plan = SearchPlan(space=parse_space(GRID_YAML), study="s", storage=str(tmp_path / "j.journal"), seeds=3,
                      parallel=parallel)
    study, result = search(resolve(KNOWN_TRUTH), load_prepared(prepared_sample), plan, Path(tmp_path))
    pruned = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.PRUNED]
    assert len(truth.trained) == result.trainings == result.new_trainings
    if seeds_of_a_pruned_trial is None:  # every seed at once: the race cannot prune before all are trained
        assert not pruned and result.trainings == 27
    else:
        assert pruned and all(len(t.user_attrs["frenk.seed_values"]) == seeds_of_a_pruned_trial for t in pruned)
        assert result.trainings == 27 - (3 - seeds_of_a_pruned_trial) * len(pruned)
    assert all(len(b) == parallel for b in InProcess.batches) and bool(InProcess.batches) == (parallel > 1)
    assert result.best_params == {"learning_rate": truth.best[0], "epochs": truth.best[1]}


def test_auto_on_one_gpu_trains_a_trials_first_seed_alone_then_as_many_as_its_memory_allows(
        tmp_path, monkeypatch, prepared_sample):
    monkeypatch.setattr(trial_seeds, "SeedProcesses", InProcess)
    monkeypatch.setattr(trial_seeds, "measures_first", lambda parallel: parallel == "auto")  # as on one GPU
    measured = []

    def width(settings, first, remaining):
        measured.append(remaining)
        return settings, 2

    monkeypatch.setattr(trial_seeds, "measured_width", width)
    InProcess.batches = []
    truth = use(graded(sd=0.01, seed=4))
    plan = SearchPlan(space=parse_space(GRID_YAML), study="s", storage=str(tmp_path / "j.journal"), seeds=3,
                      race=False, parallel="auto")
    _, result = search(resolve(KNOWN_TRUTH), load_prepared(prepared_sample), plan, Path(tmp_path))
    seeds = tuning_seeds(3)
    assert measured == [2] * 9 and InProcess.batches == [seeds[1:]] * 9  # per trial: the first alone, then two
    assert result.trainings == len(truth.trained) == 27
