"""How much of a system's seed-to-seed spread each source of randomness explains.

A system trained over a crossed design (``train -P vary=cross``: every pair of ``a`` init seeds and
``b`` data seeds once) gives an ``a x b`` table of scores ``y[i, j]``. The model is the two-way
crossed random-effects model with one observation per cell,

    y[i, j] = mu + I[i] + D[j] + e[i, j],   I ~ (0, var_init), D ~ (0, var_data), e ~ (0, var_residual),

where the residual holds the init x data interaction and any other noise (with one run per cell the
two cannot be told apart). The components are estimated by the method of moments from the ANOVA
mean squares, whose expectations are ``E[MS_init] = var_residual + b var_init``, ``E[MS_data] =
var_residual + a var_data`` and ``E[MS_residual] = var_residual``::

    var_init = max(0, (MS_init - MS_residual) / b)
    var_data = max(0, (MS_data - MS_residual) / a)
    var_residual = MS_residual

(unbiased before the truncation of a negative estimate at 0, which biases a small component up).
Pure NumPy; the runs come in as ``(init seed, data seed) -> score``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from .stats import SPREAD_RTOL

#: the components, in the order of the report
PARTS = ("init", "data", "residual")


@dataclass(frozen=True)
class VarianceSplit:
    """The variance components of one system's scores on ``metric`` over a crossed design of
    ``n_init`` init seeds x ``n_data`` data seeds (metric units squared)."""

    metric: str
    n_init: int
    n_data: int
    init: float
    data: float
    residual: float
    #: the ANOVA mean squares the components come from: init, data, residual
    mean_squares: tuple[float, float, float]

    @property
    def total(self) -> float:
        return self.init + self.data + self.residual

    def share(self, part: str) -> float:
        """The share of the (truncated) total that ``part`` (one of :data:`PARTS`) explains; nan
        when the scores have no spread."""
        total = self.total
        return getattr(self, part) / total if total > 0 else math.nan

    def to_dict(self) -> dict:
        return {**asdict(self), "mean_squares": list(self.mean_squares)}

    @classmethod
    def from_dict(cls, d: dict) -> VarianceSplit:
        nan = math.nan
        squares = d.get("mean_squares") or (nan, nan, nan)
        return cls(d.get("metric", ""), d.get("n_init", 0), d.get("n_data", 0), d.get("init", nan),
                   d.get("data", nan), d.get("residual", nan), (squares[0], squares[1], squares[2]))


def mean_squares(y: np.ndarray) -> tuple[float, float, float]:
    """The two-way ANOVA mean squares (rows, columns, residual) of a table with one value per cell."""
    y = np.asarray(y, float)
    a, b = y.shape
    grand = y.mean()
    rows, cols = y.mean(axis=1, keepdims=True), y.mean(axis=0, keepdims=True)
    ms_rows = b * float(((rows - grand) ** 2).sum()) / (a - 1)
    ms_cols = a * float(((cols - grand) ** 2).sum()) / (b - 1)
    ms_residual = float(((y - rows - cols + grand) ** 2).sum()) / ((a - 1) * (b - 1))
    return ms_rows, ms_cols, ms_residual


def components(y: np.ndarray, metric: str = "") -> VarianceSplit:
    """The method-of-moments components of a table ``y[init, data]`` (at least 2 x 2); a table
    whose values are equal up to float noise has every component 0."""
    y = np.asarray(y, float)
    a, b = y.shape
    if a < 2 or b < 2:
        raise ValueError(f"a crossed design needs at least 2 init seeds x 2 data seeds, not {a} x {b}")
    if float(np.ptp(y)) <= SPREAD_RTOL * max(float(np.max(np.abs(y))), 1e-300):
        return VarianceSplit(metric, a, b, 0.0, 0.0, 0.0, (0.0, 0.0, 0.0))
    ms_init, ms_data, ms_residual = mean_squares(y)
    return VarianceSplit(metric, a, b, max(0.0, (ms_init - ms_residual) / b), max(0.0, (ms_data - ms_residual) / a),
                         ms_residual, (ms_init, ms_data, ms_residual))


def _seed_order(seed: str):
    return (0, int(seed), "") if seed.lstrip("-").isdigit() else (1, 0, seed)


def crossed_table(scores: dict[tuple[str, str], list[float]]) -> tuple[list[str], list[str], np.ndarray] | None:
    """The crossing inside ``scores`` ((init seed, data seed) -> the scores of its runs): the init
    seeds that occur with at least two data seeds and the data seeds that occur with at least two
    init seeds (pruned until both hold), when every pair of them has exactly one run. Returns
    (init seeds, data seeds, table) or None when there is no such crossing of at least 2 x 2."""
    cells = set(scores)
    while True:
        per_init = Counter(i for i, _ in cells)
        per_data = Counter(d for _, d in cells)
        kept = {(i, d) for i, d in cells if per_init[i] >= 2 and per_data[d] >= 2}
        if kept == cells:
            break
        cells = kept
    inits = sorted({i for i, _ in cells}, key=_seed_order)
    datas = sorted({d for _, d in cells}, key=_seed_order)
    if len(inits) < 2 or len(datas) < 2 or len(cells) != len(inits) * len(datas):
        return None
    if any(len(scores[c]) != 1 for c in cells):
        return None  # two runs of one pair of seeds (on other data): not one observation per cell
    return inits, datas, np.array([[scores[(i, d)][0] for d in datas] for i in inits], float)


def variance_split(scores: dict[tuple[str, str], list[float]], metric: str) -> VarianceSplit | None:
    """The components of the crossing in ``scores`` (:func:`crossed_table`), or None when there is none."""
    table = crossed_table(scores)
    return None if table is None else components(table[2], metric)
