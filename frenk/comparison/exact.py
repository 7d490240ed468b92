"""Exact null distributions the classical tests approximate at small n: the Friedman statistic
under every within-block permutation of the ranks (seeds are the blocks)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
from scipy import stats

#: the exact Friedman distribution is computed while it has at most this many rank-sum vectors,
#: and while the convolution takes at most MAX_WORK steps in all (a few seconds); beyond, chi-square
MAX_STATES, MAX_WORK = 200_000, 1_000_000


def friedman_exact_p(matrix: np.ndarray) -> float | None:
    """The exact permutation p of Friedman's test for a blocks x systems ``matrix``: the share of
    the (k!)^n within-block permutations of the (mid)ranks whose statistic is at least the
    observed one (sum of squared rank sums; the chi-square statistic is an increasing function of
    it, tie correction included, since the ranks of each block are only permuted). Computed by
    convolving the blocks' rank-sum distributions; None when that grows past :data:`MAX_STATES` or
    :data:`MAX_WORK`."""
    ranks = 2 * stats.rankdata(np.asarray(matrix, float), axis=1)  # doubled: midranks become integers
    ranks = np.rint(ranks).astype(int)
    k = ranks.shape[1]
    dist: dict[tuple[int, ...], float] = {(0,) * k: 1.0}
    work = 0
    for block in ranks:
        perms = list(itertools.permutations(block.tolist()))
        work += len(dist) * len(perms)
        if work > MAX_WORK:
            return None
        step: dict[tuple[int, ...], float] = defaultdict(float)
        for sums, p in dist.items():
            for perm in perms:
                step[tuple(s + r for s, r in zip(sums, perm, strict=True))] += p / len(perms)
        if len(step) > MAX_STATES:
            return None
        dist = step
    observed = int(np.sum(ranks.sum(axis=0) ** 2))
    return float(min(1.0, sum(p for sums, p in dist.items() if sum(s * s for s in sums) >= observed)))
