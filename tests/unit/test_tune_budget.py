"""The budget of a study shared by workers: two workers that read the trial count at the same moment
both create a trial; the later one must train nothing (a grid ran a tenth trial of nine in CI)."""

from __future__ import annotations

import importlib

import optuna

from frenk.data import load_prepared
from frenk.training import resolve
from frenk.tuning import SearchPlan, parse_space, search, trial_seeds
from frenk.tuning.study import open_storage

search_module = importlib.import_module("frenk.tuning.search")  # frenk.tuning.search is also the function


def test_a_trial_created_after_another_worker_took_the_last_place_trains_nothing(tmp_path, monkeypatch,
                                                                                  prepared_sample):
    journal = str(tmp_path / "optuna.journal")
    real = open_storage(journal)

    class RacedStorage(type(real)):
        """Another worker creates its trial between this worker's count and its own trial."""

        raced = False

        def create_new_trial(self, study_id, template_trial=None):
            if not RacedStorage.raced:
                RacedStorage.raced = True
                super().create_new_trial(study_id)  # the other worker's trial, running elsewhere
            return super().create_new_trial(study_id, template_trial)

    raced = RacedStorage.__new__(RacedStorage)
    raced.__dict__.update(real.__dict__)
    monkeypatch.setattr(search_module, "open_storage", lambda url: raced)

    def no_training(*args, **kwargs):
        raise AssertionError("a surplus trial trained")

    monkeypatch.setattr(trial_seeds, "fit", no_training)
    space = parse_space("learning_rate: [1.0e-3, 2.0e-3]\nepochs: [1]\n")
    plan = SearchPlan(space=space, trials=1, study="raced", storage=journal)
    study, result = search(resolve("tiny"), load_prepared(prepared_sample), plan, tmp_path)
    trials = study.get_trials()
    assert RacedStorage.raced and len(trials) == 2
    assert trials[1].state == optuna.trial.TrialState.PRUNED and trials[1].user_attrs["frenk.surplus"]
    assert result.new_trials == 0 and list(result.table["trial"]) == [0]  # the surplus trial is not shown
