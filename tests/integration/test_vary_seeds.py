"""train -P vary with a real MLflow store: each seed's run records its init and data seed, compare
pairs by them and splits a crossed system's spread, and a stopped training resumes as the same vary."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from frenk.comparison.variance_split import components
from frenk.config import CompareConfig, TrainConfig
from frenk.steps import compare, train
from frenk.training import TrainListener

from ..helpers import all_runs, fast_args

pytestmark = pytest.mark.slow

#: a tiny training that learns something in seconds (one epoch at the preset's rate stays at the majority class)
LEARNS = fast_args(num_train_epochs=2, learning_rate=0.005, max_seq_length=32)


def _children(parent_run_id: str) -> list:
    return [r for r in all_runs() if r.data.tags.get("mlflow.parentRunId") == parent_run_id]


def _seeds(run) -> tuple[int, int, int]:
    tags = run.data.tags
    return int(tags["frenk.seed"]), int(tags["frenk.init_seed"]), int(tags["frenk.data_seed"])


def test_a_crossed_training_is_tagged_and_compare_splits_its_spread(mlflow_store, prepared_sample):
    tiny = train(TrainConfig(model="tiny", data=str(prepared_sample), repeats=4, vary="cross", args=LEARNS,
                             register=""))
    tfidf = train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=4, vary="cross", register=""))
    runs = _children(tiny.parent_run_id)
    assert sorted(_seeds(r) for r in runs) == [(42, 42, 42), (43, 42, 43), (44, 43, 42), (45, 43, 43)]
    assert {r.data.params["vary"] for r in runs} == {"cross"}
    assert mlflow.get_run(tiny.parent_run_id).data.params["vary"] == "cross"
    report = compare(CompareConfig(group="hr-binary", pairing="seed")).report
    by_seeds = {_seeds(r)[1:]: r.data.metrics["test/macro_f1"] for r in runs}
    assert len(set(by_seeds.values())) > 1
    table = np.array([[by_seeds[(i, d)] for d in (42, 43)] for i in (42, 43)])
    split = report.variance_splits["tiny"]
    assert (split.n_init, split.n_data, split.metric) == (2, 2, "macro_f1")
    assert (split.init, split.data, split.residual) == pytest.approx(
        (components(table).init, components(table).data, components(table).residual), abs=1e-12)
    assert report.variance_splits["tfidf"].total == 0  # a deterministic learner: nothing to split
    pair = report.comparisons[0]
    assert pair.paired and pair.n_a == 4  # the same init and data seed on both sides
    markdown = compare(CompareConfig(group="hr-binary")).markdown
    assert "- tiny (2 init seeds x 2 data seeds, macro_f1): variance" in markdown
    assert "- tfidf (2 init seeds x 2 data seeds, macro_f1): no spread to split" in markdown
    assert {_seeds(r) for r in _children(tfidf.parent_run_id)} == {_seeds(r) for r in runs}


def test_a_stopped_vary_init_training_resumes_as_vary_init_only(mlflow_store, prepared_sample):
    epochs: list[int] = []

    def stop_at_the_third(epoch: int, metrics: dict) -> None:
        epochs.append(epoch)
        if len(epochs) == 3:
            raise KeyboardInterrupt

    started: list[int] = []

    class Started(TrainListener):
        def on_seed_start(self, seed: int) -> None:
            started.append(seed)

    def config(vary: str) -> TrainConfig:
        return TrainConfig(model="tfidf", data=str(prepared_sample), repeats=3, vary=vary, register="")

    with pytest.raises(KeyboardInterrupt):
        train(config("init"), [stop_at_the_third])  # seeds 42 and 43 finished, 44 stopped
    train(config("both"), [Started()])  # seed 43 there is init 43, data 43: another training
    assert started == [42, 43, 44]
    started.clear()
    done = train(config("init"), [Started()])
    assert started == [44] and [r.seed for r in done.runs] == [42, 43, 44]
    assert sorted(_seeds(r) for r in _children(done.parent_run_id)) == [(42, 42, 42), (43, 43, 42), (44, 44, 42)]
