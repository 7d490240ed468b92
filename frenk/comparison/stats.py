"""Statistics for comparing classifiers: arrays in, results out. No MLflow, no I/O.

Well-kept implementations are used wherever they exist (scipy for the classical tests,
statsmodels for Holm, McNemar and power). Almost Stochastic Order (Dror et al. 2019, as
re-implemented by Ulmer et al. 2022 in deepsig) is written here and tested against its
definition and against deepsig.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

#: ASO's recommended threshold: A is almost stochastically dominant over B when eps_min < 0.2
ASO_THRESHOLD = 0.2


@dataclass
class Describe:
    n: int
    mean: float
    sd: float
    median: float
    ci_low: float
    ci_high: float


def describe(x, confidence: float = 0.95) -> Describe:
    """n, mean, sample sd, median and a t-based confidence interval of the mean."""
    a = np.asarray(x, dtype=float)
    n = len(a)
    mean = float(a.mean()) if n else math.nan
    sd = float(a.std(ddof=1)) if n > 1 else math.nan
    if n > 1 and sd > 0:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = mean
    return Describe(n, mean, sd, float(np.median(a)) if n else math.nan, float(low), float(high))


@dataclass
class TestResult:
    name: str
    statistic: float
    p_value: float
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def shapiro(x) -> TestResult | None:
    """Shapiro-Wilk normality test (needs n >= 3; ``None`` below that). Constant data count
    as not normal-testable and give p = nan."""
    a = np.asarray(x, dtype=float)
    if len(a) < 3:
        return None
    if np.ptp(a) == 0:
        return TestResult("Shapiro-Wilk", math.nan, math.nan, "all values equal")
    res = stats.shapiro(a)
    return TestResult("Shapiro-Wilk", float(res.statistic), float(res.pvalue))


def paired_t(a, b, alternative: str = "two-sided") -> TestResult:
    res = stats.ttest_rel(a, b, alternative=alternative)
    return TestResult("paired t-test", float(res.statistic), float(res.pvalue))


def welch_t(a, b, alternative: str = "two-sided") -> TestResult:
    res = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    return TestResult("Welch's t-test", float(res.statistic), float(res.pvalue))


#: exact permutation tests enumerate every sign pattern / relabelling up to this many
EXACT_PERMUTATIONS = 9999


def _exact_permutation():
    return stats.PermutationMethod(n_resamples=EXACT_PERMUTATIONS)


def wilcoxon(a, b, alternative: str = "two-sided") -> TestResult:
    """Wilcoxon signed-rank test (zero differences dropped, as Wilcoxon did). The method is
    chosen here and the note says which one ran: the exact distribution without ties or zeros
    (n <= 50); an exact permutation of the signs with ties or zeros (2^n <= 9999, n <= 13);
    else the normal approximation."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if np.all(d == 0):
        return TestResult("Wilcoxon signed-rank", 0.0, 1.0, "all differences are zero")
    nonzero = np.abs(d[d != 0])
    clean = len(nonzero) == len(d) and len(np.unique(nonzero)) == len(nonzero)
    if clean and len(d) <= 50:
        method, note = "exact", "exact"
    elif not clean and 2 ** len(d) <= EXACT_PERMUTATIONS:
        method, note = _exact_permutation(), "exact permutation (ties or zero differences)"
    else:
        method, note = "asymptotic", "normal approximation"
    res = stats.wilcoxon(a, b, alternative=alternative, method=method)
    zeros = len(d) - len(nonzero)
    return TestResult("Wilcoxon signed-rank", float(res.statistic), float(res.pvalue),
                      note + (f"; {zeros} zero difference{'s' * (zeros > 1)} dropped" if zeros else ""))


def mann_whitney(a, b, alternative: str = "two-sided") -> TestResult:
    """Mann-Whitney U: the exact distribution without ties; with ties an exact permutation
    test of U over every relabelling (when there are at most 9999); else the normal
    approximation."""
    pooled = np.concatenate([np.asarray(a, float), np.asarray(b, float)])
    ties = len(np.unique(pooled)) < len(pooled)
    if not ties and len(pooled) <= 60:
        method, note = "exact", "exact"
    elif ties and math.comb(len(pooled), len(a)) <= EXACT_PERMUTATIONS:
        method, note = _exact_permutation(), "exact permutation (ties)"
    else:
        method, note = "asymptotic", "normal approximation"
    res = stats.mannwhitneyu(a, b, alternative=alternative, method=method)
    return TestResult("Mann-Whitney U", float(res.statistic), float(res.pvalue), note)


def sign_flip_permutation(a, b, paired: bool, seed: int = 0, n_resamples: int = 9999) -> TestResult:
    """Permutation test of the mean difference: sign flips of paired differences (exact up to
    2^n <= n_resamples), or relabelling of independent samples."""
    a, b = np.asarray(a, float), np.asarray(b, float)

    def mean_diff(x, y, axis=-1):
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    res = stats.permutation_test(
        (a, b),
        mean_diff,
        permutation_type="samples" if paired else "independent",
        n_resamples=n_resamples,
        alternative="two-sided",
        random_state=np.random.default_rng(seed),
        vectorized=True,
    )
    name = "sign-flip permutation" if paired else "permutation (relabelling)"
    return TestResult(name, float(res.statistic), float(res.pvalue))


def cohens_d(a, b, paired: bool) -> float:
    """Cohen's d: d_z = mean(diff)/sd(diff) for paired samples, pooled-sd d otherwise."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired:
        d = a - b
        sd = d.std(ddof=1) if len(d) > 1 else math.nan
        return float(d.mean() / sd) if sd and sd > 0 else (math.copysign(math.inf, d.mean()) if d.mean() else 0.0)
    na, nb = len(a), len(b)
    pooled = (math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
              if na + nb > 2 else math.nan)
    diff = a.mean() - b.mean()
    return float(diff / pooled) if pooled and pooled > 0 else (math.copysign(math.inf, diff) if diff else 0.0)


def cliffs_delta(a, b) -> float:
    """Cliff's delta: P(a > b) - P(a < b) over all pairs, in [-1, 1]."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    greater = (a[:, None] > b[None, :]).sum()
    less = (a[:, None] < b[None, :]).sum()
    return float((greater - less) / (len(a) * len(b)))


# ---------------------------------------------------------------- Almost Stochastic Order


def quantile_function(scores) -> Callable[[ArrayLike], np.ndarray]:
    """The empirical quantile function F^-1(t) = x_(ceil(n t)) as a vectorised callable."""
    s = np.sort(np.asarray(scores, float))
    n = len(s)

    def q(t):
        idx = np.clip(np.ceil(n * np.asarray(t)).astype(int) - 1, 0, n - 1)
        return s[idx]

    return q


def violation_ratio(a, b, dt: float = 0.005) -> float:
    """epsilon_W2(F_A, F_B): the share of the squared 2-Wasserstein distance between the
    quantile functions where A's quantile is below B's (where "A dominates B" is violated)."""
    t = np.arange(dt, 1, dt)
    f, g = quantile_function(a)(t), quantile_function(b)(t)
    diff = g - f
    total = np.sum(diff**2 * dt)
    if total == 0:
        return 0.5  # identical distributions: no order in either direction
    diff[f >= g] = 0
    return float(np.sum(diff[1:] ** 2 * dt) / total)


def aso(a, b, confidence: float = 0.95, n_bootstrap: int = 1000, dt: float = 0.005, seed: int = 0) -> float:
    """Almost Stochastic Order (Dror et al. 2019): eps_min, an upper confidence bound of the
    violation ratio. eps_min < 0.2 means A is almost stochastically dominant over B
    (higher scores better); eps_min near 1 means B dominates A; near 0.5 means no order."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ratio = violation_ratio(a, b, dt)
    rng = np.random.default_rng(seed)
    boot = np.array(
        [violation_ratio(rng.choice(a, len(a)), rng.choice(b, len(b)), dt) for _ in range(n_bootstrap)]
    )
    const = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    sigma = np.std(const * (boot - ratio))
    return float(np.clip(ratio - sigma / const * stats.norm.ppf(1 - confidence), 0, 1))


# ---------------------------------------------------------------- per-example tests


def mcnemar_exact(correct_a, correct_b) -> TestResult:
    """McNemar's exact test on the paired correctness of two classifiers on the same examples."""
    from statsmodels.stats.contingency_tables import mcnemar

    ca, cb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    table = [[int(np.sum(ca & cb)), int(np.sum(ca & ~cb))], [int(np.sum(~ca & cb)), int(np.sum(~ca & ~cb))]]
    res = mcnemar(table, exact=True)
    return TestResult("McNemar exact", float(res.statistic), float(res.pvalue),
                      f"A right/B wrong {table[0][1]}, A wrong/B right {table[1][0]}")


@dataclass
class BootstrapResult:
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_resamples: int


def paired_bootstrap(labels, pred_a, pred_b, metric, n_resamples: int = 2000, seed: int = 0) -> BootstrapResult:
    """Paired bootstrap over examples of ``metric(labels, pred_a) - metric(labels, pred_b)``:
    the observed difference, a 95% percentile interval and a two-sided p-value (twice the
    share of resampled differences on the other side of zero)."""
    labels, pred_a, pred_b = (np.asarray(x) for x in (labels, pred_a, pred_b))
    rng = np.random.default_rng(seed)
    observed = metric(labels, pred_a) - metric(labels, pred_b)
    n = len(labels)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = metric(labels[idx], pred_a[idx]) - metric(labels[idx], pred_b[idx])
    if observed >= 0:
        p = 2 * (np.sum(diffs <= 0) + 1) / (n_resamples + 1)
    else:
        p = 2 * (np.sum(diffs >= 0) + 1) / (n_resamples + 1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return BootstrapResult(float(observed), float(low), float(high), float(min(1.0, p)), n_resamples)


# ---------------------------------------------------------------- several systems


def holm(p_values) -> list[float]:
    """Holm-adjusted p-values (statsmodels)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, float)
    if len(p) == 0:
        return []
    return [float(x) for x in multipletests(p, method="holm")[1]]


@dataclass
class FriedmanResult:
    statistic: float
    p_value: float
    average_ranks: dict[str, float]
    critical_difference: float


def friedman(scores: dict[str, list[float]], alpha: float = 0.05) -> FriedmanResult:
    """Friedman test over k >= 3 systems measured on the same n blocks (seeds), with the
    average ranks (1 = best, higher score better) and the Nemenyi critical difference
    q_alpha * sqrt(k(k+1)/(6n)) (Demšar 2006)."""
    names = list(scores)
    matrix = np.array([scores[n] for n in names], float).T  # blocks x systems
    stat, p = stats.friedmanchisquare(*matrix.T)
    ranks = stats.rankdata(-matrix, axis=1).mean(axis=0)
    k, n = len(names), matrix.shape[0]
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    cd = q * math.sqrt(k * (k + 1) / (6 * n))
    return FriedmanResult(float(stat), float(p), dict(zip(names, map(float, ranks), strict=True)), float(cd))


# ---------------------------------------------------------------- design and power


def smallest_p(test: str, n_a: int, n_b: int | None = None, zeros: int = 0) -> float:
    """The smallest two-sided p-value an exact rank/sign test can give with this design:
    Wilcoxon signed-rank and sign-flip permutation 2/2^m, where m = n_a - ``zeros`` (zero
    differences are dropped, or flip to themselves); Mann-Whitney U and the relabelling
    permutation 2/C(n_a+n_b, n_a) (without ties). t-tests have no floor: 0."""
    if test in ("Wilcoxon signed-rank", "sign-flip permutation"):
        return min(1.0, 2 / 2 ** max(n_a - zeros, 0))
    if test in ("Mann-Whitney U", "permutation (relabelling)"):
        return min(1.0, 2 / math.comb(n_a + _second(n_b), n_a))
    return 0.0


def _power_solver(paired: bool):
    from statsmodels.stats.power import TTestIndPower, TTestPower

    return TTestPower() if paired else TTestIndPower()


#: an effect size beyond this comes from scores whose spread is rounding noise: treated as infinite
NO_SPREAD_EFFECT = 1e6


def seeds_needed(effect_size: float, paired: bool, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Seeds (pairs, or runs per system) a t-test needs to detect ``effect_size`` (Cohen's d)
    with ``power``; ``None`` when there is nothing to compute from: no effect (0), or an
    infinite one (no spread at all, or only rounding noise beyond :data:`NO_SPREAD_EFFECT`,
    so the sd that power rests on is unknown); inf when more than 10^7 would be needed."""
    if effect_size == 0 or not math.isfinite(effect_size) or abs(effect_size) > NO_SPREAD_EFFECT:
        return None
    solver = _power_solver(paired)
    d = abs(effect_size)

    def enough(n: int) -> bool:
        # n pairs (paired), or n runs per system (independent, equal sizes)
        return float(solver.power(d, n, alpha, alternative="two-sided")) >= power

    high = 2
    while not enough(high):
        if high > 10**7:
            return math.inf
        high *= 2
    low = high // 2 if high > 2 else 1
    while high - low > 1:  # smallest n with enough power, by bisection (power grows with n)
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return float(high)


def effect_size_interval(effect_size: float, n_a: int, n_b: int | None, paired: bool,
                         confidence: float = 0.95) -> tuple[float, float] | None:
    """Exact confidence interval of Cohen's d (d_z when paired, pooled-sd d otherwise) from the
    noncentral t distribution of the t statistic; ``None`` when d is not finite, or so large
    (all but constant differences, d of 1e16 from rounding) that the distribution cannot be evaluated."""
    from scipy.optimize import brentq

    if not math.isfinite(effect_size) or abs(effect_size) > NO_SPREAD_EFFECT:
        return None
    scale = math.sqrt(n_a) if paired else 1 / math.sqrt(1 / n_a + 1 / _second(n_b))
    df = n_a - 1 if paired else n_a + _second(n_b) - 2
    t = effect_size * scale

    def bound(q: float) -> float:  # the noncentrality at which t is the q-quantile
        f = lambda nc: stats.nct.cdf(t, df, nc) - q  # noqa: E731
        lo, hi = t - 10, t + 10
        if not (math.isfinite(f(lo)) and math.isfinite(f(hi))):
            return math.nan  # a t so large (runs whose differences are all but constant) that nct has no value
        while f(lo) < 0:
            lo -= 10
        while f(hi) > 0:
            hi += 10
        return brentq(f, lo, hi, xtol=1e-10)

    tail = (1 - confidence) / 2
    low, high = bound(1 - tail), bound(tail)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low / scale, high / scale


def seeds_needed_interval(effect_size: float, n_a: int, n_b: int | None, paired: bool, alpha: float = 0.05,
                          power: float = 0.8,
                          confidence: float = 0.95) -> tuple[float | None, float | None] | None:
    """How uncertain :func:`seeds_needed` is: the seeds needed at the two ends of the effect
    size's confidence interval, (fewest, most). The most is inf when the interval reaches
    an effect of 0 (any number of seeds may be too few). ``None`` when d is not finite (and an end
    is ``None`` where :func:`seeds_needed` has nothing to compute from)."""
    interval = effect_size_interval(effect_size, n_a, n_b, paired, confidence)
    if interval is None:
        return None
    low, high = sorted(abs(x) for x in interval)
    if interval[0] <= 0 <= interval[1]:
        low = 0.0
    fewest = seeds_needed(high, paired, alpha, power)
    most = seeds_needed(low, paired, alpha, power) if low > 0 else math.inf
    return fewest, most


def min_detectable_difference(sd: float, n_a: int, n_b: int | None, paired: bool, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    """The smallest true mean difference the primary t-test detects with ``power`` at this run
    count: the standardised effect solved from the noncentral t distribution, times ``sd``
    (the sd of the paired differences, or the pooled sd). nan without a usable sd or n."""
    if not (math.isfinite(sd) and n_a >= 2 and (paired or (n_b or 0) >= 2)):
        return math.nan
    if paired:
        d = _power_solver(True).solve_power(nobs=n_a, alpha=alpha, power=power, alternative="two-sided")
    else:
        d = _power_solver(False).solve_power(nobs1=n_a, ratio=_second(n_b) / n_a, alpha=alpha, power=power,
                                             alternative="two-sided")
    return float(np.atleast_1d(d)[0]) * sd


def _second(n_b: int | None) -> int:
    """The second system's run count, which a design of two independent samples needs."""
    if n_b is None:
        raise ValueError("a comparison of two independent samples needs n_b, the second system's run count")
    return n_b
