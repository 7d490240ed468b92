"""The tune step with seeds, on a temporary MLflow store and the known-truth learner
(bench/known_truth.py): what the trial runs and the parent record, and train refusing the seeds
the trials trained."""

from __future__ import annotations

import mlflow
import pytest

from bench.known_truth import GRID_YAML, KNOWN_TRUTH, forget, graded, use
from frenk.config import TrainConfig, TuneConfig
from frenk.core.errors import ConfigError
from frenk.steps import train, tune
from frenk.tuning.racing import tuning_seeds

from ..helpers import all_runs


@pytest.fixture(autouse=True)
def _no_known_truth_afterwards():
    """The known-truth kind exists only during these tests (other tests list every preset)."""
    yield
    forget()

@pytest.mark.slow
def test_trial_runs_carry_their_seeds_and_train_refuses_a_tuning_seed(mlflow_store, prepared_sample, tmp_path):
    truth = use(graded(gaps=(0.0, 0.01, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3), sd=0.005, seed=2))
    (tmp_path / "grid.yaml").write_text(GRID_YAML)
    outcome = tune(TuneConfig(model=KNOWN_TRUTH, data=str(prepared_sample), space=str(tmp_path / "grid.yaml"),
                              seeds=3, storage=str(tmp_path / "j.journal")))
    seeds = tuning_seeds(3)
    assert outcome.result.study.endswith("-s3")  # a study of 3 seeds has a name of its own
    trials = [r for r in all_runs() if r.data.tags.get("frenk.step") == "tune-trial"]
    assert len(trials) == 9
    client = mlflow.MlflowClient()
    for run in trials:
        trained = [int(s) for s in run.data.tags["frenk.seeds"].split(",")]
        assert trained == seeds[:len(trained)]
        history = client.get_metric_history(run.info.run_id, "seed_objective")
        assert [m.step for m in history] == trained
        assert run.data.metrics["objective"] == pytest.approx(sum(m.value for m in history) / len(history))
    pruned = [r for r in trials if r.data.tags["frenk.trial_state"] == "pruned"]
    assert sum(r.data.tags["frenk.seeds"] == str(seeds[0]) for r in pruned) >= 3  # clearly worse after one seed
    parent = mlflow.get_run(outcome.run_id)
    assert parent.data.tags["frenk.seeds"] == ",".join(map(str, seeds))
    assert parent.data.params["seeds"] == "3" and parent.data.metrics["budget_trainings"] == 27
    assert parent.data.metrics["trainings"] == len(truth.trained) < 27
    note = parent.data.tags["mlflow.note.content"]  # the run page says what the search found
    assert f"**Best**: trial {outcome.result.best_trial}, " in note and "(mean over 3 seeds)" in note
    assert f"{int(parent.data.metrics['trainings'])} training(s) of at most 27" in note
    assert f"-P params={outcome.run_id}" in note and "mlflow run . -e train" in note
    assert all(r.data.tags["mlflow.note.content"].startswith(f"Trial {r.data.tags['frenk.trial']}, ") for r in trials)
    tied = [int(t) for t in parent.data.tags["frenk.tied_trials"].split(",")]
    assert int(parent.data.tags["frenk.best_trial"]) in tied

    with pytest.raises(ConfigError, match=r"seed\(s\) 1000001 were trained by that tune run's trials .*"
                                          r"reuse_tuning_seeds=true"):
        train(TrainConfig(model=KNOWN_TRUTH, data=str(prepared_sample), params=outcome.run_id, seed=seeds[1]))
    assert not [r for r in all_runs() if r.data.tags.get("frenk.step") == "train"]  # refused before any run
