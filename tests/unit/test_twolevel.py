"""The verdict over seeds and test comments (#20): the two-level bootstrap against scikit-learn and
closed forms, the margin's three calls, the looks' alpha, the plan, degenerate seeds, and the
case the audit built: a clear seed-level difference that one test set cannot carry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import accuracy_score, f1_score
from statsmodels.stats.power import TTestIndPower

from frenk.comparison import CompareOptions, RunRecord, build_report
from frenk.comparison.design import degenerate_runs
from frenk.comparison.interval import plan, plan_power, seeds_for
from frenk.comparison.looks import next_look
from frenk.comparison.twolevel import aligned, call, look_alpha, scores, two_level
from frenk.publishing import gate


def _noisy(labels, accuracy, rng, k=2):
    wrong = rng.random(len(labels)) > accuracy
    return np.where(wrong, (labels + rng.integers(1, k, len(labels))) % k, labels)


def test_scores_are_scikit_learns_on_a_resample():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 300)
    labels[labels == 2] = rng.choice([0, 1, 2], (labels == 2).sum(), p=[0.45, 0.45, 0.1])  # a rare class
    preds = np.array([_noisy(labels, a, rng, 3) for a in (0.6, 0.7, 0.9)])
    preds[0][preds[0] == 2] = 0  # a run that never predicts the rare class
    idx = rng.integers(0, len(labels), len(labels))
    weights = np.bincount(idx, minlength=len(labels))[None, :].astype(float)
    got_f1, got_acc = scores(labels, preds, weights, "macro_f1", 3)[0], scores(labels, preds, weights, "accuracy", 3)[0]
    for r in range(3):
        assert got_f1[r] == pytest.approx(f1_score(labels[idx], preds[r][idx], average="macro"), abs=1e-12)
        assert got_acc[r] == pytest.approx(accuracy_score(labels[idx], preds[r][idx]), abs=1e-12)


def test_deterministic_systems_give_the_paired_proportions_standard_error():
    """Seeds that change nothing: the spread is the test comments' alone, whose closed form for an
    accuracy difference is sqrt((p10 + p01 - (p10 - p01)^2) / m)."""
    rng = np.random.default_rng(0)
    m = 1500
    labels = rng.integers(0, 2, m)
    a, b = _noisy(labels, 0.8, rng), _noisy(labels, 0.75, rng)
    res = two_level(labels, np.tile(a, (3, 1)), np.tile(b, (4, 1)), "accuracy", n_resamples=4000, seed=1)
    ca, cb = a == labels, b == labels
    p10, p01 = np.mean(ca & ~cb), np.mean(~ca & cb)
    assert res.se == pytest.approx(math.sqrt((p10 + p01 - (p10 - p01) ** 2) / m), rel=0.06)
    assert res.difference == pytest.approx(ca.mean() - cb.mean())
    assert res.ci_low < res.difference < res.ci_high


def _macro_f1(y, p):
    """Macro-F1 by its definition, over the classes present in y or p (scikit-learn's default)."""
    f1 = [2 * np.sum((y == c) & (p == c)) / (np.sum(y == c) + np.sum(p == c)) for c in np.union1d(y, p)]
    return float(np.mean(f1))


def _loop_bootstrap(labels, pa, pb, n_resamples, rng):
    """The two-level bootstrap written out, one resample at a time, macro-F1 by its definition."""
    def drawn_mean(preds, idx):
        runs = rng.integers(0, len(preds), len(preds))
        each = np.array([_macro_f1(labels[idx], preds[r][idx]) for r in range(len(preds))])
        n = len(preds)  # the t interval's widening, written out: sqrt(n/(n-1)) t(0.975, n-1) / z(0.975)
        widened = each.mean() + (each - each.mean()) * math.sqrt(n / (n - 1)) * sps.t.ppf(0.975, n - 1) / sps.norm.ppf(0.975)
        return widened[runs].mean()

    out = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(labels), len(labels))
        out.append(drawn_mean(pa, idx) - drawn_mean(pb, idx))
    return np.array(out)


@pytest.mark.slow  # 10 s: the loop
def test_the_bootstrap_is_the_one_written_out_with_scikit_learn():
    """Seeds that differ (a share of flipped comments per run) on 600 comments: the vectorised
    bootstrap's standard error and interval match a plain loop (macro-F1 by its definition, checked
    against scikit-learn above)."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 600)
    pa = np.array([_noisy(labels, acc, rng) for acc in rng.normal(0.8, 0.02, 5)])
    pb = np.array([_noisy(labels, acc, rng) for acc in rng.normal(0.77, 0.02, 4)])
    res = two_level(labels, pa, pb, "macro_f1", n_resamples=4000, seed=2)
    loop = _loop_bootstrap(labels, pa, pb, 1500, np.random.default_rng(3))
    assert res.se == pytest.approx(loop.std(ddof=1), rel=0.1)
    low, high = np.quantile(loop, [0.025, 0.975])
    assert res.ci_low == pytest.approx(low, abs=0.3 * res.se) and res.ci_high == pytest.approx(high, abs=0.3 * res.se)


def test_paired_seeds_are_drawn_together():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    shared = np.array([_noisy(labels, acc, rng) for acc in (0.6, 0.9, 0.75)])
    same = two_level(labels, shared, shared, "macro_f1", paired_seeds=True)
    assert same.se == 0 and same.ci_low == same.ci_high == 0  # a system against itself, pair by pair
    assert two_level(labels, shared, shared, "macro_f1").se > 0.01  # drawn apart, the seeds' spread shows


def test_at_few_seeds_the_interval_is_as_wide_as_the_t_interval():
    """The seeds' deviations are widened so that the seed part of the interval has the width of a
    t interval with n - 1 degrees of freedom (sqrt(n/(n-1)) for drawing with replacement, t / z
    for an sd estimated from n runs); it fades as the seeds grow."""
    from frenk.comparison.twolevel import widening

    assert widening(3, 0.95) == pytest.approx(math.sqrt(1.5) * sps.t.ppf(0.975, 2) / 1.959964, rel=1e-6)
    assert widening(10, 0.975) < widening(5, 0.975) < widening(3, 0.975) and widening(1, 0.95) == 1.0


def test_the_margin_gives_three_calls():
    assert call(0.006, 0.02, 0.005) == "a" and call(-0.03, -0.01, 0.005) == "b"
    assert call(-0.004, 0.004, 0.005) == "equivalent"
    assert call(0.001, 0.02, 0.005) == "undecided" and call(-0.001, 0.001, 0.0) == "undecided"
    assert call(0.0001, 0.001, 0.0) == "a"


def test_the_looks_never_spend_more_than_alpha():
    spent = [look_alpha(0.05, k) for k in range(1, 40)]
    assert spent[:3] == [0.025, 0.0125, 0.00625] and sum(spent) < 0.05
    assert next_look([], "r1") == 1 and next_look([(1, "r1")], "r1") == 1 and next_look([(1, "r1"), (2, "r2")], "r3") == 3
    with pytest.raises(ValueError):
        look_alpha(0.05, 0)


def test_the_plan_sizes_the_batch_for_the_two_level_rule_and_says_when_no_seeds_suffice():
    """With no test-set error the plan's power is the noncentral t power of "difference - margin
    > t(n - 1) sqrt(V)" (the interval the t-widened bootstrap gives), so it asks for more seeds than
    the pooled t's sample size (statsmodels) at few seeds and as many at many; with a test-set SE
    its power matches a simulation of the rule; a test-set SE larger than the room the margin leaves
    makes every number of seeds too few."""
    for sd, room in ((0.01, 0.005), (0.004, 0.005), (0.02, 0.03), (0.003, 0.01)):
        got = seeds_for(sd, sd, 0.0, 0.005 + room, 0.005, 0.05)
        assert got is not None
        for n in (got - 1, got):
            if n < 2:
                continue
            nct = sps.nct.sf(sps.t.ppf(0.975, n - 1), 2 * n - 2, room / (sd * math.sqrt(2 / n)))
            assert plan_power(n, sd, sd, 0.0, room, 0.05) == pytest.approx(nct, abs=0.002)
        assert plan_power(got, sd, sd, 0.0, room, 0.05) >= 0.8 and (got == 2 or plan_power(got - 1, sd, sd, 0.0, room, 0.05) < 0.8)
        pooled = math.ceil(TTestIndPower().solve_power(effect_size=room / sd, alpha=0.05, power=0.8))
        assert pooled <= got <= pooled + 3, (sd, room, got, pooled)
    # 3 seeds give the rule power 0.52 (t(2) is 4.3), 4 give 0.89; the pooled t says 3
    assert seeds_for(0.003, 0.003, 0.0, 0.015, 0.005, 0.05) == 4
    rng = np.random.default_rng(3)
    n, sd_a, sd_b, se, room, alpha = 4, 0.012, 0.008, 0.004, 0.012, 0.025
    draws = 200_000
    va = sd_a ** 2 * rng.chisquare(n - 1, draws) / (n - 1)
    vb = sd_b ** 2 * rng.chisquare(n - 1, draws) / (n - 1)
    estimate = room + rng.normal(0, math.sqrt((sd_a ** 2 + sd_b ** 2) / n + se ** 2), draws)
    half = sps.t.ppf(1 - alpha / 2, n - 1) * np.sqrt((va + vb) / n + (sps.norm.ppf(1 - alpha / 2) / sps.t.ppf(1 - alpha / 2, n - 1)) ** 2 * se ** 2)
    assert plan_power(n, sd_a, sd_b, se, room, alpha) == pytest.approx(float(np.mean(estimate - half > 0)), abs=0.005)
    assert seeds_for(0.01, 0.01, 0.003, 0.01, 0.005, 0.05) is None  # 0.005 / 0.003 < 1.96 + 0.84
    p = plan([0.8, 0.81, 0.79], [0.78, 0.79, 0.77], 0.02, 0.005, 0.0125)
    widened = 2 * (sps.t.ppf(0.975, 2) / sps.norm.ppf(0.975)) ** 2 * 0.01 ** 2 / 3  # the seed part, t-widened
    assert p.seeds is None and p.test_se == pytest.approx(math.sqrt(0.02 ** 2 - widened), rel=1e-3)
    assert "larger test set" in p.text


def _records_and_predictions(m: int, n: int, rng, acc_a=0.80, acc_b=0.75):
    """n runs per system that predict nearly the same (a few comments flip per seed) on m test comments."""
    labels = rng.integers(0, 2, m)
    base = {"a": _noisy(labels, acc_a, rng), "b": _noisy(labels, acc_b, rng)}
    records, preds = [], {}
    for system in ("a", "b"):
        for s in range(n):
            p = base[system].copy()
            flip = rng.choice(m, 1, replace=False)
            p[flip] = 1 - p[flip]
            run_id = f"{system}-{s}"
            preds[run_id] = pd.DataFrame({"id": np.arange(m), "label": labels, "pred": p})
            records.append(RunRecord(run_id, system, str(42 + s), "d1",
                                     {"test_macro_f1": f1_score(labels, p, average="macro"),
                                      "test_accuracy": float(np.mean(p == labels))}))
    return records, preds


def test_a_clear_seed_level_difference_that_one_test_set_cannot_carry_is_not_better():
    """The audit's finding: the seeds agree (tiny seed sd, seed-level p far below alpha) but 400
    test comments leave the difference uncertain: not better at the level that generalises, and
    the gate refuses to replace a champion with it; without predictions the seed level decides."""
    records, preds = _records_and_predictions(400, 5, np.random.default_rng(7), 0.8, 0.77)
    report = build_report(records, CompareOptions(metrics=("macro_f1",)), run_predictions=preds)
    c = report.comparisons[0]
    assert c.tests["welch_t"].p_value < 1e-4  # "significant" over seeds
    assert c.two_level is not None and c.two_level.ci_low < 0 < c.two_level.ci_high
    assert c.verdict.call == "undecided" and c.verdict.level == "seeds and test comments" and report.best_system is None
    assert not gate(report, "a", has_champion=True).allowed
    first = gate(report, "a", has_champion=False)  # a first champion that is not worse may still be promoted
    assert first.allowed and "no champion yet" in first.reason
    assert "is undecided against b (neither better nor equivalent) on macro_f1" in first.reason, first.reason
    seeds_only = build_report(records, CompareOptions(metrics=("macro_f1",)))
    assert seeds_only.comparisons[0].verdict.call == "better" and seeds_only.comparisons[0].verdict.level == "seeds"
    assert "for this test set alone" in seeds_only.comparisons[0].verdict.text


def test_a_large_test_set_carries_the_same_difference():
    records, preds = _records_and_predictions(3000, 5, np.random.default_rng(8))
    opts = CompareOptions(metrics=("macro_f1", "accuracy"), two_level_resamples=1500)
    report = build_report(records, opts, run_predictions=preds)
    for c in report.comparisons:
        assert c.verdict.call == "better" and c.verdict.better == "a" and c.two_level.ci_low > 0.005
    assert report.best_system == "a"
    # the interval is Bonferroni-corrected over the pairs at the look's alpha
    looked = build_report(records, CompareOptions(metrics=("macro_f1",), look=2, two_level_resamples=1500),
                          run_predictions=preds)
    assert looked.comparisons[0].two_level.confidence == pytest.approx(1 - 0.0125)
    assert looked.alpha_used == 0.0125 and looked.look == 2


def test_equivalent_systems_are_called_equivalent():
    rng = np.random.default_rng(9)
    records, preds = _records_and_predictions(8000, 4, rng, 0.8, 0.8)
    opts = CompareOptions(metrics=("accuracy",), min_difference=0.03, two_level_resamples=1000)
    report = build_report(records, opts, run_predictions=preds)
    assert report.comparisons[0].verdict.call == "equivalent" and report.comparisons[0].verdict.better is None
    leader, other = sorted("ab", key=lambda s: report.mean(report.primary_metric, s), reverse=True)
    decision = gate(report, leader, has_champion=False)
    assert decision.allowed and f"is equivalent to {other} (within the margin)" in decision.reason, decision.reason


def test_degenerate_seeds_are_flagged_kept_and_the_verdict_without_them_is_given():
    records, preds = _records_and_predictions(3000, 5, np.random.default_rng(10))
    stuck = preds["a-4"].assign(pred=0)  # a run stuck at one class
    preds["a-4"] = stuck
    records = [r if r.run_id != "a-4" else RunRecord("a-4", "a", "46", "d1", {
        "test_macro_f1": f1_score(stuck["label"], stuck["pred"], average="macro"),
        "test_accuracy": float(np.mean(stuck["label"] == stuck["pred"]))}) for r in records]
    report = build_report(records, CompareOptions(metrics=("macro_f1",), two_level_resamples=1500),
                          run_predictions=preds)
    assert report.degenerate == {"a": ["a-4"]} and any("degenerate run (a-4)" in w for w in report.warnings)
    assert report.descriptives["macro_f1"]["a"].n == 5  # kept in the sample
    c = report.comparisons[0]
    assert c.without_degenerate.startswith("without the degenerate runs: a is better than b")
    assert c.verdict.call == "undecided"  # the stuck run widens a's spread: with it, no verdict


def test_a_run_whose_training_loss_did_not_fall_is_degenerate():
    """train_loss_drop (first logged loss minus last) at or below 0 flags a run, also one without
    predictions; a run logged before the metric (no drop) is judged by its predictions alone."""
    runs = {"a": [RunRecord("a-0", "a", "42", "d1", {"test_macro_f1": 0.8, "train_loss_drop": 0.2}),
                  RunRecord("a-1", "a", "43", "d1", {"test_macro_f1": 0.6, "train_loss_drop": 0.0}),
                  RunRecord("a-2", "a", "44", "d1", {"test_macro_f1": 0.6, "train_loss_drop": -0.01}),
                  RunRecord("a-3", "a", "45", "d1", {"test_macro_f1": 0.7})]}
    assert degenerate_runs(runs, None) == {"a": ["a-1", "a-2"]}
    assert degenerate_runs({"b": runs["a"][3:]}, None) == {}


def test_aligned_refuses_runs_that_disagree_on_a_label():
    one = pd.DataFrame({"id": [1, 2, 3], "label": [0, 1, 1], "pred": [0, 1, 0]})
    other = pd.DataFrame({"id": [3, 2, 1], "label": [1, 1, 0], "pred": [1, 1, 1]})
    labels, pa, pb = aligned([one], [other])
    assert labels.tolist() == [0, 1, 1] and pb.tolist() == [[1, 1, 1]]
    assert aligned([one], [other.assign(label=[0, 0, 0])]) is None


def test_the_seed_interval_is_welchs():
    from frenk.comparison.interval import seed_interval

    a, b = [0.82, 0.828, 0.822, 0.823, 0.824, 0.824, 0.827], [0.8, 0.792, 0.791, 0.799, 0.795]
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert seed_interval(a, b, False, 0.95) == pytest.approx((ci.low, ci.high))
