"""Seeds raced in a search (frenk/tuning/racing.py): the rule's pieces against independent
computations, and the search loop on the known-truth learner (bench/known_truth.py), whose
validation score is a fixed quality per configuration plus seed noise."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from scipy import stats

from bench.known_truth import GRID_YAML, KNOWN_TRUTH, Truth, forget, graded, use
from frenk.core.choices import TUNING_SEED_BASE
from frenk.core.errors import ConfigError
from frenk.data import load_prepared
from frenk.training import resolve
from frenk.tuning import SearchPlan, parse_space, search
from frenk.tuning.racing import Spread, clearly_worse, margin, pooled_spread, tuning_seeds
from frenk.tuning.summary import search_summary

optuna.logging.set_verbosity(optuna.logging.ERROR)



@pytest.fixture(autouse=True)
def _no_known_truth_afterwards():
    """The known-truth kind exists only during these tests (other tests list every preset)."""
    yield
    forget()

def test_the_pooled_seed_sd_is_the_residual_mean_square_of_a_one_way_anova():
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    groups = [[0.71, 0.74, 0.69], [0.80, 0.78], [0.60], [0.65, 0.66, 0.70, 0.61]]
    frame = pd.DataFrame([(f"c{i}", v) for i, g in enumerate(groups) if len(g) > 1 for v in g],
                         columns=["config", "value"])
    residual = anova_lm(smf.ols("value ~ C(config)", frame).fit()).loc["Residual"]
    spread = pooled_spread(groups)
    assert spread is not None and spread.df == int(residual["df"]) == 6
    assert spread.sd == pytest.approx(math.sqrt(residual["mean_sq"]), rel=1e-12)
    assert pooled_spread([[0.5], [0.7]]) is None  # no configuration with two seeds: no spread yet


def test_the_margin_is_a_one_sided_t_quantile_times_the_se_of_two_means():
    spread = Spread(sd=0.02, df=8)
    # by hand: t(0.95, 8) = 1.8595, se = 0.02 * sqrt(1/1 + 1/3)
    assert margin(1, 3, spread, alpha=0.05) == pytest.approx(1.859548 * 0.02 * math.sqrt(4 / 3), rel=1e-5)
    assert margin(3, 3, spread, alpha=0.05) < margin(2, 3, spread, alpha=0.05) < margin(1, 3, spread, alpha=0.05)


def test_clearly_worse_follows_the_direction_and_needs_a_spread():
    spread = Spread(sd=0.01, df=20)
    incumbent = [0.80, 0.81, 0.79]
    assert clearly_worse([0.70], incumbent, spread)
    assert not clearly_worse([0.795], incumbent, spread)
    assert not clearly_worse([0.70], incumbent, None)  # no seed spread known: nothing is pruned
    assert not clearly_worse([0.70], incumbent, spread, maximize=False)  # a lower loss is better
    assert clearly_worse([0.90], incumbent, spread, maximize=False)
    d = np.mean(incumbent) - 0.775  # a margin of exactly d: a value just beyond it is clearly worse
    assert clearly_worse([0.775 - 1e-9], incumbent, Spread(d / (stats.t.ppf(0.8, 20) * math.sqrt(4 / 3)), 20))
    assert not clearly_worse([0.775 + 1e-9], incumbent, Spread(d / (stats.t.ppf(0.8, 20) * math.sqrt(4 / 3)), 20))


def test_tuning_seeds_are_far_from_train_seeds():
    assert tuning_seeds(3) == [TUNING_SEED_BASE, TUNING_SEED_BASE + 1, TUNING_SEED_BASE + 2]
    assert not set(tuning_seeds(5)) & set(range(42, 42 + 10_000))


def _study(tmp_path: Path, data, truth: Truth, **plan) -> tuple[optuna.Study, object]:
    use(truth)
    defaults = {"space": parse_space(GRID_YAML), "study": "s", "storage": str(tmp_path / "j.journal")}
    return search(resolve(KNOWN_TRUTH), data, SearchPlan(**{**defaults, **plan}), tmp_path)


@pytest.fixture(scope="module")
def data(prepared_sample):
    return load_prepared(prepared_sample)


def test_a_clearly_worse_configuration_never_trains_its_remaining_seeds(tmp_path, data):
    truth = graded(gaps=(0.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3), sd=0.01, seed=3)
    study, result = _study(tmp_path, data, truth, seeds=3)
    seeds = tuning_seeds(3)
    by_config: dict = {}
    for lr, epochs, seed in truth.trained:
        by_config.setdefault((lr, epochs), []).append(seed)
    assert by_config[truth.best] == seeds  # the best trains every seed, in order
    worse = [c for c in by_config if c != truth.best]
    # the trials before the best have no incumbent and train all three; every one after it stops at one
    assert all(by_config[c] in (seeds, seeds[:1]) for c in worse) and sum(by_config[c] == seeds[:1] for c in worse) >= 1
    assert len(truth.trained) == result.trainings == result.new_trainings < 27
    pruned = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned and all(len(t.user_attrs["frenk.seed_values"]) == 1 for t in pruned)
    assert result.best_params == {"learning_rate": truth.best[0], "epochs": truth.best[1]}
    assert result.seeds == seeds and result.budget == (9, 27) and result.tied == [result.best_trial]
    # the trials pruned between seeds are the race's, whatever the per-epoch pruner (none here)
    assert result.pruning.endswith("within a seed; seeds raced: a configuration clearly worse than the best gets "
                                   "no more seeds"), result.pruning
    assert "(3 seed(s) per configuration, raced)" in search_summary(result, "mlflow run . -e train")
    row = result.table.iloc[0]
    assert row["trial"] == result.best_trial and row["seeds"] == 3 and row["tied_with_best"]
    assert row["val_macro_f1"] == pytest.approx(np.mean([truth.quality[truth.best] + truth.noise(*truth.best, s)
                                                          for s in seeds]))
    # a finished study run again trains nothing
    again = use(Truth(truth.quality, truth.sd))
    _, rerun = _study(tmp_path, data, again, seeds=3)
    assert again.trained == [] and rerun.new_trials == rerun.new_trainings == 0 and rerun.trainings == result.trainings


def test_without_racing_every_configuration_trains_every_seed(tmp_path, data):
    truth = graded(sd=0.01, seed=4)
    _, result = _study(tmp_path, data, truth, seeds=2, race=False)
    assert len(truth.trained) == 18 and len(set(truth.trained)) == 18  # never a (configuration, seed) twice
    assert "raced" not in result.pruning and "raced" not in search_summary(result, "mlflow run . -e train")


def test_a_study_keeps_its_seeds_and_a_study_from_before_racing_keeps_its_one_seed(tmp_path, data):
    _study(tmp_path, data, graded(seed=5), seeds=2, trials=2)
    with pytest.raises(ConfigError, match=r"up to 2 seed\(s\), not 3; use seeds=2"):
        _study(tmp_path, data, graded(seed=5), seeds=3)
    # a study made before seeds were raced: trials, no record of seeds; each trained tune's seed
    old = optuna.create_study(study_name="old", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "old.journal"))), direction="maximize")
    old.enqueue_trial({"learning_rate": 2e-5, "epochs": 1})
    old.optimize(lambda t: parse_space(GRID_YAML).suggest(t) and 0.7, n_trials=1)
    with pytest.raises(ConfigError, match=r"one seed \(7\) per trial, before seeds were raced; resume it with seeds=1"):
        _study(tmp_path, data, graded(seed=5), seeds=3, study="old", storage=str(tmp_path / "old.journal"), seed=7)
    truth = graded(seed=5)
    _, result = _study(tmp_path, data, truth, seeds=1, trials=2, study="old", storage=str(tmp_path / "old.journal"),
                       seed=7)
    assert result.seeds == [7] and [s for *_, s in truth.trained] == [7]


def test_a_retried_trial_keeps_the_seeds_its_failed_trial_finished(tmp_path, data):
    truth = use(graded(sd=0.01, seed=6))
    calls = {"n": 0}

    class Interrupted(Exception):
        pass

    def stop_on_the_second(trial_number):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Interrupted

    original = truth.noise

    def noise(lr, epochs, seed):
        stop_on_the_second(seed)
        return original(lr, epochs, seed)

    truth.noise = noise  # type: ignore[method-assign]
    with pytest.raises(Interrupted):
        _study(tmp_path, data, truth, seeds=3, trials=1)
    first = list(truth.trained)
    assert len(first) == 2  # seed 1 finished, seed 2 interrupted
    truth.noise = original  # type: ignore[method-assign]
    _, result = _study(tmp_path, data, truth, seeds=3, trials=1)
    retried = truth.trained[len(first):]
    assert [s for *_, s in retried] == tuning_seeds(3)[1:]  # the finished seed is not trained again
    assert result.table.iloc[0]["seeds"] == 3 and result.trainings == 3  # the finished seed counted once


@pytest.mark.slow
def test_over_repeated_studies_racing_three_seeds_finds_the_best_far_more_often_than_one_seed(tmp_path, data):
    """Noise as large as the differences searched for (seed sd 0.02, the best ahead by 0.015-0.03):
    one seed per configuration often picks the luckiest seed instead."""
    replicates, picks, trainings = 60, {"one": 0, "raced": 0, "full": 0}, {"one": 0, "raced": 0, "full": 0}
    for r in range(replicates):
        for method, seeds, race in (("one", 1, True), ("raced", 3, True), ("full", 3, False)):
            truth = graded(sd=0.02, replicate=r, seed=r)
            _, result = _study(tmp_path / f"{method}{r}", data, truth, seeds=seeds, race=race, seed=r)
            picks[method] += (result.best_params["learning_rate"], result.best_params["epochs"]) == truth.best
            trainings[method] += len(truth.trained)
    rate = {m: n / replicates for m, n in picks.items()}
    spent = {m: n / replicates for m, n in trainings.items()}
    message = f"picks the best: {rate}; trainings per study: {spent}"
    assert rate["one"] < 0.65 and rate["raced"] > rate["one"] + 0.15, message
    assert spent["raced"] < 0.7 * spent["full"] and spent["full"] == 27, message
