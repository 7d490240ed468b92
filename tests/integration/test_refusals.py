"""Issue 23: a refused command leaves nothing behind but a record of the refusal; main says what
publish did; the tune hint runs as printed; train refuses hyperparameters tuned for another model."""

from __future__ import annotations

import shlex
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner

from frenk.cli import command
from frenk.config import TrainConfig, TuneConfig
from frenk.core.errors import ConfigError
from frenk.steps.main import Publication
from frenk.steps.tune import train_command
from frenk.tracking import experiments

from ..helpers import ROOT, all_runs, mlflow_run

NOTE = "mlflow.note.content"


# -- 3. refusals: no experiment for what does not exist, the mlflow run's run named and described ------


def test_no_experiment_is_created_for_a_language_or_scheme_that_does_not_exist(mlflow_store):
    before = {e.name for e in mlflow.MlflowClient().search_experiments()}
    for argv in ([".", "-e", "preprocess", "-P", "lang=de"], [".", "-e", "train", "-P", "labels=ternary"],
                 [".", "-e", "main", "-P", "lang=de", "-P", "labels=multiclass"]):
        assert experiments.experiment_for_command(argv) is None  # MLflow's default, where the refusal is recorded
    with pytest.raises(ConfigError, match="lang='de'.*no such language or label scheme"):
        experiments.ensure("de", "binary")
    assert {e.name for e in mlflow.MlflowClient().search_experiments()} == before


def _refusing(exc: Exception):
    def train(cfg):
        raise exc

    return command(TrainConfig, train)


def test_a_refusal_under_mlflow_run_names_tags_and_describes_its_run(mlflow_store, monkeypatch):
    client = mlflow.MlflowClient()
    for args, step, words in ((["--precision", "fp8"], None, "Invalid value for '--precision'"),
                              ([], ConfigError("params=x: no good"), "params=x: no good")):
        run = client.create_run("0")
        monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
        result = CliRunner().invoke(_refusing(step or ConfigError("not reached")), args)
        assert result.exit_code == 2, result.output
        got = client.get_run(run.info.run_id)
        assert got.info.run_name == "train-refused" and got.data.tags["frenk.step"] == "train"
        assert words in got.data.tags[NOTE] and got.data.tags[NOTE].startswith("**Refused**")
    opened = client.create_run("0", run_name="train-tiny", tags={"frenk.step": "train"})  # the step's own run
    monkeypatch.setenv("MLFLOW_RUN_ID", opened.info.run_id)
    assert CliRunner().invoke(_refusing(ConfigError("late")), []).exit_code == 2
    got = client.get_run(opened.info.run_id)
    assert got.info.run_name == "train-tiny" and got.data.tags[NOTE] == "**Failed**: late"
    monkeypatch.delenv("MLFLOW_RUN_ID")
    before = len(all_runs())
    assert CliRunner().invoke(_refusing(ConfigError("no")), []).exit_code == 2
    assert len(all_runs()) == before  # outside mlflow run a refusal writes nothing


@pytest.mark.slow
def test_mlflow_run_with_an_unknown_language_leaves_only_the_record_of_its_refusal(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    proc = mlflow_run("preprocess", {"lang": "de", "source": "sample"}, uri, tmp_path, timeout=300)
    assert proc.returncode != 0 and "'de' is not one of" in proc.stderr, proc.stderr[-3000:]
    mlflow.set_tracking_uri(uri)
    assert [e.name for e in mlflow.MlflowClient().search_experiments()] == ["Default"]
    (run,) = all_runs()
    assert run.info.run_name == "preprocess-refused" and run.data.tags["frenk.step"] == "preprocess"
    assert "Invalid value for '--lang': 'de' is not one of" in run.data.tags[NOTE]


# -- 4. main says what publish did ---------------------------------------------------------------------


def test_mains_summary_says_what_was_promoted_or_why_nothing_was():
    note = ("Nothing promoted: frenk-hr version 3 has the same weights as the @champion version 2 "
            "(frenk.weights_sha256): nothing to promote, /x/hf left as it is.")
    nothing = Publication("tiny", "frenk-hr", "3", "2", note, Path("/x/hf"))
    assert not nothing.promoted
    line = nothing.line()
    assert line.startswith("published nothing: tiny (frenk-hr version 3) was not promoted") and "published tiny" not in line
    assert "nothing to promote" in line and line.endswith("@champion stays on version 2")
    assert nothing.markdown("tiny by validation").startswith("Published nothing: **tiny**")
    assert "`@champion` stays on version 2" in nothing.markdown("x")
    done = Publication("tiny", "frenk-hr", "3", "3", "Promoted ...", Path("/x/hf"))
    assert done.line() == "published tiny (frenk-hr version 3) to /x/hf"
    assert done.markdown("c").startswith("Published **tiny**")


# -- 5. the tune hint runs as printed; train refuses another model's hyperparameters -------------------


def _hint_params(hint: str) -> tuple[list[str], dict[str, str]]:
    words = shlex.split(hint)
    assert words[-2:] == ["--env-manager", "local"], hint  # the environment the study ran in
    params = dict(w.split("=", 1) for w in words[words.index("-e") + 2:-2] if w != "-P")
    return words[:5], params


def test_the_tune_hint_trains_the_studys_model_on_its_data(tmp_path, monkeypatch):
    import yaml

    run_id = "a" * 32
    cfg = TuneConfig(model="tiny", data="sample", lang="sl", labels="multiclass", max_length=64)
    head, params = _hint_params(train_command(cfg, run_id, {"learning_rate": 1e-5}))
    assert head == ["mlflow", "run", ".", "-e", "train"]
    assert params == {"model": "tiny", "data": "sample", "lang": "sl", "labels": "multiclass", "params": run_id,
                      "repeats": "10", "max_length": "64"}
    train = yaml.safe_load((ROOT / "MLproject").read_text())["entry_points"]["train"]["parameters"]
    assert set(params) <= set(train)  # every one an -P that train takes
    got: list[TrainConfig] = []
    args = [word for k, v in params.items() for word in (f"--{k.replace('_', '-')}", v)]
    assert CliRunner().invoke(command(TrainConfig, got.append), args).exit_code == 0  # as train's command line
    assert (got[0].model, got[0].data, got[0].lang, got[0].labels, got[0].params) == ("tiny", "sample", "sl",
                                                                                     "multiclass", run_id)
    assert "max_length" not in _hint_params(train_command(cfg, run_id, {"max_length": 96}))[1]  # tuned: from params
    folder = tmp_path / "my data"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    assert _hint_params(train_command(TuneConfig(model="tiny", data="my data"), run_id, {}))[1]["data"] == str(folder)


def _tune_run(model: str) -> str:
    with mlflow.start_run(run_name="tune-x", tags={"frenk.step": "tune", "frenk.model": model}) as run:
        mlflow.log_dict({"params": {"learning_rate": 3e-5}}, "best_params.json")
    return run.info.run_id


@pytest.mark.slow
def test_train_refuses_hyperparameters_tuned_for_another_model(mlflow_store):
    from frenk.steps import train

    tuned = _tune_run("bertic")
    before = len(all_runs())
    result = CliRunner().invoke(command(TrainConfig, train), ["--model", "tfidf", "--data", "sample",
                                                               "--params", tuned])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("frenk: error:")]
    assert len(lines) == 1 and "tuned model=bertic, not model=tfidf" in lines[0], result.output
    assert "params_any_model=true" in lines[0]
    assert len(all_runs()) == before  # nothing logged


@pytest.mark.slow
def test_train_takes_another_models_hyperparameters_when_told(mlflow_store, prepared_sample):
    from frenk.steps import train

    tuned = _tune_run("bertic")
    cfg = TrainConfig(model="tfidf", data=str(prepared_sample), params=tuned, params_any_model=True, register="")
    outcome = train(cfg)
    assert cfg.learning_rate == 3e-5 and cfg.tune_run == tuned
    assert mlflow.get_run(outcome.best.run_id).data.tags["frenk.tune_run"] == tuned


@pytest.mark.slow
def test_mlflow_run_of_train_with_another_models_tune_run_is_refused_in_one_line(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    tuned = _tune_run("bertic")
    proc = mlflow_run("train", {"model": "tfidf", "data": "sample", "params": tuned}, uri, tmp_path, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("frenk: error:")]
    assert len(lines) == 1 and "tuned model=bertic, not model=tfidf" in lines[0], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    refused = [r for r in all_runs() if r.info.run_id != tuned]
    assert [r.info.run_name for r in refused] == ["train-refused"] and refused[0].data.tags["frenk.step"] == "train"
    assert "tuned model=bertic" in refused[0].data.tags[NOTE]
    assert not mlflow.MlflowClient().search_registered_models()  # nothing trained, nothing registered
