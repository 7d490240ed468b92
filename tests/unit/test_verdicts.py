"""Known-answer tests of issue 20 ("verdicts that generalise"): the design by declaration, the
power that is never NaN, Hedges' g, ties and constant differences, exact Friedman, ASO."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower, TTestPower

from frenk.comparison import CompareOptions, ComparisonReport, RunRecord, build_report, render_markdown, stats
from frenk.comparison.exact import friedman_exact_p
from frenk.comparison.power import noncentral_t_power, t_test_power, welch_power
from frenk.publishing.gate import gate

BERTIC = [0.82, 0.828, 0.822, 0.823, 0.824, 0.824, 0.827]
CROSLO = [0.8, 0.792, 0.791, 0.799, 0.795]


def _records(system, values, seeds):
    return [RunRecord(f"{system}-{s}", system, str(s), "d1", {"test_macro_f1": v})
            for s, v in zip(seeds, values, strict=True)]


def _tables(pairing="none"):
    records = _records("bertic", BERTIC, range(42, 49)) + _records("crosloengual", CROSLO, range(42, 47))
    return build_report(records, CompareOptions(metrics=("macro_f1",), pairing=pairing))


def test_the_frenk_hr_tables_are_compared_as_7_vs_5_independent_runs_by_default():
    report = _tables()
    (c,) = report.comparisons
    assert (c.design, c.n_a, c.n_b) == ("independent", 7, 5) and report.pairing == "none"
    assert c.verdict.p_value == pytest.approx(sps.ttest_ind(BERTIC, CROSLO, equal_var=False).pvalue, rel=1e-12)
    # 0.824 twice: scipy's exact permutation of U over all C(12, 5) relabellings (its default is asymptotic with ties)
    mw = sps.mannwhitneyu(BERTIC, CROSLO, method=sps.PermutationMethod(n_resamples=9999))
    assert c.tests["mann_whitney"].statistic == mw.statistic == 35
    assert c.tests["mann_whitney"].p_value == pytest.approx(mw.pvalue, rel=1e-9) == 2 / 792
    assert c.verdict.better == "bertic" and report.best_system == "bertic"
    low, high = c.power.seeds_needed_interval
    assert low <= c.power.seeds_needed <= high <= 7  # no seeds figure above 7, never inverted
    assert "| bertic vs crosloengual | independent | 7 vs 5 |" in render_markdown(report)


def test_the_tables_paired_by_declaration_need_3_seeds_3_to_7():
    (c,) = _tables("seed").comparisons
    assert (c.design, c.n_a, c.n_b) == ("paired", 5, 5)
    assert c.not_paired == {"bertic": ["bertic-47", "bertic-48"]}
    assert any("not in the paired test" in w and "bertic-47, bertic-48" in w for w in c.warnings)
    assert c.power.seeds_needed == 3 and c.power.seeds_needed_interval == (3, 7)


def _eight_vs_five():
    high, low = [0.79, 0.80, 0.795, 0.805, 0.81], [0.70, 0.69, 0.71]  # a: 5 sharing seeds with b, 3 low unpaired
    b = [0.78, 0.79, 0.785, 0.795, 0.805]
    a = high + low
    assert np.mean(a) == pytest.approx(0.7625) and np.mean(b) == pytest.approx(0.791)
    return _records("a", high, range(5)) + _records("a", low, range(20, 23)) + _records("b", b, range(5)), a, b


@pytest.mark.parametrize("pairing", ["none", "seed"])
def test_the_8_vs_5_case_never_promotes_the_lower_mean(pairing):
    records, a, b = _eight_vs_five()
    report = build_report(records, CompareOptions(metrics=("macro_f1",), pairing=pairing))
    (c,) = report.comparisons
    if pairing == "none":
        assert (c.design, len(c.scores["a"]), len(c.scores["b"])) == ("independent", 8, 5)
        assert c.verdict.p_value == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
        assert c.verdict.better != "a"
    else:
        assert c.design == "paired" and c.not_paired == {"a": ["a-20", "a-21", "a-22"]}
    assert report.best_system != "a"
    for champion in (False, True):
        assert not gate(report, "a", has_champion=champion).allowed
    back = ComparisonReport.from_dict(report.to_dict())
    assert not gate(back, "a", has_champion=False).allowed and back.pairing == pairing


def test_an_old_report_reads_as_the_design_it_recorded():
    d = _tables("seed").to_dict()
    d.pop("pairing")
    assert ComparisonReport.from_dict(d).pairing == "seed"
    d = _tables().to_dict()
    d.pop("pairing")
    assert ComparisonReport.from_dict(d).pairing == "none"


# ---------------------------------------------------------------- power


@pytest.mark.parametrize("paired", [True, False])
@pytest.mark.parametrize("d", [0.2, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_power_agrees_with_statsmodels_where_it_is_finite(paired, d, n):
    """The paired t's power, and the pooled t's (the bound the independent design's search starts from)."""
    theirs = float((TTestPower() if paired else TTestIndPower()).power(d, n, 0.05, alternative="two-sided"))
    ours = noncentral_t_power(d, n, paired)
    assert math.isfinite(ours)
    if math.isfinite(theirs):  # statsmodels gives nan at some large noncentralities (d 3 at 10 pairs)
        assert ours == pytest.approx(theirs, abs=1e-9)
    else:
        assert ours == pytest.approx(1.0, abs=1e-6)


def _monte_carlo_power(d, n, paired, draws=40_000, seed=0):
    rng = np.random.default_rng(seed)
    if paired:
        x = rng.normal(d, 1, (draws, n))
        p = sps.ttest_1samp(x, 0, axis=1).pvalue
    else:
        p = sps.ttest_ind(rng.normal(d, 1, (draws, n)), rng.normal(0, 1, (draws, n)), axis=1, equal_var=False).pvalue
    return float(np.mean(p < 0.05))


@pytest.mark.parametrize(("d", "n_a", "n_b", "monte_carlo"), [
    (3.0, 3, 3, 0.6771), (2.0, 3, 3, 0.3672), (2.0, 5, 5, 0.7673), (1.0, 10, 10, 0.5568), (3.0, 2, 2, 0.1968),
    (1.5, 7, 5, 0.6071), (2.0, 3, 5, 0.5358), (2.0, 2, 6, 0.4040)])
def test_welch_power_matches_a_simulation_of_welchs_test(d, n_a, n_b, monte_carlo):
    """Welch's power (what the independent design's seeds figure and plan rest on) against 400,000
    simulated Welch t-tests per cell (scipy's ttest_ind, equal_var=False; seed 1, standard error
    below 0.001); the pooled t's noncentral t overstates it at few seeds (0.78 for 0.68 at d 3, n 3)."""
    assert welch_power(d, n_a, n_b) == pytest.approx(monte_carlo, abs=0.003)
    if n_a == n_b:
        assert t_test_power(d, n_a, False) == welch_power(d, n_a, n_b) <= noncentral_t_power(d, n_a, False)
    assert noncentral_t_power(3.0, 3, False) == pytest.approx(0.783, abs=0.001)


@pytest.mark.parametrize(("d", "paired"), [(4.0, True), (4.51, True), (5.5, True), (8.5, False), (20, False)])
def test_power_at_large_effects_is_finite_and_matches_a_simulation(d, paired):
    for n in (2, 3):
        ours = t_test_power(d, n, paired)
        assert math.isfinite(ours) and ours == pytest.approx(_monte_carlo_power(d, n, paired), abs=0.01)


def test_seeds_needed_at_large_effects():
    assert stats.seeds_needed(4.0, paired=True) == 3  # was 10 (statsmodels' NaN at 4 pairs)
    assert stats.seeds_needed(4.51, paired=True) == 3 and stats.seeds_needed(5.5, paired=True) == 3
    # Welch's test at 2 runs each has as little as 1 degree of freedom: power 0.70 at d 8.5 (a
    # simulation of 400,000 Welch tests: 0.702), so 3 runs; 0.98 at d 20
    assert stats.seeds_needed(8.5, paired=False) == 3 and stats.seeds_needed(20, paired=False) == 2


@pytest.mark.parametrize("paired", [True, False])
def test_seeds_needed_is_monotone_in_the_effect(paired):
    grid = np.concatenate([np.linspace(0.3, 3, 28), np.linspace(3.1, 25, 110)])
    needed = [stats.seeds_needed(float(d), paired) for d in grid]
    assert all(a >= b for a, b in itertools.pairwise(needed))
    for d in grid:  # the smallest n with power 0.8, by the closed-form check of n - 1 and n
        n = stats.seeds_needed(float(d), paired)
        assert t_test_power(float(d), int(n), paired) >= 0.8
        assert n == 2 or t_test_power(float(d), int(n) - 1, paired) < 0.8


# ---------------------------------------------------------------- Hedges' g, ties, constants


def test_hedges_j_closed_form_and_published_values():
    for df in (2, 3, 4, 9, 30):
        closed = special.gamma(df / 2) / (math.sqrt(df / 2) * special.gamma((df - 1) / 2))
        assert stats.hedges_j(df) == pytest.approx(closed)
    assert stats.hedges_j(2) == pytest.approx(1 / math.sqrt(math.pi))  # J(2) = Gamma(1) / Gamma(1/2)
    # Hedges & Olkin (1985), Table 2: J(10) = 0.9227; the approximation 1 - 3/(4 df - 1) within 1e-3 at df 10
    assert stats.hedges_j(10) == pytest.approx(0.9227, abs=1e-4)
    assert stats.hedges_j(10) == pytest.approx(1 - 3 / 39, abs=1e-3)
    assert stats.hedges_g(2.0, 2) == pytest.approx(2 / math.sqrt(math.pi))


def test_a_constant_difference_that_is_not_bit_identical_claims_nothing():
    b = np.array([0.7, 0.71, 0.72, 0.69, 0.705])
    a = b + 0.07  # differences of 0.07 up to float noise (1.1e-16)
    assert np.ptp(a - b) > 0
    assert stats.no_spread(a, b, paired=True) and not stats.no_spread(a, b, paired=False)
    recs = _records("a", a, range(5)) + _records("b", b, range(5))
    (c,) = build_report(recs, CompareOptions(metrics=("macro_f1",), pairing="seed")).comparisons
    assert math.isnan(c.verdict.p_value) and c.verdict.better is None


def test_wilcoxon_float_noise_never_splits_a_tie():
    base = np.array([3.0, 1.0, 2.0, 1.0, 4.0, 2.0, 5.0])  # tied |differences|
    b = np.array([0.71, 0.73, 0.69, 0.8, 0.77, 0.72, 0.75])
    a = b + base / 100  # float arithmetic leaves the tied differences unequal in the last bits
    ours = stats.wilcoxon(a, b)
    exact = sps.wilcoxon(base, method=sps.PermutationMethod(n_resamples=9999))  # the ties as ties
    assert ours.p_value == pytest.approx(exact.pvalue) and ours.note.startswith("exact permutation")


def test_mann_whitney_float_noise_never_splits_a_tie():
    """Scores equal but for the last bits (a mean over folds summed in another order: 0.1 + 0.2 is
    not 0.3) are ties; the answer is scipy's exact permutation test on the tied values, by
    enumeration of every relabelling."""
    a = np.array([0.1 + 0.2, 0.7 - 0.4, 0.35, 0.33])  # 0.30000000000000004 and 0.29999999999999993
    b = np.array([0.3, 0.32, 0.31, 0.29])
    assert len(np.unique(np.concatenate([a, b]))) == 8  # no ties, to float arithmetic
    ours = stats.mann_whitney(a, b)
    tied_a = np.array([0.3, 0.3, 0.35, 0.33])
    pooled = np.concatenate([tied_a, b])
    ranks = sps.rankdata(pooled)
    u_obs = ranks[:4].sum() - 10
    us = [sum(ranks[list(c)]) - 10 for c in itertools.combinations(range(8), 4)]
    expected = np.mean([abs(u - 8) >= abs(u_obs - 8) - 1e-9 for u in us])
    assert ours.note.startswith("exact permutation") and ours.p_value == pytest.approx(expected)


def test_exact_friedman_by_full_enumeration():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(4, 3)).round(1)
    matrix[0, 1] = matrix[0, 0]  # a tie
    ranks = sps.rankdata(matrix, axis=1)
    observed = np.sum(ranks.sum(axis=0) ** 2)
    hits = total = 0
    for perms in itertools.product(*(list(itertools.permutations(r)) for r in ranks)):
        total += 1
        hits += np.sum(np.sum(perms, axis=0) ** 2) >= observed - 1e-9
    assert friedman_exact_p(matrix) == pytest.approx(hits / total)


def test_aso_is_not_called_below_5_runs():
    recs = _records("a", [0.8, 0.81, 0.82], range(3)) + _records("b", [0.7, 0.71, 0.72], range(3))
    (c,) = build_report(recs, CompareOptions(metrics=("macro_f1",))).comparisons
    assert "no dominance call below 5 runs per system" in c.verdict.text and "dominant (" not in c.verdict.text


def test_a_win_over_the_baseline_does_not_promote_past_a_higher_mean():
    """With baseline=, systems are compared with the baseline only; the gate still never promotes a
    system whose mean is below another compared system's (reviewer's case: C is noisy, A is not)."""
    base, a, c = [.800, .802, .801, .799, .803], [.810, .812, .811, .809, .813], [.86, .76, .90, .78, .80]
    seeds = range(42, 47)
    records = _records("base", base, seeds) + _records("A", a, seeds) + _records("C", c, seeds)
    report = build_report(records, CompareOptions(metrics=("macro_f1",), baseline="base"))
    assert sps.ttest_ind(a, base, equal_var=False).pvalue < 0.05  # A beats the baseline
    assert not gate(report, "A", has_champion=True).allowed  # but C's mean (0.820) is above A's (0.811)
    assert not gate(report, "A", has_champion=False).allowed
    assert report.best_system != "A"


def test_wilcoxon_keeps_true_ties_of_tiny_differences():
    """Differences of 1/200,000 (a large test set) that are equal but for float noise are ties;
    a noise zero is a zero (reviewer's reproducer; the exact answer by enumeration of the signs)."""
    a = np.array([.899825, .879715, .80003, .80004, .80002, .80006])
    b = np.array([.89982, .87972, .8, .8, .8, .8])
    result = stats.wilcoxon(a, b)
    true = np.array([1, -1, 3, 4, 2, 6], dtype=float)  # the differences in units of 1/200,000
    ranks = sps.rankdata(np.abs(true))
    observed = ranks[true < 0].sum()
    totals = [sum(r for r, s in zip(ranks, signs, strict=True) if s) for signs in itertools.product([0, 1], repeat=6)]
    centre = ranks.sum() / 2
    expected = np.mean([abs(t - centre) >= abs(observed - centre) - 1e-9 for t in totals])
    assert result.statistic == pytest.approx(min(observed, ranks.sum() - observed)) == 1.5
    assert result.p_value == pytest.approx(expected) == pytest.approx(0.09375)
    noisy = stats.wilcoxon(np.array([0.1 + 0.2, 0.5, 0.7, 0.9]), np.array([0.3, 0.4, 0.55, 0.8]))
    assert "1 zero difference dropped" in noisy.note


def test_the_exact_friedman_gives_up_within_seconds_on_large_designs():
    rng = np.random.default_rng(0)
    assert friedman_exact_p(rng.random((3, 6))) is None  # 6 systems: (6!)^3 orderings, chi-square instead
    assert friedman_exact_p(rng.random((20, 4))) is None
    assert friedman_exact_p(rng.random((5, 3))) is not None
