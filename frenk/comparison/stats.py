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

from .exact import friedman_exact_p
from .power import (  # noqa: F401  (the power analysis, re-exported: stats is the one module callers name)
    NO_SPREAD_EFFECT,
    effect_size_interval,
    min_detectable_difference,
    seeds_needed,
    seeds_needed_interval,
    smallest_p,
    welch_power,
)

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
    if n > 1 and _spread_free(a):  # float noise (1e-16 of the scores) is no spread: it prints as 0
        sd = 0.0
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


#: scores (or paired differences) whose spread is below this share of their size are constant:
#: float arithmetic leaves ~1e-17 of noise where a difference is the same for every seed
SPREAD_RTOL = 1e-12
#: differences are rounded to a grid of this share of the scores' size before they are ranked, so
#: that float noise (absolute, about 1e-16 of the scores) never splits a tie nor makes a zero
RANK_RTOL = 1e-12


def _spread_free(x: np.ndarray) -> bool:
    return len(x) == 0 or float(np.ptp(x)) <= SPREAD_RTOL * max(float(np.max(np.abs(x))), 1e-300)


def no_spread(a, b, paired: bool) -> bool:
    """True when the t statistic has nothing to rest on: constant paired differences, or both
    samples constant (up to :data:`SPREAD_RTOL` of their size, not only bit-identical)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return _spread_free(a - b) if paired else (_spread_free(a) and _spread_free(b))


def round_for_ranking(x, size: float) -> np.ndarray:
    """``x`` (differences of scores of about ``size``) on a grid of :data:`RANK_RTOL` x ``size``:
    equal differences that float arithmetic made unequal are equal again, a noise zero is zero."""
    x = np.asarray(x, float)
    grid = RANK_RTOL * size if np.isfinite(size) and size > 0 else 0.0
    return np.round(x / grid) * grid if grid else x.copy()


def hedges_j(df: float) -> float:
    """Hedges' exact small-sample correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))."""
    if not df > 1:
        return math.nan
    return math.exp(math.lgamma(df / 2) - math.lgamma((df - 1) / 2)) / math.sqrt(df / 2)


def hedges_g(d: float, df: float) -> float:
    """Hedges' g: Cohen's d times J(df) (df = n - 1 paired, n_a + n_b - 2 independent)."""
    return d * hedges_j(df) if math.isfinite(d) and df > 1 else (d if d == 0 or math.isinf(d) else math.nan)


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
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = round_for_ranking(a - b, float(np.max(np.abs(np.concatenate([a, b])), initial=0.0)))
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
    res = stats.wilcoxon(d, alternative=alternative, method=method)
    zeros = len(d) - len(nonzero)
    return TestResult("Wilcoxon signed-rank", float(res.statistic), float(res.pvalue),
                      note + (f"; {zeros} zero difference{'s' * (zeros > 1)} dropped" if zeros else ""))


def mann_whitney(a, b, alternative: str = "two-sided") -> TestResult:
    """Mann-Whitney U on the scores rounded to a grid of :data:`RANK_RTOL` of their size (scores
    equal but for float noise are ties): the exact distribution without ties; with ties an exact permutation
    test of U over every relabelling (when there are at most 9999); else the normal
    approximation."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    size = float(np.max(np.abs(np.concatenate([a, b])), initial=0.0))
    a, b = round_for_ranking(a, size), round_for_ranking(b, size)  # float noise never splits a tie
    pooled = np.concatenate([a, b])
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
    method: str = "chi-square approximation"


def friedman(scores: dict[str, list[float]], alpha: float = 0.05) -> FriedmanResult:
    """Friedman test over k >= 3 systems measured on the same n blocks (seeds), with the
    average ranks (1 = best, higher score better) and the Nemenyi critical difference
    q_alpha * sqrt(k(k+1)/(6n)) (Demšar 2006)."""
    names = list(scores)
    matrix = np.array([scores[n] for n in names], float).T  # blocks x systems
    stat, p = stats.friedmanchisquare(*matrix.T)
    exact = friedman_exact_p(matrix)  # the chi-square approximation is poor at 5 seeds
    p, method = (p, "chi-square approximation") if exact is None else (exact, "exact permutation")
    ranks = stats.rankdata(-matrix, axis=1).mean(axis=0)
    k, n = len(names), matrix.shape[0]
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    cd = q * math.sqrt(k * (k + 1) / (6 * n))
    return FriedmanResult(float(stat), float(p), dict(zip(names, map(float, ranks), strict=True)), float(cd),
                          method)
