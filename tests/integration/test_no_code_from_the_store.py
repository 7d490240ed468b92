"""Issue 19 point 1: nothing frenk reads back from a tracking store, or from a folder a run tag
names, is ever unpickled; a stopped run is adopted for resume only from the same experiment, user
and host, and its folder is read only under the working directory and when the user owns it."""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from frenk.config import RecoverConfig, TrainConfig
from frenk.core.errors import TrackingError
from frenk.core.names import Tag
from frenk.core.state import StateError, read_state, types_of, write_state
from frenk.tracking import resume
from frenk.training import Evaluation, SeedResult, TrainResult


class _Plant:
    """Unpickling this creates the marker file: the code of whoever wrote the pickle runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant_pickle(folder: Path, file: str, marker: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_bytes(pickle.dumps({"finished": _Plant(marker), "run_ids": {}, "model_uris": {}}))


def _seed_result(tmp_path: Path) -> SeedResult:
    evaluation = Evaluation({"test_macro_f1": 0.5}, np.eye(2, dtype=np.int64),
                            pd.DataFrame({"id": ["a", "b"], "pred": [0, 1], "prob.x": [0.25, 0.75]}), ["x", "y"])
    result = TrainResult(tmp_path / "weights", evaluation, {"val_macro_f1": 0.6}, [{"epoch": 1.0, "val_loss": 0.3}],
                         test_probabilities=np.array([[0.25, 0.75], [0.5, 0.5]]), load_report={"new": ["classifier"]})
    return SeedResult(7, result)


def test_state_round_trips_without_pickle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    value = {"finished": [_seed_result(tmp_path)], "run_ids": {7: "abc"},
             "pending": [("on_seed_end", 7, (7, RuntimeError("boom")))]}
    write_state(value, tmp_path, "state.json")
    back = read_state(tmp_path, "state.json", types_of(SeedResult, TrainResult, Evaluation), "test state")
    seed = back["finished"][0]
    assert isinstance(seed, SeedResult) and seed.seed == 7 and seed.selection_score == 0.6
    assert seed.result.model_dir == tmp_path / "weights"
    np.testing.assert_array_equal(seed.result.test_probabilities, [[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_array_equal(seed.result.evaluation.confusion, np.eye(2))
    pd.testing.assert_frame_equal(seed.result.evaluation.predictions, value["finished"][0].result.evaluation.predictions)
    assert back["run_ids"] == {7: "abc"}
    name, at, (arg_seed, error) = back["pending"][0]
    assert (name, at, arg_seed, str(error)) == ("on_seed_end", 7, 7, "boom")


def test_a_state_file_rebuilds_only_the_classes_it_is_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_state({"x": _seed_result(tmp_path)}, tmp_path, "state.json")
    with pytest.raises(StateError, match="'SeedResult', which frenk does not keep there"):
        read_state(tmp_path, "state.json", types_of(TrainResult), "test state")
    (tmp_path / "bad.json").write_text('{"frenk_state": 1, "value": {"__type__": "os.system", "fields": {}}}')
    with pytest.raises(StateError, match="does not keep there"):
        read_state(tmp_path, "bad.json", types_of(TrainResult), "test state")
    (tmp_path / "escape.json").write_text('{"frenk_state": 1, "value": {"__ndarray__": "../../etc/passwd"}}')
    with pytest.raises(StateError, match="outside it"):
        read_state(tmp_path, "escape.json", {}, "test state")


def test_a_state_folder_outside_the_working_directory_or_through_a_link_is_not_read(tmp_path, monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    write_state([1, 2], elsewhere, "state.json")
    monkeypatch.chdir(work)
    with pytest.raises(StateError, match="not under the working directory"):
        read_state(elsewhere, "state.json", {}, "resume folder")
    (work / "link").symlink_to(elsewhere)
    with pytest.raises(StateError, match="not under the working directory|symbolic link"):
        read_state(work / "link", "state.json", {}, "resume folder")


def _finished_training(prepared_sample) -> mlflow.entities.Run:
    from frenk.steps import train

    done = train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2, register=""))
    return mlflow.get_run(done.parent_run_id)


def _plant_run(experiment_id: str, tags: dict[str, str], folder: Path) -> str:
    """What the attacker of the probe did: a KILLED run with the victim's tags, naming a folder."""
    client = mlflow.MlflowClient()
    planted = client.create_run(experiment_id, tags={k: v for k, v in tags.items() if not k.startswith("mlflow.")})
    client.set_tag(planted.info.run_id, Tag.RESUME_FOLDER, str(folder))
    client.set_terminated(planted.info.run_id, "KILLED")
    return planted.info.run_id


@pytest.mark.slow
def test_a_planted_resume_folder_in_another_experiment_is_never_read(mlflow_store, prepared_sample, tmp_path, capsys):
    from frenk.steps import train

    victim = _finished_training(prepared_sample)
    marker = tmp_path / "code-ran"
    attacker_experiment = mlflow.MlflowClient().create_experiment("someone-elses")
    # the probe's plant: a pickle under /tmp, and one in the victim's working directory
    outside = tmp_path / "attacker" / "frenk-resume-x"
    _plant_pickle(outside, resume.OLD_RESUME_FILE, marker)
    planted_outside = _plant_run(attacker_experiment, victim.data.tags, outside)
    planted_here = _plant_run(attacker_experiment, victim.data.tags, Path.cwd() / "frenk-resume-placeholder")
    inside = Path.cwd() / f"frenk-resume-{planted_here}"
    mlflow.MlflowClient().set_tag(planted_here, Tag.RESUME_FOLDER, str(inside))
    _plant_pickle(inside, resume.OLD_RESUME_FILE, marker)
    # and in the victim's own experiment, a run naming a folder outside the working directory
    planted_same = _plant_run(victim.info.experiment_id, victim.data.tags, outside)

    done = train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2, register=""))
    assert not marker.exists()
    assert "continuing the training stopped" not in capsys.readouterr().out
    assert [r.seed for r in done.runs] == [42, 43]  # trained anew, nothing adopted
    for planted in (planted_outside, planted_here, planted_same):
        assert Tag.RESUME_FOLDER in mlflow.get_run(planted).data.tags  # left as it was: not ours


@pytest.mark.slow
def test_an_old_pickle_resume_folder_of_this_user_is_refused_with_how_to_finish_it(mlflow_store, prepared_sample,
                                                                                   tmp_path):
    from frenk.steps import train

    victim = _finished_training(prepared_sample)
    marker = tmp_path / "code-ran"
    stopped = _plant_run(victim.info.experiment_id, victim.data.tags, Path("placeholder"))
    folder = Path.cwd() / f"frenk-resume-{stopped}"
    mlflow.MlflowClient().set_tag(stopped, Tag.RESUME_FOLDER, str(folder))
    mlflow.MlflowClient().set_tag(stopped, "mlflow.user", victim.data.tags["mlflow.user"])
    _plant_pickle(folder, resume.OLD_RESUME_FILE, marker)
    with pytest.raises(TrackingError, match=r"older frenk as a pickle .*rm -r"):
        train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2, register=""))
    assert not marker.exists()


def test_an_old_pickle_recovery_folder_is_refused_and_never_unpickled(mlflow_store, tmp_path):
    from frenk.steps.train_recovery import recover

    marker = tmp_path / "code-ran"
    folder = Path.cwd() / "frenk-recovery-abc"
    _plant_pickle(folder, "recovery.pkl", marker)
    with pytest.raises(TrackingError, match="older frenk as a pickle"):
        recover(RecoverConfig(folder=str(folder)))
    assert not marker.exists()


def test_a_recovery_folder_outside_the_working_directory_is_refused(mlflow_store, tmp_path):
    from frenk.steps.train_recovery import recover

    folder = tmp_path / "elsewhere" / "frenk-recovery-abc"
    folder.mkdir(parents=True)
    write_state({"not": "a recovery"}, folder, "recovery.json")
    with pytest.raises(TrackingError, match="not under the working directory"):
        recover(RecoverConfig(folder=str(folder)))


def test_a_recovery_of_a_real_training_round_trips(mlflow_store, prepared_sample, tmp_path):
    """What a training whose server went down saves (its config, the listener's state, the events
    it could not log, the fitted seeds) comes back equal from the JSON recovery folder."""
    from frenk.data import load_prepared
    from frenk.tracking import outage
    from frenk.training import fit_seeds, resolve, settings_for

    cfg = TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2)
    spec = resolve("tfidf")
    work = tmp_path / "work-root"
    work.mkdir()
    fitted = fit_seeds(spec, load_prepared(prepared_sample), settings_for(spec, seed=42), [42, 43], work)
    pending = [("on_seed_start", 42, (42,)), ("on_epoch", 42, (1, {"val_macro_f1": 0.5})),
               ("on_seed_result", 42, (42, fitted.seeds[0].result, False)),
               ("on_seed_end", 42, (42, RuntimeError("lost")))]
    state = {"params": {"model": "tfidf", "repeats": 2}, "run_name": "tfidf-hr-s{seed}", "nested": True,
             "run_ids": {42: "r42", 43: "r43"}, "model_uris": {42: "models:/m-1"}}
    saved = outage.Recovery("http://127.0.0.1:1", cfg, "parent", state, pending, fitted, {"frenk.model": "tfidf"})
    folder = outage.save_recovery(saved, work, Path.cwd())
    back = outage.load_recovery(folder)
    assert back.config == cfg and back.listener == state and back.tags == saved.tags and back.run_id == "parent"
    assert [r.seed for r in back.fitted.seeds] == [42, 43] and back.fitted.best.seed == fitted.best.seed
    assert back.fitted.summary == fitted.summary
    assert back.fitted.best_model_dir is not None and back.fitted.best_model_dir.is_relative_to(folder)
    assert back.fitted.best_model_dir.is_dir()
    result = back.pending[2][2][1]
    assert result.evaluation.metrics == fitted.seeds[0].result.evaluation.metrics
    pd.testing.assert_frame_equal(result.evaluation.predictions, fitted.seeds[0].result.evaluation.predictions)
    assert str(back.pending[3][2][1]) == "lost" and back.pending[1][2] == (1, {"val_macro_f1": 0.5})
