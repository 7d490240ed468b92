"""Seeds raced within a study: each configuration is evaluated on up to ``k`` tuning seeds, and
gets its next seed only while it can still be the best.

The rule (README, *Seeds in a search*): after each seed but the last, a configuration whose mean
so far is worse than the incumbent's mean (the finished configuration with the best mean over all
``k`` seeds) by more than a one-sided t threshold is pruned:

    worse by  d > t(1 - alpha, df) * s * sqrt(1/j + 1/k)

where ``j`` is the number of seeds it trained, ``s`` the seed sd of the study (pooled over every
configuration with two seeds or more, each about its own mean) and ``df`` its degrees of freedom.
Until some configuration has two seeds there is no ``s``, and nothing is pruned.

Optuna's ``WilcoxonPruner`` tests the same shape (instances = seeds), but a signed-rank test on
``j`` pairs cannot reach p < 0.1 before 4 seeds (its smallest one-sided p is 1/2^j), so at the 2-5
seeds a fine-tuning study affords it would never prune; the pooled seed sd borrows strength from
every configuration instead.

Tuning seeds come from a range of their own (:data:`~frenk.core.choices.TUNING_SEED_BASE` on),
recorded on the study, so that the seeds ``train`` later trains (42, 43, ... by default) never
replay a trial.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..core.choices import RACE_ALPHA, TUNING_SEED_BASE


def tuning_seeds(k: int, base: int = TUNING_SEED_BASE) -> list[int]:
    """The ``k`` seeds every configuration of a study draws in turn (the same for all: their
    per-seed values line up)."""
    return [base + j for j in range(k)]


@dataclass(frozen=True)
class Spread:
    """The study's seed sd, pooled over configurations, with its degrees of freedom."""

    sd: float
    df: int


def pooled_spread(groups: Iterable[Sequence[float]]) -> Spread | None:
    """The pooled within-configuration sd of the seed values (each group about its own mean);
    None when no group has two values."""
    squares, df = 0.0, 0
    for values in groups:
        if len(values) >= 2:
            x = np.asarray(values, dtype=float)
            squares += float(((x - x.mean()) ** 2).sum())
            df += len(x) - 1
    if df == 0:
        return None
    return Spread(math.sqrt(squares / df), df)


def margin(j: int, k: int, spread: Spread, alpha: float = RACE_ALPHA) -> float:
    """How much worse than the incumbent (mean over ``k`` seeds) a mean over ``j`` seeds must be to
    be clearly worse."""
    return float(stats.t.ppf(1 - alpha, spread.df)) * spread.sd * math.sqrt(1 / j + 1 / k)


def clearly_worse(values: Sequence[float], incumbent: Sequence[float], spread: Spread | None,
                  maximize: bool = True, alpha: float = RACE_ALPHA) -> bool:
    """Whether a configuration with these seed values can no longer be the best: its mean is
    worse than the incumbent's by more than :func:`margin`."""
    if spread is None or not values or not incumbent:
        return False
    worse = float(np.mean(incumbent) - np.mean(values))
    if not maximize:
        worse = -worse
    return worse > margin(len(values), len(incumbent), spread, alpha)
