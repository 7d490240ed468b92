"""The design of a comparison and its statistics: how two systems' runs pair, the tests each
design calls for (the primary one fixed by the design alone), effect sizes, power, and the
secondary views (per fold, per example, Friedman over several systems). Numbers only: the words
are in :mod:`.verdict`, the statistics themselves in :mod:`.stats`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from ..core.names import Metric, Tag
from . import stats, twolevel
from .interval import seed_interval
from .model import Descriptive, Friedman, PairResult
from .parts import Effect, ExampleView, FoldView, Normality, Power, ReportedTest, Verdict
from .selection import CompareOptions, RunRecord, metric_value
from .verdict import NO_SPREAD_NOTE, class_set_note, floor_warning, no_spread_warning, not_paired_warning, power_note

#: the pre-specified primary test of each design, fixed before any data is seen
PRIMARY_TESTS = {"paired": "paired_t", "independent": "welch_t"}
PRIMARY_REASON = "{} runs: the pre-specified primary test (the others are secondary)"


def _pairs(a: list[RunRecord], b: list[RunRecord]) -> list[tuple[RunRecord, RunRecord]]:
    """Runs of two systems that share their seeds and data digest (same data, the same init seed and
    data seed; a run logged before the two were separated used its one seed for both)."""
    index: dict[tuple, RunRecord] = {(r.seed_key, r.data_digest): r for r in b if r.seed_key is not None}
    return [(r, index[(r.seed_key, r.data_digest)]) for r in a if (r.seed_key, r.data_digest) in index]


def _min_n_for(test: str, alpha: float) -> int:
    n = 2
    while stats.smallest_p(test, n, n) >= alpha:
        n += 1
    return n


def _scores(runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str,
            pairing: str) -> tuple[bool, np.ndarray, np.ndarray, dict[str, list[str]]]:
    """(paired, scores of a, scores of b, the runs left out of the paired test by system). Paired
    only when declared (``pairing="seed"``) and at least two runs share seed and data digest;
    then the runs without a partner are named, never silently dropped. Otherwise every run of
    each system, as independent samples."""
    pairs = _pairs(runs_a, runs_b) if pairing == "seed" else []
    paired = len(pairs) >= 2
    left_out: dict[str, list[str]] = {}
    if paired:
        kept = {id(r) for p in pairs for r in p}
        left_out = {runs[0].system: [r.run_id for r in runs if id(r) not in kept] for runs in (runs_a, runs_b)}
        left_out = {s: ids for s, ids in left_out.items() if ids}
        runs_a, runs_b = [p[0] for p in pairs], [p[1] for p in pairs]
    xa = np.array([metric_value(r.metrics, metric) for r in runs_a])
    xb = np.array([metric_value(r.metrics, metric) for r in runs_b])
    return paired, xa, xb, left_out


def _tests(paired: bool, a: str, b: str, xa: np.ndarray,
           xb: np.ndarray) -> tuple[Normality, dict[str, stats.TestResult]]:
    """Normality (reported, never acted on) and every test of the design, the primary first."""
    if paired:
        normality = Normality("paired differences", stats.shapiro(xa - xb))
        return normality, {"paired_t": stats.paired_t(xa, xb), "wilcoxon": stats.wilcoxon(xa, xb),
                           "permutation": stats.sign_flip_permutation(xa, xb, paired=True)}
    normality = Normality("each sample", by_system={a: stats.shapiro(xa), b: stats.shapiro(xb)})
    return normality, {"welch_t": stats.welch_t(xa, xb), "mann_whitney": stats.mann_whitney(xa, xb),
                       "permutation": stats.sign_flip_permutation(xa, xb, paired=False)}


def _with_floors(metric: str, tests: dict[str, stats.TestResult], primary: str, xa: np.ndarray, xb: np.ndarray,
                 paired: bool, alpha: float) -> tuple[dict[str, ReportedTest], list[str]]:
    """The tests with the smallest p each can give with these runs, and a plain warning for
    each that can never reach p < alpha."""
    zeros = int(np.sum(xa - xb == 0)) if paired else 0
    reported, warnings = {}, []
    for key, t in tests.items():
        smallest = stats.smallest_p(t.name, len(xa), len(xb), zeros)
        reported[key] = ReportedTest(t.name, t.statistic, t.p_value, t.note, smallest)
        if smallest >= alpha:
            warnings.append(floor_warning(metric, t.name, key == primary, (len(xa), len(xb)), zeros, alpha,
                                          smallest, _min_n_for(t.name, alpha)))
    return reported, warnings


def _power(effect: float, paired: bool, alpha: float, xa: np.ndarray, xb: np.ndarray) -> Power:
    """Seeds needed for the observed effect (with its uncertainty) and the minimum detectable
    difference of the primary t-test at this run count."""
    needed = stats.seeds_needed(effect, paired, alpha)
    interval = stats.seeds_needed_interval(effect, len(xa), len(xb), paired, alpha)
    n = len(xa)
    if paired:
        sd = float(np.std(xa - xb, ddof=1)) if n > 1 else math.nan
    else:
        dof = len(xa) + len(xb) - 2
        sd = math.sqrt(((len(xa) - 1) * xa.var(ddof=1) + (len(xb) - 1) * xb.var(ddof=1)) / dof) if dof > 0 else math.nan
    mdd = stats.min_detectable_difference(sd, len(xa), len(xb), paired, alpha)
    return Power(needed, interval, mdd, sd, power_note(needed, interval, effect, n, alpha))


def _effect(xa: np.ndarray, xb: np.ndarray, paired: bool, aso_confidence: float) -> Effect:
    d = stats.cohens_d(xa, xb, paired=paired)
    df = len(xa) - 1 if paired else len(xa) + len(xb) - 2
    return Effect(d, "d_z (paired differences)" if paired else "pooled-sd d", stats.cliffs_delta(xa, xb),
                  stats.aso(xa, xb, aso_confidence), stats.aso(xb, xa, aso_confidence), stats.hedges_g(d, df))


def _pairing_text(paired: bool, pairing: str) -> str:
    if paired:
        return (f"same {Tag.INIT_SEED} and {Tag.DATA_SEED} (else {Tag.SEED}) and {Tag.DATA_DIGEST} "
                "(pairing=seed declared)")
    if pairing == "seed":
        return "pairing=seed declared, but fewer than 2 runs share seed and data digest: independent samples"
    return "pairing=none: every run of each system, as independent samples"


def compare_pair(a: str, b: str, runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str,
                 alpha: float, pairing: str = "none", aso_confidence: float = 0.95) -> PairResult:
    """All tests of one metric for one pair of systems; the design follows from the declared
    ``pairing`` alone, the primary test from the design. Its decision (significant, better, the
    sentence) is made by :func:`.verdict.decide`, after the Holm correction over the pairs."""
    paired, xa, xb, left_out = _scores(runs_a, runs_b, metric, pairing)
    design = "paired" if paired else "independent"
    chosen = PRIMARY_TESTS[design]
    normality, tests = _tests(paired, a, b, xa, xb)
    warnings = [not_paired_warning(metric, a, b, left_out)] if left_out else []
    if stats.no_spread(xa, xb, paired):
        tests[chosen] = replace(tests[chosen], p_value=math.nan, note=NO_SPREAD_NOTE)
        warnings.append(no_spread_warning(metric, a, b, paired, tests[chosen].name))
    reported, floors = _with_floors(metric, tests, chosen, xa, xb, paired, alpha)
    test = reported[chosen]
    effect = _effect(xa, xb, paired, aso_confidence)
    return PairResult(
        metric=metric, a=a, b=b, design=design, pairing=_pairing_text(paired, pairing),
        n_a=len(xa), n_b=len(xb), mean_difference=float(xa.mean() - xb.mean()), tests=reported,
        warnings=tuple(warnings + floors), normality=normality,
        verdict=Verdict(chosen, test.name, test.p_value, PRIMARY_REASON.format(design), True,
                        test.smallest_possible_p),
        effect=effect, power=_power(effect.cohens_d, paired, alpha, xa, xb),
        scores={a: xa.tolist(), b: xb.tolist()}, class_note=class_set_note(a, b, runs_a, runs_b, metric),
        not_paired=left_out, seed_ci=seed_interval(xa, xb, paired, 1 - alpha),
    )


def two_level_view(c: PairResult, runs_a: list[RunRecord], runs_b: list[RunRecord],
                   run_predictions: dict[str, pd.DataFrame] | None, confidence: float,
                   opts: CompareOptions) -> tuple[twolevel.TwoLevelResult | None, str | None]:
    """The two-level bootstrap of the pair over the runs its design uses (the pairs, when
    paired), or None and the reason the verdict stays at the seed level."""
    if c.metric not in twolevel.METRICS:
        return None, f"{c.metric} is not recomputed from predictions: the verdict is at the seed level"
    if c.paired:
        pairs = _pairs(runs_a, runs_b)
        runs_a, runs_b = [p[0] for p in pairs], [p[1] for p in pairs]
    runs = runs_a + runs_b
    missing = [r.run_id for r in runs if r.run_id not in (run_predictions or {})]
    if missing:
        named = "no run has test predictions" if len(missing) == len(runs) else (
            f"runs without test predictions: {', '.join(missing[:5])}" + (f" and {len(missing) - 5} more"
                                                                          if len(missing) > 5 else ""))
        return None, named
    preds = run_predictions or {}
    data = twolevel.aligned([preds[r.run_id] for r in runs_a], [preds[r.run_id] for r in runs_b])
    if data is None:
        return None, "the runs' predictions do not cover the same labelled test comments"
    return twolevel.two_level(*data, c.metric, confidence, opts.two_level_resamples, opts.seed, c.paired), None


def degenerate_runs(samples: dict[str, list[RunRecord]],
                    run_predictions: dict[str, pd.DataFrame] | None) -> dict[str, list[str]]:
    """The runs, by system, whose test predictions are all one class or are no more accurate
    than always predicting the most frequent test label (a run stuck at the majority class), or
    whose training loss did not fall (``train_loss_drop`` <= 0: its last logged value no lower
    than its first; runs logged before the metric, and the TF-IDF baseline, have none)."""
    out: dict[str, list[str]] = {}
    for system, runs in samples.items():
        for r in runs:
            drop = r.metrics.get(Metric.TRAIN_LOSS_DROP)
            frame = (run_predictions or {}).get(r.run_id)
            stuck = False
            if frame is not None and not frame.empty:
                majority = float(frame["label"].value_counts(normalize=True).max())
                accuracy = float((frame["label"] == frame["pred"]).mean())
                stuck = frame["pred"].nunique() == 1 or accuracy <= majority
            if stuck or (drop is not None and drop <= 0):
                out.setdefault(system, []).append(r.run_id)
    return out


def fold_view(runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str) -> FoldView | None:
    """Per-fold test metrics (averaged over each system's runs), paired by fold."""
    def fold_means(runs):
        keys = sorted({k for r in runs for k in r.metrics if k.startswith("test_fold.") and k.endswith(f".{metric}")})
        return {k: float(np.mean([r.metrics[k] for r in runs if k in r.metrics])) for k in keys}

    fa, fb = fold_means(runs_a), fold_means(runs_b)
    folds = sorted(set(fa) & set(fb))
    if len(folds) < 2:
        return None
    xa, xb = np.array([fa[k] for k in folds]), np.array([fb[k] for k in folds])
    return FoldView(len(folds), float((xa - xb).mean()), stats.paired_t(xa, xb), stats.wilcoxon(xa, xb))


def example_view(a: str, b: str, preds: dict[str, pd.DataFrame], best: dict[str, str],
                 opts: CompareOptions) -> ExampleView | None:
    """McNemar's exact test and a paired bootstrap of the macro-F1 difference on the test
    examples, for the best run (by validation macro-F1) of each system."""
    from sklearn.metrics import f1_score

    if a not in preds or b not in preds:
        return None
    merged = preds[a][["id", "label", "pred"]].merge(preds[b][["id", "label", "pred"]], on="id", suffixes=("_a", "_b"))
    if merged.empty or not (merged["label_a"] == merged["label_b"]).all():
        return ExampleView(note="the best runs' predictions do not cover the same labelled examples")
    labels = merged["label_a"].to_numpy()
    macro = lambda y, p: f1_score(y, p, average="macro", zero_division=0)  # noqa: E731
    boot = stats.paired_bootstrap(labels, merged["pred_a"].to_numpy(), merged["pred_b"].to_numpy(), macro,
                                  n_resamples=opts.bootstrap_resamples, seed=opts.seed)
    return ExampleView(runs={a: best[a], b: best[b]}, n_examples=len(merged),
                       mcnemar=stats.mcnemar_exact(merged["pred_a"] == labels, merged["pred_b"] == labels),
                       bootstrap_macro_f1=boot)


def friedman(samples: dict[str, list[RunRecord]], systems: list[str], metric: str, alpha: float) -> Friedman | None:
    """Friedman test over the seeds that all systems share (at least 5), else None."""
    common = set.intersection(*({(r.seed_key, r.data_digest) for r in samples[s]} for s in systems))
    if len(common) < 5:
        return None
    keys = sorted(common, key=str)
    scores = {s: [next(metric_value(r.metrics, metric) for r in samples[s] if (r.seed_key, r.data_digest) == k)
                  for k in keys] for s in systems}
    return Friedman(**asdict(stats.friedman(scores, alpha)), n=len(keys))


def descriptive(values: list[float]) -> Descriptive:
    """n, mean, sd, median and the 95% CI of ``values``, and the values."""
    return Descriptive(**asdict(stats.describe(values)), values=values)
