"""The two-level bootstrap: the difference of two systems' mean test score, resampled over
training seeds and over test comments at once.

A verdict over seeds alone holds for one test set: the test comments are a sample too, and at
FRENK's sizes one run's test-set standard error is about twice the seed spread. Here each
resample draws the test comments with replacement (the same draw for both systems: the
comments are paired by id) and, within each system, its runs with replacement (jointly, run by
run, when the seeds are declared paired), recomputes the metric of every drawn run on the drawn
comments (macro-F1 is not a mean over comments) and averages it per system.

The draw of comments is a vector of multinomial counts, so one matrix product gives every
run's confusion counts for a whole batch of resamples.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: the metrics the bootstrap recomputes from predictions
METRICS = ("macro_f1", "accuracy")
#: resamples per pair; the tails of a Bonferroni-corrected interval need several thousand
N_RESAMPLES = 4000
#: resamples drawn per matrix product (bounds the memory: chunk x comments floats)
CHUNK = 250


@dataclass(frozen=True)
class TwoLevelResult:
    """The mean difference A - B over seeds and test comments with its percentile interval at
    ``confidence`` and the share of resamples in which A is ahead (ties count half)."""

    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    p_a_ahead: float
    n_comments: int
    n_a: int
    n_b: int
    n_resamples: int
    #: the standard deviation of the resampled differences (the two-level standard error)
    se: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> TwoLevelResult | None:
        if not d or "ci_low" not in d:
            return None
        nan = float("nan")
        return cls(d.get("difference", nan), d["ci_low"], d.get("ci_high", nan), d.get("confidence", nan),
                   d.get("p_a_ahead", nan), d.get("n_comments", 0), d.get("n_a", 0), d.get("n_b", 0),
                   d.get("n_resamples", 0), d.get("se", nan))


def scores(labels: np.ndarray, preds: np.ndarray, weights: np.ndarray, metric: str, k: int) -> np.ndarray:
    """Each run's ``metric`` (rows of ``preds``: runs; columns: comments, class codes 0..k-1)
    with each comment counted ``weights[b, i]`` times, for every row b of ``weights``: an
    array (resamples, runs). Macro-F1 averages the classes present in the counted labels or
    predictions of that run (scikit-learn's default); a class with no support scores 0."""
    codes = labels[None, :] * k + preds  # (runs, comments)
    runs = preds.shape[0]
    onehot = np.zeros((labels.shape[0], runs * k * k))
    for r in range(runs):
        onehot[np.arange(labels.shape[0]), r * k * k + codes[r]] = 1.0
    counts = (weights @ onehot).reshape(weights.shape[0], runs, k, k)  # [b, run, true, pred]
    tp = np.diagonal(counts, axis1=2, axis2=3)
    total = counts.sum(axis=(2, 3))
    if metric == "accuracy":
        return tp.sum(axis=2) / total
    true, pred = counts.sum(axis=3), counts.sum(axis=2)
    denom = true + pred  # 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)
    present = denom > 0
    return np.where(present, f1, 0).sum(axis=2) / np.maximum(present.sum(axis=2), 1)


def widening(n: int, confidence: float) -> float:
    """How much the runs' deviations from their mean are widened before runs are drawn:
    sqrt(n / (n - 1)) (drawing n runs with replacement spreads their mean by (n - 1) / n of the
    seed variance over n) times t(1 - tail, n - 1) / z(1 - tail) at the interval's tail (the seed
    variance is estimated from n runs, not known: the t interval's width; 2.8 at 3 seeds and a
    97.5% interval, 1.6 at 5, 1.2 at 10). Without it the interval's tails are too thin where the
    seeds' noise dominates (twice the nominal rate at 3 seeds; bench/twolevel_error_rates.py)."""
    if n < 2:
        return 1.0
    tail = (1 - confidence) / 2
    return math.sqrt(n / (n - 1)) * float(stats.t.ppf(1 - tail, n - 1) / stats.norm.ppf(1 - tail))


def seed_means(per_run: np.ndarray, draws: np.ndarray, confidence: float) -> np.ndarray:
    """The mean over the drawn runs (``draws``: resamples x runs, indices) of each resample, the
    runs' deviations from their resample's mean widened by :func:`widening` first."""
    n = per_run.shape[1]
    if n > 1:
        centre = per_run.mean(axis=1, keepdims=True)
        per_run = centre + (per_run - centre) * widening(n, confidence)
    return np.take_along_axis(per_run, draws, axis=1).mean(axis=1)


def two_level(labels, preds_a, preds_b, metric: str, confidence: float = 0.95, n_resamples: int = N_RESAMPLES,
              seed: int = 0, paired_seeds: bool = False) -> TwoLevelResult:
    """The two-level bootstrap of mean ``metric`` of A minus that of B (see the module).

    ``labels``: the test comments' class codes; ``preds_a``/``preds_b``: one row of predicted
    codes per run, columns aligned with ``labels``. ``paired_seeds``: the rows are pairs (same
    seed), drawn together."""
    labels = np.asarray(labels, dtype=int)
    pa, pb = np.atleast_2d(np.asarray(preds_a, dtype=int)), np.atleast_2d(np.asarray(preds_b, dtype=int))
    if metric not in METRICS:
        raise ValueError(f"the two-level bootstrap recomputes {METRICS}, not {metric!r}")
    if paired_seeds and pa.shape[0] != pb.shape[0]:
        raise ValueError("paired seeds need as many runs of each system")
    m, k = len(labels), int(max(labels.max(), pa.max(), pb.max())) + 1
    rng = np.random.default_rng(seed)
    full = np.ones((1, m))
    observed = float(scores(labels, pa, full, metric, k).mean() - scores(labels, pb, full, metric, k).mean())
    diffs = []
    for start in range(0, n_resamples, CHUNK):
        size = min(CHUNK, n_resamples - start)
        weights = rng.multinomial(m, np.full(m, 1 / m), size=size).astype(float)
        sa, sb = scores(labels, pa, weights, metric, k), scores(labels, pb, weights, metric, k)
        draw_a = rng.integers(0, pa.shape[0], size=(size, pa.shape[0]))
        draw_b = draw_a if paired_seeds else rng.integers(0, pb.shape[0], size=(size, pb.shape[0]))
        diffs.append(seed_means(sa, draw_a, confidence) - seed_means(sb, draw_b, confidence))
    d = np.concatenate(diffs)
    tail = (1 - confidence) / 2
    low, high = np.quantile(d, [tail, 1 - tail])
    ahead = float(np.mean(d > 0) + 0.5 * np.mean(d == 0))
    return TwoLevelResult(observed, float(low), float(high), confidence, ahead, m, pa.shape[0], pb.shape[0],
                          n_resamples, float(np.std(d, ddof=1)))


def call(low: float, high: float, margin: float) -> str:
    """The verdict an interval of A - B gives with the practical ``margin`` (metric units):
    "a" (A better: the interval lies above the margin), "b" (below minus the margin),
    "equivalent" (inside plus or minus the margin; never with a zero margin) or "undecided"."""
    if low > margin:
        return "a"
    if high < -margin:
        return "b"
    if margin > 0 and -margin < low and high < margin:
        return "equivalent"
    return "undecided"


def look_alpha(alpha: float, look: int) -> float:
    """The alpha that look ``look`` (1, 2, ...) at one test set spends: alpha / 2**look. The
    looks' alphas sum to less than ``alpha`` however many there are, so the chance of any false
    "better" over all looks at one test set stays below ``alpha`` (a Bonferroni bound)."""
    if look < 1:
        raise ValueError(f"look {look}: looks count from 1")
    return alpha / 2 ** look


def aligned(frames_a: list, frames_b: list) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Labels and the runs' predictions (rows) over the test comments every run of both systems
    predicted, by id; None when there are none or the runs disagree on a comment's label."""
    frames = frames_a + frames_b
    ids = set(frames[0]["id"])
    for f in frames[1:]:
        ids &= set(f["id"])
    if not ids:
        return None
    order = sorted(ids, key=str)
    indexed = [f.drop_duplicates("id").set_index("id").loc[order] for f in frames]
    labels = indexed[0]["label"].to_numpy()
    if any(not np.array_equal(f["label"].to_numpy(), labels) for f in indexed[1:]):
        return None
    preds = [f["pred"].to_numpy() for f in indexed]
    return (labels.astype(int), np.array(preds[:len(frames_a)], dtype=int),
            np.array(preds[len(frames_a):], dtype=int))


def comment_interval(labels, preds, metric: str, confidence: float = 0.95, n_resamples: int = N_RESAMPLES,
                     seed: int = 0) -> tuple[float, float]:
    """The percentile interval of one run's ``metric`` over test comments drawn with replacement."""
    labels, preds = np.asarray(labels, dtype=int), np.atleast_2d(np.asarray(preds, dtype=int))
    k, m = int(max(labels.max(), preds.max())) + 1, len(labels)
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, n_resamples, CHUNK):
        weights = rng.multinomial(m, np.full(m, 1 / m), size=min(CHUNK, n_resamples - start)).astype(float)
        values.append(scores(labels, preds, weights, metric, k)[:, 0])
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.concatenate(values), [tail, 1 - tail])
    return float(low), float(high)
