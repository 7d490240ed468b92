"""Design and power of a comparison of classifiers: the smallest p an exact test can give, the
seeds a t-test needs, the uncertainty of that number, and the minimum detectable difference
(scipy's noncentral t for the paired t, Welch's power over the sample variances' distributions;
statsmodels' solver for the paired minimum detectable difference). Re-exported by :mod:`.stats`."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


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


def _power_solver():
    from statsmodels.stats.power import TTestPower

    return TTestPower()


def t_test_power(effect_size: float, n: int, paired: bool, alpha: float = 0.05) -> float:
    """Power of the primary two-sided t-test at Cohen's d ``effect_size``: the paired t (n pairs,
    noncentral t with df n - 1, noncentrality d sqrt(n)), or Welch's test with n runs per system
    (:func:`welch_power`)."""
    if not paired:
        return welch_power(effect_size, n, n, alpha) if n >= 2 else math.nan
    return noncentral_t_power(effect_size, n, True, alpha)


def noncentral_t_power(effect_size: float, n: int, paired: bool, alpha: float = 0.05) -> float:
    """P(|T| > t_crit) with T noncentral t: n pairs (df n - 1, noncentrality d sqrt(n)), or the
    pooled two-sample t with n runs per system (df 2n - 2, noncentrality d sqrt(n/2); an upper
    bound of Welch's power). scipy's noncentral t is finite where statsmodels' power gives nan
    (large noncentralities); a tail scipy cannot evaluate is 0 (the upper) or 1 (the lower)."""
    d = abs(effect_size)
    df = n - 1 if paired else 2 * n - 2
    if df < 1:
        return math.nan
    nc = d * math.sqrt(n if paired else n / 2)
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    upper = float(stats.nct.sf(crit, df, nc))
    lower = float(stats.nct.cdf(-crit, df, nc))
    upper = upper if math.isfinite(upper) else (1.0 if nc > crit else 0.0)
    lower = lower if math.isfinite(lower) else 0.0
    return min(1.0, upper + lower)


#: the points per sample variance of :func:`welch_power`'s grid (its power agrees with a Monte
#: Carlo of 400,000 draws to 0.001: tests/unit/test_verdicts.py)
WELCH_GRID = 200


def welch_power(effect_size: float, n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """Power of Welch's two-sided t-test at Cohen's d ``effect_size`` (both systems with the same
    sd) with n_a and n_b runs. The pooled t's noncentral t overstates it at few seeds (0.78
    against 0.68 at d = 3, 3 runs each): Welch's degrees of freedom are estimated from the two
    sample variances. Given those variances the mean difference is normal, so the power is the
    normal tail beyond Welch's critical value, averaged over the two variances' chi-square
    distributions (a grid of :data:`WELCH_GRID` quantiles each)."""
    if n_a < 2 or n_b < 2:
        return math.nan
    q = (np.arange(WELCH_GRID) + 0.5) / WELCH_GRID
    va = stats.chi2.ppf(q, n_a - 1) / (n_a - 1) / n_a  # s_a^2 / n_a in units of the sd^2
    vb = (stats.chi2.ppf(q, n_b - 1) / (n_b - 1) / n_b)[:, None]
    se2 = va + vb
    df = se2 ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))  # Welch-Satterthwaite
    crit = stats.t.ppf(1 - alpha / 2, df) * np.sqrt(se2)
    spread = math.sqrt(1 / n_a + 1 / n_b)  # the mean difference's sd, in units of the sd
    d = abs(effect_size)
    tails = stats.norm.sf((crit - d) / spread) + stats.norm.cdf((-crit - d) / spread)
    return min(1.0, float(np.mean(tails)))


#: an effect size beyond this comes from scores whose spread is rounding noise: treated as infinite
NO_SPREAD_EFFECT = 1e6


def seeds_needed(effect_size: float, paired: bool, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Seeds (pairs, or runs per system) a t-test needs to detect ``effect_size`` (Cohen's d)
    with ``power`` (:func:`t_test_power`; at least 2); ``None`` when there is nothing to compute
    from: no effect (0), or an infinite one (no spread at all, or only rounding noise beyond
    :data:`NO_SPREAD_EFFECT`, so the sd that power rests on is unknown); inf when more than 10^7
    would be needed."""
    if effect_size == 0 or not math.isfinite(effect_size) or abs(effect_size) > NO_SPREAD_EFFECT:
        return None
    d = abs(effect_size)

    def enough(n: int) -> bool:
        # n pairs (paired), or n runs per system under the pooled t, whose power bounds Welch's
        return noncentral_t_power(d, n, paired, alpha) >= power

    if enough(2):
        found = 2
    else:
        high = 4
        while not enough(high):
            if high > 10**7:
                return math.inf
            high *= 2
        low = high // 2
        while high - low > 1:  # smallest n with enough power, by bisection (power grows with n)
            mid = (low + high) // 2
            low, high = (low, mid) if enough(mid) else (mid, high)
        found = high
    while not paired and welch_power(d, found, found, alpha) < power:  # Welch needs as many or a few more
        found += 1
    return float(found)


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
    """The smallest true mean difference the primary test detects with ``power`` at this run
    count, times ``sd`` (the sd of the paired differences, or the pooled sd): the paired t's
    standardised effect from statsmodels' noncentral t solver, or the effect at which
    :func:`welch_power` reaches ``power`` (solved by Brent's method). nan without a usable sd or n."""
    from scipy.optimize import brentq

    if not (math.isfinite(sd) and n_a >= 2 and (paired or (n_b or 0) >= 2)):
        return math.nan
    if paired:
        d = _power_solver().solve_power(nobs=n_a, alpha=alpha, power=power, alternative="two-sided")
        return float(np.atleast_1d(d)[0]) * sd
    n_b = _second(n_b)
    high = 1.0
    while welch_power(high, n_a, n_b, alpha) < power:
        high *= 2
    return float(brentq(lambda x: welch_power(x, n_a, n_b, alpha) - power, 0.0, high, xtol=1e-6)) * sd


def _second(n_b: int | None) -> int:
    """The second system's run count, which a design of two independent samples needs."""
    if n_b is None:
        raise ValueError("a comparison of two independent samples needs n_b, the second system's run count")
    return n_b
