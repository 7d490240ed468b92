"""The simpletransformers engine (``engine=simpletransformers``): checks before training, and a
run through `mlflow run` that is logged like the default engine's and compared beside it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mlflow
import pytest

from frenk.config import CompareConfig, TrainConfig
from frenk.core.errors import ConfigError
from frenk.steps import compare, train
from frenk.training import TrainSettings, check_engine
from frenk.training.simpletransformers_engine import EXTRA, st_model_type

from ..helpers import ROOT, all_runs, fast_args, mlflow_run

FAST = fast_args(num_train_epochs=2)


def test_engine_checks_come_before_training(monkeypatch):
    def settings(**values):
        return TrainSettings(**{"epochs": 2, "learning_rate": 1e-3, "batch_size": 8, "engine": "simpletransformers", **values})

    with pytest.raises(ConfigError, match="TF-IDF baseline has its own"):
        check_engine(settings(), "tfidf")
    with pytest.raises(ConfigError, match="use one of frenk, simpletransformers"):
        check_engine(settings(engine="fairseq"), "transformer")
    with pytest.raises(ConfigError, match="whole epochs"):
        check_engine(settings(epochs=1.5), "tiny")
    with pytest.raises(ConfigError, match="precision=bf16"):
        check_engine(settings(precision="bf16"), "transformer")
    check_engine(settings(engine="frenk", epochs=1.5, precision="bf16"), "tfidf")  # nothing to refuse there
    check_engine(settings(), "tiny")  # installed in the test environment
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "simpletransformers" else find_spec(name, *a))
    with pytest.raises(ConfigError, match=rf"pip install '{EXTRA.replace('[', '.').replace(']', '.')}'"):
        check_engine(settings(), "transformer")


@pytest.mark.slow
def test_the_train_step_refuses_before_anything_is_logged(mlflow_store, prepared_sample):
    with pytest.raises(ConfigError, match="whole epochs"):
        train(TrainConfig(model="tiny", data=str(prepared_sample), engine="simpletransformers", epochs=1.5))
    assert all_runs() == []


def test_a_folder_named_like_a_checkpoint_is_refused(tmp_path):
    from frenk.training.simpletransformers_engine import check_not_a_checkpoint_name

    for name in ("model-3", "checkpoint-500-epoch-2", "seed-42"):
        (tmp_path / name).mkdir()
        with pytest.raises(ConfigError, match="rename the folder"):
            check_not_a_checkpoint_name(str(tmp_path / name))
    for name in ("base", "bertic-frenk", "model-v2"):
        (tmp_path / name).mkdir()
        check_not_a_checkpoint_name(str(tmp_path / name))
    check_not_a_checkpoint_name("classla/bcms-bertic")  # a Hub id, not a folder


@pytest.mark.slow
def test_model_type_comes_from_the_checkpoint(tiny_models):
    # simpletransformers picks its model class by this name: ELECTRA must never be loaded as BERT
    assert st_model_type(str(tiny_models["electra"])) == "electra"
    assert st_model_type(str(tiny_models["bert"])) == "bert"


def _params_and_metrics(run) -> tuple[set, set]:
    return set(run.data.params), set(run.data.metrics)


@pytest.mark.slow
def test_simpletransformers_run_is_logged_like_the_default_and_compared_beside_it(mlflow_store, private_tmp):
    work = Path.cwd()
    before = set(ROOT.iterdir())  # `mlflow run` runs the command in the project folder
    proc = mlflow_run("train", {"model": "tiny", "data": "sample", "engine": "simpletransformers", "repeats": 2,
                                "args": FAST}, mlflow_store, work, env_vars={"TMPDIR": str(private_tmp)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Map:" not in proc.stderr + proc.stdout  # quiet: no progress bars of its tokenising
    default = train(TrainConfig(model="tiny", data="sample", repeats=2, args=FAST))

    runs = all_runs(
                              filter_string="tags.`frenk.step` = 'train'")
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    by_engine = {e: [r for r in children if r.data.tags["frenk.engine"] == e] for e in ("frenk", "simpletransformers")}
    assert [len(v) for v in by_engine.values()] == [2, 2]
    reference = by_engine["frenk"][0]
    client = mlflow.MlflowClient()
    for run in by_engine["simpletransformers"]:
        assert run.info.status == "FINISHED" and run.data.params["engine"] == "simpletransformers"
        # the same params, metrics, artifacts and checks as a default-engine run
        assert _params_and_metrics(run) == _params_and_metrics(reference)
        assert run.data.params["epochs"] == "2.0" and run.data.params["max_length"] == "64"
        assert run.data.tags["frenk.reload_check"] == "passed"
        assert [m.step for m in client.get_metric_history(run.info.run_id, "val/macro_f1")] == [1, 2]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert artifacts == {a.path for a in client.list_artifacts(reference.info.run_id)}
        # it learns: a model that predicts one class scores about 0.33 (2 epochs of tiny reach about 0.75)
        assert run.data.metrics["val/final_macro_f1"] > 0.5 and run.data.metrics["test/macro_f1"] > 0.5
    versions = client.search_model_versions("name='frenk-hr'")
    assert {client.get_run(v.run_id).data.tags["frenk.engine"] for v in versions} == {"frenk", "simpletransformers"}
    st_version = next(v for v in versions if client.get_run(v.run_id).data.tags["frenk.engine"] == "simpletransformers")
    model = mlflow.pyfunc.load_model(f"models:/frenk-hr/{st_version.version}")
    assert set(model.predict(["Migranti su smeće i gamad, van s njima"])["label"]) <= {"Acceptable", "Offensive"}
    # simpletransformers' outputs/, cache_dir/, runs/ and checkpoints never reach the disk outside its temp
    # folder, which is removed: not in the project folder (the command's working directory), not in TMPDIR
    assert set(ROOT.iterdir()) == before
    assert not [p for p in work.rglob("*") if p.name.startswith(("checkpoint-", "events.out.tfevents"))]
    # (the one thing there is the empty storage folder that `mlflow run` makes for path parameters and leaves)
    left = [p for p in private_tmp.rglob("*") if p.is_file() and not p.relative_to(private_tmp).parts[0].startswith("torchinductor")]
    assert left == []

    outcome = compare(CompareConfig(group="hr-binary", by="frenk.engine"))
    assert sorted(outcome.report.systems) == ["frenk", "simpletransformers"]
    assert {len(ids) for ids in outcome.report.runs.values()} == {2}
    assert default.best.run_id in outcome.report.runs["frenk"]


def test_runs_logged_before_the_engine_tag_count_as_the_default_engine(mlflow_store):
    # runs of the old layout (flat metric names, no frenk.engine) beside runs of the new one
    for engine, values in ((None, [0.70, 0.72, 0.71, 0.73, 0.69]), ("simpletransformers", [0.68, 0.69, 0.70, 0.70, 0.67])):
        for seed, value in enumerate(values):
            tags = {"frenk.step": "train", "frenk.group": "hr-binary", "frenk.model": "bertic", "frenk.seed": str(seed),
                    "frenk.data_digest": "d1", **({"frenk.engine": engine} if engine else {})}
            with mlflow.start_run(tags=tags):
                if engine:
                    mlflow.log_metrics({"test/macro_f1": value, "test/accuracy": value, "val/final_macro_f1": value})
                else:
                    mlflow.log_metrics({"test_macro_f1": value, "test_accuracy": value, "final_val_macro_f1": value})
    report = compare(CompareConfig(group="hr-binary", by="frenk.engine")).report
    assert sorted(report.systems) == ["frenk", "simpletransformers"]
    assert {len(ids) for ids in report.runs.values()} == {5}
