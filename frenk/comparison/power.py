"""Design and power of a comparison of classifiers: the smallest p an exact test can give, the
seeds a t-test needs, the uncertainty of that number, and the minimum detectable difference
(scipy's noncentral t; statsmodels' solver for the minimum detectable difference). Re-exported by :mod:`.stats`."""

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


def _power_solver(paired: bool):
    from statsmodels.stats.power import TTestIndPower, TTestPower

    return TTestPower() if paired else TTestIndPower()


def t_test_power(effect_size: float, n: int, paired: bool, alpha: float = 0.05) -> float:
    """Power of the two-sided t-test at Cohen's d ``effect_size``: P(|T| > t_crit) with T
    noncentral t (n pairs, df n - 1, noncentrality d sqrt(n); or n runs per system, df 2n - 2,
    noncentrality d sqrt(n/2)). scipy's noncentral t is finite where statsmodels' power gives nan
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
        # n pairs (paired), or n runs per system (independent, equal sizes)
        return t_test_power(d, n, paired, alpha) >= power

    if enough(2):
        return 2.0
    high = 4
    while not enough(high):
        if high > 10**7:
            return math.inf
        high *= 2
    low = high // 2
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
