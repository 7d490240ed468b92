"""The train step with a real MLflow store: runs, registry, disk, failures."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from frenk.config import TrainConfig
from frenk.core.errors import ConfigError, DataError, ModelError, TrackingError
from frenk.steps import train

from ..helpers import FAST, all_runs, mlflow_run

pytestmark = pytest.mark.slow


def _leftovers(folder: Path) -> list[Path]:
    """What is left in the temp folder, besides torch's own compile cache."""
    return [p for p in folder.iterdir() if not p.name.startswith("torchinductor")]


def test_tiny_repeats_make_a_parent_children_and_one_registered_model(mlflow_store, prepared_sample, private_tmp):
    outcome = train(TrainConfig(model="tiny", data=str(prepared_sample), repeats=2, seed=10, args=FAST))
    runs = {r.info.run_id: r for r in all_runs()}
    parent = runs[outcome.parent_run_id]
    children = [r for r in runs.values() if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    client = mlflow.MlflowClient()
    experiment = client.get_experiment(parent.info.experiment_id)  # one experiment per language and label scheme
    assert experiment.name == "frenk-hr-binary" and "Croatian" in experiment.tags["mlflow.note.content"]
    assert {r.info.experiment_id for r in runs.values()} == {experiment.experiment_id}
    assert sorted(c.data.tags["frenk.seed"] for c in children) == ["10", "11"]
    for child in children:
        tags = child.data.tags
        assert child.info.status == "FINISHED"
        assert (tags["frenk.step"], tags["frenk.model"], tags["frenk.group"], tags["frenk.lang"]) == ("train", "tiny", "hr-binary", "hr")
        assert tags["frenk.reload_check"] == "passed" and float(tags["frenk.reload_max_prob_diff"]) <= 1e-5
        assert not [m for m in child.data.metrics if m.startswith("check/")]  # a tag, not a chart of 0
        assert tags["mlflow.note.content"].startswith(f"Seed {tags['frenk.seed']} (initialisation seed ")
        assert f"test macro-F1 {child.data.metrics['test/macro_f1']:.4f}" in tags["mlflow.note.content"]
        # the experiment frenk created is one of model training (MLflow's UIs before 3.17 follow the tag)
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        assert child.info.run_name == f"tiny-hr-s{tags['frenk.seed']}"
        # few top-level metrics in UI sections; per-class/topic/fold results in the run's table
        assert {"test/accuracy", "test/macro_f1", "val/macro_f1", "val/final_macro_f1"} <= set(child.data.metrics)
        assert len(child.data.metrics) <= 12 and all("/" in name for name in child.data.metrics), child.data.metrics
        table = mlflow.artifacts.load_dict(f"runs:/{child.info.run_id}/results.json")
        rows = [dict(zip(table["columns"], row, strict=False)) for row in table["data"]]
        assert {("topic", "lgbt", "macro_f1"), ("fold", "4", "macro_f1"), ("class", "Offensive", "f1")} <= {
            (r["by"], r["slice"], r["measure"]) for r in rows}
        assert (child.data.params["epochs"], child.data.params["batch_size"]) == ("1.0", "32")  # as used, not 0
        assert len(child.inputs.dataset_inputs) == 3
        artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(child.info.run_id)}
        assert {"confusion_matrix.png", "predictions.parquet", "history.csv", "load_report.json"} <= artifacts
        history = mlflow.MlflowClient().get_metric_history(child.info.run_id, "val/macro_f1")
        assert [m.step for m in history] == [1]
        # the training loss several times an epoch, by optimizer step; whether it fell
        steps = [m.step for m in mlflow.MlflowClient().get_metric_history(child.info.run_id, "train/step_loss")]
        assert len(steps) >= 4 and steps == sorted(steps) and "train/loss_drop" in child.data.metrics
    values = [c.data.metrics["test/macro_f1"] for c in children]
    assert parent.data.metrics["test/macro_f1_mean"] == pytest.approx(sum(values) / 2)
    assert set(parent.data.metrics) == {"test/accuracy_mean", "test/accuracy_std", "test/macro_f1_mean", "test/macro_f1_std"}
    # best by validation macro-F1; a tie goes to the first seed
    best = max(children, key=lambda c: (c.data.metrics["val/final_macro_f1"], -int(c.data.tags["frenk.seed"])))
    assert parent.data.tags["frenk.best_run_id"] == best.info.run_id
    assert "±" in parent.data.tags["mlflow.note.content"] and best.info.run_id in parent.data.tags["mlflow.note.content"]
    model_names = {m.name for m in client.search_logged_models(experiment_ids=[experiment.experiment_id])}
    assert model_names == {best.info.run_name}  # the logged model is named after its run

    version = client.get_model_version_by_alias("frenk-hr", "candidate")
    assert "@champion" in client.get_registered_model("frenk-hr").description
    assert str(version.version) == outcome.registered_version == "1"
    assert version.run_id == best.info.run_id and version.tags["frenk.seed"] == best.data.tags["frenk.seed"]
    assert len(client.search_model_versions("name='frenk-hr'")) == 1

    model = mlflow.pyfunc.load_model("models:/frenk-hr@candidate")
    predicted = model.predict(["Migranti su smeće i gamad, van s njima", "Podrška i poštovanje za sve obitelji"])
    assert list(predicted.columns) == ["label", "probabilities"] and set(predicted["label"]) <= {"Acceptable", "Offensive"}
    assert all(sorted(p) == ["Acceptable", "Offensive"] and sum(p.values()) == pytest.approx(1) for p in predicted["probabilities"])

    # disk: one set of weights, no optimizer state or checkpoints anywhere, no temp folders left
    store = Path.cwd()
    weights = list(store.rglob("*.safetensors"))
    assert len(weights) == 1
    leftovers = [p for p in store.rglob("*") if p.name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json")
                 or p.name.startswith("checkpoint-")]
    assert leftovers == []
    assert sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) < 20 * 2**20
    assert _leftovers(private_tmp) == []


def test_keep_none_registers_nothing(mlflow_store, prepared_sample, private_tmp):
    outcome = train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2, keep_models="none"))
    assert outcome.registered_version is None
    assert not list(Path.cwd().rglob("model.joblib"))
    assert mlflow.MlflowClient().search_registered_models() == []


def test_keep_all_logs_every_model_and_registers_the_best(mlflow_store, prepared_sample, private_tmp):
    outcome = train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2, keep_models="all"))
    assert len(list(Path.cwd().rglob("model.joblib"))) == 2
    version = mlflow.MlflowClient().get_model_version_by_alias("frenk-hr", "baseline")  # tfidf: never the candidate
    assert version.run_id == outcome.best.run_id


def test_tfidf_single_run_beats_majority(mlflow_store, prepared_sample):
    from frenk.data import load_prepared
    from frenk.training import majority_baseline

    outcome = train(TrainConfig(model="tfidf", data=str(prepared_sample)))
    assert outcome.parent_run_id is None
    run = mlflow.get_run(outcome.best.run_id)
    floor = majority_baseline(load_prepared(prepared_sample))
    assert run.data.metrics["test/macro_f1"] > floor["macro_f1"]
    assert run.data.metrics["test/accuracy"] > floor["accuracy"]
    # the baseline is registered, but never as the candidate that publish takes
    predicted = mlflow.pyfunc.load_model("models:/frenk-hr@baseline").predict(["gamad van", "mir"])
    assert predicted["label"][0] in ("Acceptable", "Offensive") and len(predicted["probabilities"][1]) == 2
    with pytest.raises(mlflow.exceptions.MlflowException):
        mlflow.MlflowClient().get_model_version_by_alias("frenk-hr", "candidate")


def test_failure_mid_training_marks_the_run_failed_and_cleans_up(mlflow_store, prepared_sample, private_tmp):
    def explode(epoch, metrics):
        raise RuntimeError(f"power cut in epoch {epoch}")

    with pytest.raises(RuntimeError, match="power cut"):
        train(TrainConfig(model="tiny", data=str(prepared_sample), args='{"num_train_epochs": 2}'), listeners=[explode])
    (run,) = all_runs()
    assert run.info.status == "FAILED"
    assert _leftovers(private_tmp) == []
    assert not list(Path.cwd().rglob("*.safetensors"))


def test_user_errors_come_before_training(mlflow_store, prepared_sample, tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="unknown model"):
        train(TrainConfig(model="bertik", data=str(prepared_sample)))
    with pytest.raises(DataError, match="neither a preprocessed folder"):
        train(TrainConfig(model="tfidf", data=str(tmp_path)))
    with pytest.raises(ConfigError, match="prepared for lang=hr labels=binary"):
        train(TrainConfig(model="tfidf", data=str(prepared_sample), labels="multiclass"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    with pytest.raises(TrackingError, match="not reachable"):
        train(TrainConfig(model="tfidf", data=str(prepared_sample)))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    assert all_runs() == []


def test_mlflow_run_train_end_to_end(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    params = {"model": "tiny", "data": "sample", "repeats": 2, "args": FAST}
    proc = mlflow_run("train", params, uri, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "registered frenk-hr version 1 as candidate" in proc.stdout
    mlflow.set_tracking_uri(uri)
    runs = all_runs(filter_string="tags.`frenk.step` = 'train'")
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)
    bad = mlflow_run("train", {"model": "nonesuch"}, uri, tmp_path)
    assert bad.returncode != 0 and "unknown model 'nonesuch'" in bad.stderr


def test_parallel_seeds_run_at_once_and_log_what_one_after_another_logs(mlflow_store, prepared_sample, private_tmp):
    one_by_one = train(TrainConfig(model="tiny", data=str(prepared_sample), repeats=2, seed=20, args=FAST))
    at_once = train(TrainConfig(model="tiny", data=str(prepared_sample), repeats=2, seed=20, args=FAST, parallel="2"))
    client = mlflow.MlflowClient()
    for a, b in zip(one_by_one.runs, at_once.runs, strict=False):
        assert a.seed == b.seed and a.run_id != b.run_id
        assert b.metrics["test_macro_f1"] == pytest.approx(a.metrics["test_macro_f1"], abs=1e-3)
        assert b.val_macro_f1 == pytest.approx(a.val_macro_f1, abs=1e-3)
        run = client.get_run(b.run_id)
        assert run.info.status == "FINISHED" and run.data.tags["frenk.reload_check"] == "passed"
        assert run.data.tags["mlflow.parentRunId"] == at_once.parent_run_id and run.data.params["parallel"] == "2"
        assert [m.step for m in client.get_metric_history(b.run_id, "val/macro_f1")] == [1]
    assert at_once.best.seed == one_by_one.best.seed and at_once.registered_version == "2"
    # the same training, so the same resume digest: parallel does not change what is trained
    parents = [client.get_run(o.parent_run_id).data.tags for o in (one_by_one, at_once)]
    assert parents[0]["frenk.train_digest"] == parents[1]["frenk.train_digest"]
    assert _leftovers(private_tmp) == []
