"""One experiment per language and label scheme, and where `mlflow run` of this project puts its run."""

from __future__ import annotations

import mlflow
import pytest

from frenk.tracking import experiments


def test_project_params_reads_entry_point_and_parameters():
    argv = [".", "-e", "train", "-P", "lang=sl", "--param-list", "labels=multiclass", "--env-manager", "local",
            "-P", "args={\"a\": 1}"]
    assert experiments.project_params(argv) == ("train", {"lang": "sl", "labels": "multiclass", "args": "{\"a\": 1}"})
    assert experiments.project_params([".", "--entry-point=compare", "-P", "group=hr-binary"]) == (
        "compare", {"group": "hr-binary"})
    assert experiments.project_params(["."])[0] == "main"


def test_each_entry_point_gets_the_experiment_of_its_language_and_labels(mlflow_store):
    hr = experiments.experiment_for_command([".", "-e", "preprocess", "-P", "source=sample"])
    assert mlflow.MlflowClient().get_experiment(hr).name == "frenk-hr-binary"
    sl = experiments.experiment_for_command([".", "-e", "train", "-P", "lang=sl", "-P", "labels=multiclass"])
    assert mlflow.MlflowClient().get_experiment(sl).name == "frenk-sl-multiclass" and sl != hr
    assert experiments.experiment_for_command([".", "-e", "main"]) == hr  # found, not created twice
    assert experiments.experiment_for_command([".", "-e", "compare", "-P", "group=hr-binary"]) == hr
    assert experiments.experiment_for_command([".", "-e", "compare", "-P", "group=my-group"]) is None  # MLflow's default
    assert experiments.experiment_for_command([".", "-e", "publish"]) is None  # no registered model yet


def test_the_users_choice_of_experiment_wins(mlflow_store, monkeypatch):
    assert experiments.for_step("hr", "binary") == experiments.ensure("hr", "binary")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mine")
    assert experiments.for_step("hr", "binary") is None
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    with mlflow.start_run():  # a run already active (a caller's own run): its experiment
        assert experiments.for_step("hr", "binary") is None


@pytest.mark.parametrize("lang,labels,words", [("hr", "binary", "Croatian"), ("en", "multiclass", "six classes")])
def test_the_experiment_says_what_it_holds(mlflow_store, lang, labels, words):
    experiment = mlflow.MlflowClient().get_experiment(experiments.ensure(lang, labels))
    assert experiment.name == f"frenk-{lang}-{labels}" and words in experiment.tags["mlflow.note.content"]
