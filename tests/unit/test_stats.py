"""Known-answer tests of the statistics module (published or hand-computed values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from frenk.comparison import stats

A = [0.80, 0.82, 0.81, 0.83, 0.84]
B = [0.79, 0.80, 0.80, 0.81, 0.81]


def test_paired_t_known_answer():
    res = stats.paired_t(A, B)
    assert res.statistic == pytest.approx(4.8107, abs=5e-5)
    assert res.p_value == pytest.approx(0.0085809, abs=5e-8)


def test_wilcoxon_seven_pairs_all_in_favour():
    res = stats.wilcoxon([1, 2, 3, 4, 5, 6, 7], [0] * 7, alternative="greater")
    assert res.p_value == 1 / 128 == 0.0078125
    assert res.note == "exact"
    assert stats.wilcoxon([1, 2, 3, 4, 5, 6, 7], [0] * 7).p_value == pytest.approx(2 / 128)


def test_wilcoxon_all_zero_differences():
    assert stats.wilcoxon([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]).p_value == 1.0


def _exact_signed_rank_p(d):
    """Two-sided p of the signed-rank statistic by enumerating every sign pattern (zeros dropped)."""
    import itertools

    d = np.asarray(d, float)
    d = d[d != 0]
    ranks = sps.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    mean = ranks.sum() / 2
    stats_all = [sum(r for r, s in zip(ranks, signs, strict=False) if s) for signs in itertools.product([0, 1], repeat=len(d))]
    return np.mean([abs(t - mean) >= abs(observed - mean) - 1e-9 for t in stats_all])


def _exact_u_p(a, b):
    """Two-sided p of Mann-Whitney U by enumerating every relabelling (ties by mid-ranks)."""
    import itertools

    pooled = np.concatenate([a, b])
    ranks = sps.rankdata(pooled)
    n_a = len(a)
    u = lambda idx: ranks[list(idx)].sum() - n_a * (n_a + 1) / 2  # noqa: E731
    observed, mean = u(range(n_a)), n_a * len(b) / 2
    all_u = [u(idx) for idx in itertools.combinations(range(len(pooled)), n_a)]
    return np.mean([abs(x - mean) >= abs(observed - mean) - 1e-9 for x in all_u])


def test_wilcoxon_labels_say_what_scipy_ran():
    tied = [0.03, 0.01, 0.01, 0.02, -0.01, 0.04]  # ties in |d|: exact permutation of the signs
    res = stats.wilcoxon(tied, [0] * 6)
    assert res.note == "exact permutation (ties or zero differences)"
    assert res.p_value == pytest.approx(_exact_signed_rank_p(tied))
    zeros = [0.0, 0.02, 0.01, 0.03, 0.04, 0.05]  # one zero: dropped, the rest permuted exactly
    res = stats.wilcoxon(zeros, [0] * 6)
    assert res.note == "exact permutation (ties or zero differences); 1 zero difference dropped"
    assert res.p_value == pytest.approx(_exact_signed_rank_p(zeros)) == pytest.approx(2 / 32)
    many = np.r_[np.arange(1, 14), 13.0]  # 14 pairs with a tie: too many to enumerate
    res = stats.wilcoxon(many, np.zeros(14))
    assert res.note == "normal approximation"
    assert res.p_value == pytest.approx(sps.wilcoxon(many, np.zeros(14), method="asymptotic").pvalue)


def test_mann_whitney_with_ties_is_exact_by_permutation():
    a, b = [1, 2, 2, 4, 5], [2, 3, 6, 7, 8]
    res = stats.mann_whitney(a, b)
    assert res.note == "exact permutation (ties)"
    assert res.p_value == pytest.approx(_exact_u_p(a, b))
    assert res.p_value != pytest.approx(sps.mannwhitneyu(a, b, method="asymptotic").pvalue, abs=1e-3)


def test_mann_whitney_six_vs_six_separated():
    res = stats.mann_whitney([7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6], alternative="greater")
    assert res.p_value == pytest.approx(1 / 924, rel=1e-12)
    assert res.statistic == 36 and res.note == "exact"


def test_welch_matches_its_formula():
    a, b = np.array([0.7, 0.72, 0.75, 0.71]), np.array([0.6, 0.65, 0.61, 0.7, 0.62])
    se = math.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 5)
    assert stats.welch_t(a, b).statistic == pytest.approx((a.mean() - b.mean()) / se)


def test_sign_flip_permutation_is_exact_for_small_n():
    # 5 pairs all in favour: 2 of the 32 sign patterns are as extreme (two-sided)
    res = stats.sign_flip_permutation(A, B, paired=True)
    assert res.p_value == pytest.approx(2 / 32)


def test_effect_sizes():
    diffs = np.array(A) - np.array(B)
    assert stats.cohens_d(A, B, paired=True) == pytest.approx(diffs.mean() / diffs.std(ddof=1))
    assert stats.cliffs_delta([3, 4], [1, 2]) == 1.0
    assert stats.cliffs_delta([1, 2], [3, 4]) == -1.0
    assert stats.cliffs_delta([1, 3], [2, 2]) == 0.0
    # pooled-sd d of two samples with equal variance 1 and means 2 apart
    assert stats.cohens_d([1, 2, 3], [3, 4, 5], paired=False) == pytest.approx(-2.0)


def test_describe_ci():
    d = stats.describe(A)
    half = sps.t.ppf(0.975, 4) * np.std(A, ddof=1) / math.sqrt(5)
    assert (d.n, d.mean, d.median) == (5, pytest.approx(0.82), 0.82)
    assert d.ci_low == pytest.approx(0.82 - half) and d.ci_high == pytest.approx(0.82 + half)


def test_shapiro_needs_three():
    assert stats.shapiro([0.1, 0.2]) is None
    assert stats.shapiro([0.1, 0.2, 0.4]).p_value == pytest.approx(sps.shapiro([0.1, 0.2, 0.4]).pvalue)


def test_smallest_p_of_the_design():
    assert stats.smallest_p("Wilcoxon signed-rank", 5) == 0.0625  # can never reach 0.05
    assert stats.smallest_p("Wilcoxon signed-rank", 6) == 0.03125
    assert stats.smallest_p("Mann-Whitney U", 3, 3) == pytest.approx(0.1)
    assert stats.smallest_p("Mann-Whitney U", 6, 6) == pytest.approx(2 / 924)
    # zero differences are dropped by Wilcoxon (and flip to themselves): 6 pairs, 1 zero = 5
    assert stats.smallest_p("Wilcoxon signed-rank", 6, zeros=1) == 0.0625
    assert stats.smallest_p("sign-flip permutation", 6, zeros=1) == 0.0625
    assert stats.smallest_p("paired t-test", 3) == 0.0


def test_seeds_needed_matches_t_test_power():
    from statsmodels.stats.power import TTestPower

    n = stats.seeds_needed(1.0, paired=True)
    assert n == 10  # d_z = 1: 10 pairs give power 0.80 (8 give 0.71)
    assert TTestPower().power(1.0, n, 0.05) >= 0.8 > TTestPower().power(1.0, n - 1, 0.05)
    assert stats.seeds_needed(0.0, paired=True) is None
    # an infinite effect (no spread) gives no sd to plan with: not "2 seeds"
    assert stats.seeds_needed(math.inf, paired=True) is None
    assert stats.seeds_needed_interval(-math.inf, 5, 5, paired=True) is None
    # nor a huge finite one from rounding (differences constant but for the last bits; seen in a real
    # compare of 3 vs 3 seeds): the noncentral t cannot be evaluated there, which is no error
    assert stats.effect_size_interval(-1.0868820588583896e16, 3, 3, paired=True) is None
    assert stats.seeds_needed_interval(-1.0868820588583896e16, 3, 3, paired=True) is None
    assert stats.seeds_needed(-1.0868820588583896e16, paired=True) is None
    assert stats.seeds_needed(1e5, paired=True) == 2.0


def test_effect_size_interval_inverts_the_noncentral_t():
    low, high = stats.effect_size_interval(1.0, 10, 10, paired=True)
    t = 1.0 * math.sqrt(10)
    assert sps.nct.cdf(t, 9, low * math.sqrt(10)) == pytest.approx(0.975)
    assert sps.nct.cdf(t, 9, high * math.sqrt(10)) == pytest.approx(0.025)
    assert low < 1.0 < high
    scale = 1 / math.sqrt(1 / 5 + 1 / 7)
    low, high = stats.effect_size_interval(-0.5, 5, 7, paired=False)
    assert sps.nct.cdf(-0.5 * scale, 10, low * scale) == pytest.approx(0.975)
    assert low < 0 < high


def test_seeds_needed_interval_states_its_uncertainty():
    fewest, most = stats.seeds_needed_interval(1.0, 10, 10, paired=True)
    low, high = stats.effect_size_interval(1.0, 10, 10, paired=True)
    assert fewest == stats.seeds_needed(high, paired=True) < 10 < most == stats.seeds_needed(low, paired=True)
    # an effect whose interval includes 0: no number of seeds is sure to be enough
    assert stats.seeds_needed_interval(0.3, 5, 5, paired=True)[1] == math.inf


def test_min_detectable_difference_has_power_0_8():
    from statsmodels.stats.power import TTestIndPower, TTestPower

    mdd = stats.min_detectable_difference(0.01, 10, 10, paired=True)
    assert TTestPower().power(mdd / 0.01, 10, 0.05) == pytest.approx(0.8)
    # the textbook approximation (t_{1-alpha/2} + t_{power}) / sqrt(n) is close
    approx = (sps.t.ppf(0.975, 9) + sps.t.ppf(0.8, 9)) / math.sqrt(10) * 0.01
    assert mdd == pytest.approx(approx, rel=0.02)
    mdd = stats.min_detectable_difference(0.005, 5, 5, paired=False)
    assert stats.welch_power(mdd / 0.005, 5, 5) == pytest.approx(0.8, abs=1e-5)
    # Welch's test needs a little more than the pooled t (2.02 sd at 5 vs 5): 0.0106 against 0.0101
    assert TTestIndPower().power(mdd / 0.005, 5, 0.05) > 0.8 and 0.0102 < mdd < 0.011
    mdd = stats.min_detectable_difference(0.005, 7, 5, paired=False)
    assert stats.welch_power(mdd / 0.005, 7, 5) == pytest.approx(0.8, abs=1e-5)
    assert math.isnan(stats.min_detectable_difference(math.nan, 5, 5, paired=True))


def test_holm_known_answer():
    # Holm: sorted p * (m - rank), made monotone
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_mcnemar_exact_known_answer():
    # 10 discordant pairs, 9 in A's favour: two-sided binomial p = 2 * P(X <= 1 | n=10, 1/2) = 22/1024
    ca = np.array([True] * 9 + [False] + [True] * 20)
    cb = np.array([False] * 9 + [True] + [True] * 20)
    res = stats.mcnemar_exact(ca, cb)
    assert res.p_value == pytest.approx(22 / 1024)


@pytest.mark.slow
def test_paired_bootstrap_detects_a_real_difference_and_not_a_null_one():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    good = np.where(rng.random(400) < 0.9, y, 1 - y)
    bad = np.where(rng.random(400) < 0.7, y, 1 - y)
    macro = lambda t, p: f1_score(t, p, average="macro")  # noqa: E731
    res = stats.paired_bootstrap(y, good, bad, macro, n_resamples=500)
    assert res.difference > 0.1 and res.ci_low > 0 and res.p_value < 0.01
    same = stats.paired_bootstrap(y, good, good, macro, n_resamples=200)
    assert same.difference == 0 and same.p_value == 1.0


def test_friedman_and_critical_difference():
    scores = {"a": [0.9, 0.8, 0.85, 0.88, 0.9], "b": [0.8, 0.7, 0.75, 0.78, 0.8], "c": [0.85, 0.75, 0.8, 0.81, 0.82]}
    res = stats.friedman(scores)
    # a always first, c second, b third: chi2 = 12/(n k (k+1)) * sum R^2 - 3 n (k+1) = 10
    # the chi-square approximation would say exp(-5) = 0.0067; the exact permutation p is the 6 of the 6^5
    # within-block orderings in which all five seeds agree (the only ones reaching chi2 = 10)
    assert res.statistic == pytest.approx(10.0) and res.p_value == pytest.approx(6 / 6**5)
    assert res.method == "exact permutation"
    assert res.average_ranks == {"a": 1.0, "b": 3.0, "c": 2.0}
    # Demšar (2006): q_0.05 = 2.343 for k = 3
    assert res.critical_difference == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 5)), abs=1e-3)


# ---------------------------------------------------------------- ASO


def test_violation_ratio_by_definition():
    low, high = [0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]
    assert stats.violation_ratio(high, low) == 0.0  # high's quantiles are above low's everywhere
    assert stats.violation_ratio(low, high) == pytest.approx(1.0, abs=0.02)
    assert stats.violation_ratio(low, low) == 0.5
    # crossing distributions: the ratio is the squared-distance share where A is below B
    a, b = [0.0, 1.0], [0.4, 0.6]
    t = np.arange(0.005, 1, 0.005)
    qa, qb = np.where(t <= 0.5, 0.0, 1.0), np.where(t <= 0.5, 0.4, 0.6)
    expected = np.sum(((qb - qa) ** 2)[1:][(qa < qb)[1:]]) / np.sum((qb - qa) ** 2)
    assert stats.violation_ratio(a, b) == pytest.approx(expected)


@pytest.mark.slow
def test_aso_agrees_with_deepsig():
    deepsig = pytest.importorskip("deepsig")
    from deepsig.aso import compute_violation_ratio
    rng = np.random.default_rng(7)
    cases = [
        (rng.normal(0.80, 0.01, 5), rng.normal(0.78, 0.01, 5)),
        (rng.normal(0.80, 0.02, 6), rng.normal(0.80, 0.02, 6)),
        (rng.normal(0.75, 0.01, 5), rng.normal(0.80, 0.01, 5)),
    ]
    for a, b in cases:
        ours = stats.aso(a, b, n_bootstrap=2000, seed=1)
        theirs = deepsig.aso(a, b, num_bootstrap_iterations=2000, seed=1, show_progress=False)
        assert stats.violation_ratio(a, b) == pytest.approx(
            compute_violation_ratio(scores_a=a, scores_b=b, dt=0.005))
        assert ours == pytest.approx(theirs, abs=0.06)  # both bootstrap sigma: agree up to resampling noise


def test_aso_direction():
    better, worse = [0.90, 0.91, 0.92, 0.93, 0.94], [0.80, 0.81, 0.82, 0.83, 0.84]
    assert stats.aso(better, worse) < stats.ASO_THRESHOLD
    assert stats.aso(worse, better) > 0.9


def test_a_spread_of_float_noise_is_zero():
    """#23: a deterministic baseline's scores that differ by float noise print an sd of 0, not 1.36e-16."""
    noisy = [0.8 + 1.1e-16, 0.8, 0.8 - 1.1e-16]
    assert stats.describe(noisy).sd == 0.0 and stats.describe(noisy).ci_low == stats.describe(noisy).mean
    assert stats.describe([0.8, 0.81]).sd > 0
