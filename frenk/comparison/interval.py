"""The seed-level interval of a mean difference, and the plan for the next batch of seeds: how
many seeds per system would let a true difference of twice the margin clear the margin with
power 0.8 under the two-level rule (its t-widened seed part included), from the observed seed
spread and the test set's own standard error (which no number of seeds reduces)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from .twolevel import widening

#: the power a plan sizes the next batch for
PLAN_POWER = 0.8
#: the true difference a plan sizes for when the margin is 0 (metric units)
PLAN_EFFECT_WITHOUT_MARGIN = 0.01
#: no plan asks for more seeds per system than this
PLAN_MAX_SEEDS = 200


def seed_interval(xa, xb, paired: bool, confidence: float) -> tuple[float, float]:
    """The t interval of mean(A) - mean(B) over seeds (paired t, or Welch), nan without spread."""
    xa, xb = np.asarray(xa, float), np.asarray(xb, float)
    with np.errstate(all="ignore"):
        res = stats.ttest_rel(xa, xb) if paired else stats.ttest_ind(xa, xb, equal_var=False)
        ci = res.confidence_interval(confidence)
    low, high = float(ci.low), float(ci.high)
    return (low, high) if math.isfinite(low) and math.isfinite(high) else (math.nan, math.nan)


@dataclass(frozen=True)
class Plan:
    """Seeds per system for the next look (None: no number suffices), what it assumes, and why."""

    target: float
    margin: float
    seeds: int | None
    seed_sd: tuple[float, float]
    test_se: float
    alpha: float
    text: str

    def to_dict(self) -> dict:
        return {**asdict(self), "seed_sd": list(self.seed_sd)}

    @classmethod
    def from_dict(cls, d: dict | None) -> Plan | None:
        if not d:
            return None
        nan = math.nan
        sd = d.get("seed_sd") or [nan, nan]
        return cls(d.get("target", nan), d.get("margin", nan), d.get("seeds"), (sd[0], sd[1]), d.get("test_se", nan),
                   d.get("alpha", nan), d.get("text", ""))


def plan_target(margin: float) -> float:
    """The true difference a plan sizes for: twice the margin (0.01 with no margin)."""
    return 2 * margin if margin > 0 else PLAN_EFFECT_WITHOUT_MARGIN


def plan_power(n: int, sd_a: float, sd_b: float, test_se: float, room: float, alpha: float) -> float:
    """The chance that the two-level interval at the next look (confidence 1 - ``alpha``, n seeds
    per system) lies above the margin when the true difference exceeds it by ``room``. The
    interval's half-width is z(1 - alpha/2) x sqrt(w^2 (n-1)/n V + test_se^2), where V = (s_a^2 +
    s_b^2) / n is the seeds' variance of the mean difference estimated from the next batch and w
    the t widening the bootstrap gives it (:func:`~.twolevel.widening`); the estimate is normal
    around the true difference with variance (sd_a^2 + sd_b^2) / n + test_se^2. The chance is
    averaged over the chi-square distributions of the two sample variances (a grid of quantiles).
    With no test-set error this is the noncentral t power of "mean difference - margin > t(n-1)
    sqrt(V)" (tests/unit/test_twolevel.py)."""
    q = (np.arange(PLAN_GRID) + 0.5) / PLAN_GRID
    chi = stats.chi2.ppf(q, n - 1) / (n - 1)
    seeds_var = (sd_a ** 2 * chi + sd_b ** 2 * chi[:, None]) / n  # V, over the grid
    wide = widening(n, 1 - alpha) ** 2 * (n - 1) / n
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(wide * seeds_var + test_se ** 2)
    spread = math.sqrt((sd_a ** 2 + sd_b ** 2) / n + test_se ** 2)
    if spread == 0:
        return 1.0 if room > 0 else 0.0
    return float(np.mean(stats.norm.sf((half - room) / spread)))


#: the quantiles per sample variance of :func:`plan_power`'s grid
PLAN_GRID = 200


def seeds_for(sd_a: float, sd_b: float, test_se: float, target: float, margin: float, alpha: float) -> int | None:
    """The fewest seeds n per system whose next look calls a true difference of ``target``
    better than ``margin`` with power :data:`PLAN_POWER` (:func:`plan_power`); None when none up
    to :data:`PLAN_MAX_SEEDS` does (the test-set error alone leaves too little room)."""
    room = target - margin
    if not (room > 0 and math.isfinite(sd_a) and math.isfinite(sd_b)):
        return None

    def enough(n: int) -> bool:
        return plan_power(n, sd_a, sd_b, test_se, room, alpha) >= PLAN_POWER

    if not enough(PLAN_MAX_SEEDS):
        return None
    low, high = 1, PLAN_MAX_SEEDS  # enough(high); the power grows with n
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


def plan(xa, xb, two_level_se: float | None, margin: float, alpha: float, confidence: float = 0.95) -> Plan:
    """The plan for the next look at ``alpha``: the test-set SE is what the two-level standard
    error ``two_level_se`` (of an interval at ``confidence``) has beyond its seed part, which the
    bootstrap widened as a t interval (:func:`~.twolevel.widening`); 0 without predictions."""
    xa, xb = np.asarray(xa, float), np.asarray(xb, float)
    sd_a = float(xa.std(ddof=1)) if len(xa) > 1 else math.nan
    sd_b = float(xb.std(ddof=1)) if len(xb) > 1 else math.nan

    def seed_part(sd: float, n: int) -> float:  # the variance the widened seed draws add to the mean
        return widening(n, confidence) ** 2 * (n - 1) / n * sd ** 2 / n

    seed_var = seed_part(sd_a, len(xa)) + seed_part(sd_b, len(xb)) if len(xa) > 1 and len(xb) > 1 else math.nan
    test_se = math.sqrt(max(two_level_se ** 2 - seed_var, 0.0)) if two_level_se and math.isfinite(seed_var) else 0.0
    target = plan_target(margin)
    n = seeds_for(sd_a, sd_b, test_se, target, margin, alpha)
    basis = (f"seed sd {sd_a:.3g} and {sd_b:.3g}" + (f", test-set SE {test_se:.3g}" if two_level_se else "")
             + f", alpha {alpha:.3g}")
    if n is not None:
        text = (f"plan: {n} seeds per system would let a true difference of {target:.3g} clear the margin "
                f"{margin:.3g} with power {PLAN_POWER} at the next look ({basis}); fix it before training the batch")
    else:
        text = (f"plan: no number of seeds up to {PLAN_MAX_SEEDS} lets a true difference of {target:.3g} clear "
                f"the margin {margin:.3g} with power {PLAN_POWER} ({basis}): the test set's own uncertainty "
                "does not shrink with seeds; a larger test set, or a larger margin, is needed")
    return Plan(target, margin, n, (sd_a, sd_b), test_se, alpha, text)
