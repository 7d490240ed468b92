"""Which system is better: the design of a comparison, the tests it calls for, and the report.

Pure code: run records (as read from MLflow by :mod:`frenk.tracking`) in, a report dict out.
The statistics themselves are in :mod:`.stats`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..errors import FrenkError
from . import stats


@dataclass
class RunRecord:
    """One finished per-seed train run, as a sample of its system's score distribution."""

    run_id: str
    system: str
    seed: str | None
    data_digest: str | None
    metrics: dict[str, float]
    status: str = "FINISHED"
    is_parent: bool = False
    #: the status of the run's parent (a training with repeats), None when it has no parent
    parent_status: str | None = None


@dataclass
class Skipped:
    run_id: str
    system: str
    reason: str


@dataclass
class CompareOptions:
    metrics: tuple[str, ...] = ("macro_f1", "accuracy")
    baseline: str | None = None
    alpha: float = 0.05
    allow_mixed_data: bool = False
    bootstrap_resamples: int = 2000
    seed: int = 0


def metric_key(metrics: dict[str, float], name: str) -> str | None:
    """A run's key for ``name``: ``test_<name>`` (what train logs) or ``name`` itself."""
    for key in (f"test_{name}", name):
        if key in metrics:
            return key
    return None


def select_samples(records: list[RunRecord], metrics: tuple[str, ...]) -> tuple[dict[str, list[RunRecord]], list[Skipped]]:
    """Group usable runs by system; list the others with the reason they are left out."""
    samples: dict[str, list[RunRecord]] = {}
    skipped: list[Skipped] = []
    for r in records:
        if r.is_parent:
            skipped.append(Skipped(r.run_id, r.system, "parent run of repeats (its child runs are the samples)"))
        elif r.status != "FINISHED":
            skipped.append(Skipped(r.run_id, r.system, f"status {r.status}"))
        elif r.parent_status not in (None, "FINISHED"):
            skipped.append(Skipped(r.run_id, r.system, f"its parent run did not finish (status {r.parent_status})"))
        elif missing := [m for m in metrics if metric_key(r.metrics, m) is None]:
            skipped.append(Skipped(r.run_id, r.system, f"no metric {', '.join(missing)}"))
        else:
            samples.setdefault(r.system, []).append(r)
    return samples, skipped


def _pairs(a: list[RunRecord], b: list[RunRecord]) -> list[tuple[RunRecord, RunRecord]]:
    """Runs of two systems that share seed and data digest (same data, same seed)."""
    index = {(r.seed, r.data_digest): r for r in b if r.seed is not None}
    return [(r, index[(r.seed, r.data_digest)]) for r in a if (r.seed, r.data_digest) in index]


def _min_n_for(test: str, alpha: float) -> int:
    n = 2
    while stats.smallest_p(test, n, n) >= alpha:
        n += 1
    return n


def fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _scores(runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str) -> tuple[bool, np.ndarray, np.ndarray]:
    """(paired, scores of a, scores of b): paired by seed and data digest when every run of the
    smaller system has a partner (and at least two pairs exist), else all runs independently."""
    pairs = _pairs(runs_a, runs_b)
    paired = len(pairs) >= 2 and len(pairs) == min(len(runs_a), len(runs_b))
    if paired:
        runs_a, runs_b = [p[0] for p in pairs], [p[1] for p in pairs]
    xa = np.array([r.metrics[metric_key(r.metrics, metric)] for r in runs_a])
    xb = np.array([r.metrics[metric_key(r.metrics, metric)] for r in runs_b])
    return paired, xa, xb


def _paired_tests(result: dict, xa: np.ndarray, xb: np.ndarray, alpha: float) -> tuple[str, str]:
    diffs = xa - xb
    normality = stats.shapiro(diffs)
    result["normality"] = {"of": "paired differences", **(normality.as_dict() if normality else {"note": "n < 3: not testable"})}
    result["tests"]["paired_t"] = stats.paired_t(xa, xb).as_dict()
    result["tests"]["wilcoxon"] = stats.wilcoxon(xa, xb).as_dict()
    result["tests"]["permutation"] = stats.sign_flip_permutation(xa, xb, paired=True).as_dict()
    normal = normality is not None and normality.p_value > alpha and np.ptp(diffs) > 0
    if normal:
        return "paired_t", (f"paired runs; Shapiro-Wilk on the differences p={fmt(normality.p_value)} > {alpha}: "
                            "normal, so the paired t-test")
    return "wilcoxon", ("paired runs; the differences are not shown to be normal"
                        + (f" (Shapiro-Wilk p={fmt(normality.p_value)})" if normality else " (n < 3, normality not testable)")
                        + ", so the Wilcoxon signed-rank test")


def _independent_tests(result: dict, a: str, b: str, xa: np.ndarray, xb: np.ndarray, alpha: float) -> tuple[str, str]:
    norm_a, norm_b = stats.shapiro(xa), stats.shapiro(xb)
    result["normality"] = {
        "of": "each sample",
        a: norm_a.as_dict() if norm_a else {"note": "n < 3: not testable"},
        b: norm_b.as_dict() if norm_b else {"note": "n < 3: not testable"},
    }
    result["tests"]["welch_t"] = stats.welch_t(xa, xb).as_dict()
    result["tests"]["mann_whitney"] = stats.mann_whitney(xa, xb).as_dict()
    result["tests"]["permutation"] = stats.sign_flip_permutation(xa, xb, paired=False).as_dict()
    if all(n is not None and n.p_value > alpha for n in (norm_a, norm_b)):
        return "welch_t", "independent runs; both samples pass Shapiro-Wilk, so Welch's t-test"
    return "mann_whitney", "independent runs; normality not shown for both samples, so the Mann-Whitney U test"


def _power(effect: float, paired: bool, alpha: float) -> dict:
    needed = stats.seeds_needed(effect, paired, alpha)
    return {
        "seeds_needed": needed,
        "note": (
            f"{fmt(needed)} seeds per system would detect the observed difference with power 0.8 at alpha {alpha} (t-test)"
            if needed is not None
            else "no difference observed: no number of seeds is implied"
        ),
    }


def compare_pair(a: str, b: str, runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str, alpha: float) -> dict:
    """All tests of one metric for one pair of systems, and the recommended one."""
    paired, xa, xb = _scores(runs_a, runs_b, metric)
    result: dict = {
        "metric": metric, "a": a, "b": b, "design": "paired" if paired else "independent",
        "pairing": "same frenk.seed and frenk.data_digest" if paired else "runs do not share seeds and data digests",
        "n_a": len(xa), "n_b": len(xb), "mean_difference": float(xa.mean() - xb.mean()), "tests": {}, "warnings": [],
    }
    chosen, why = _paired_tests(result, xa, xb, alpha) if paired else _independent_tests(result, a, b, xa, xb, alpha)
    effect = stats.cohens_d(xa, xb, paired=paired)
    test = result["tests"][chosen]
    smallest = stats.smallest_p(test["name"], len(xa), len(xb))
    if smallest >= alpha:
        result["warnings"].append(
            f"{test['name']} with {len(xa)} vs {len(xb)} runs can never give p < {alpha} (its smallest p is "
            f"{fmt(smallest)}); at least {_min_n_for(test['name'], alpha)} seeds per system are needed"
        )
    result["effect"] = {
        "cohens_d": effect,
        "cohens_d_kind": "d_z (paired differences)" if paired else "pooled-sd d",
        "cliffs_delta": stats.cliffs_delta(xa, xb),
        "aso_eps_min": stats.aso(xa, xb),
        "aso_eps_min_reverse": stats.aso(xb, xa),
    }
    result["recommended"] = {"test": chosen, "name": test["name"], "p_value": test["p_value"], "reason": why,
                             "smallest_possible_p": smallest}
    result["power"] = _power(effect, paired, alpha)
    result["scores"] = {a: xa.tolist(), b: xb.tolist()}
    return result


def _verdict(c: dict, alpha: float, holm_applied: bool) -> None:
    rec = c["recommended"]
    p = rec.get("p_holm", rec["p_value"])
    significant = bool(p < alpha)
    better = None
    if significant:
        better = c["a"] if c["mean_difference"] > 0 else c["b"]
    worse = c["b"] if better == c["a"] else c["a"]
    eff = c["effect"]
    detail = (
        f"{rec['name']}, p={fmt(rec['p_value'])}"
        + (f", Holm-adjusted p={fmt(rec['p_holm'])}" if holm_applied else "")
        + f", Cohen's {'d_z' if c['design'] == 'paired' else 'd'}={fmt(eff['cohens_d'], 3)}, Cliff's delta={fmt(eff['cliffs_delta'], 3)}"
    )
    if significant:
        text = f"{better} is better than {worse} on {c['metric']} ({detail})"
    else:
        text = f"no significant difference between {c['a']} and {c['b']} on {c['metric']} ({detail}); {c['power']['note']}"
    aso_eps = eff["aso_eps_min"] if c["mean_difference"] >= 0 else eff["aso_eps_min_reverse"]
    leader = c["a"] if c["mean_difference"] >= 0 else c["b"]
    other = c["b"] if leader == c["a"] else c["a"]
    text += (
        f". ASO: eps_min({leader} over {other}) = {aso_eps:.3f}, "
        + ("almost stochastically dominant (< 0.2)" if aso_eps < stats.ASO_THRESHOLD else "not dominant (>= 0.2)")
    )
    rec.update({"significant": significant, "better": better, "verdict": text})


def _fold_view(runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str) -> dict | None:
    """Per-fold test metrics (averaged over each system's runs), paired by fold."""
    def fold_means(runs):
        keys = sorted({k for r in runs for k in r.metrics if k.startswith("test_fold.") and k.endswith(f".{metric}")})
        return {k: float(np.mean([r.metrics[k] for r in runs if k in r.metrics])) for k in keys}

    fa, fb = fold_means(runs_a), fold_means(runs_b)
    folds = sorted(set(fa) & set(fb))
    if len(folds) < 2:
        return None
    xa, xb = np.array([fa[k] for k in folds]), np.array([fb[k] for k in folds])
    return {
        "n_folds": len(folds),
        "mean_difference": float((xa - xb).mean()),
        "paired_t": stats.paired_t(xa, xb).as_dict(),
        "wilcoxon": stats.wilcoxon(xa, xb).as_dict(),
    }


def _example_view(a: str, b: str, preds: dict[str, pd.DataFrame], best: dict[str, str], opts: CompareOptions) -> dict | None:
    """McNemar's exact test and a paired bootstrap of the macro-F1 difference on the test
    examples, for the best run (by validation macro-F1) of each system."""
    from sklearn.metrics import f1_score

    if a not in preds or b not in preds:
        return None
    merged = preds[a][["id", "label", "pred"]].merge(preds[b][["id", "label", "pred"]], on="id", suffixes=("_a", "_b"))
    if merged.empty or not (merged["label_a"] == merged["label_b"]).all():
        return {"note": "the best runs' predictions do not cover the same labelled examples"}
    labels = merged["label_a"].to_numpy()
    macro = lambda y, p: f1_score(y, p, average="macro", zero_division=0)  # noqa: E731
    boot = stats.paired_bootstrap(labels, merged["pred_a"].to_numpy(), merged["pred_b"].to_numpy(), macro,
                                  n_resamples=opts.bootstrap_resamples, seed=opts.seed)
    return {
        "runs": {a: best[a], b: best[b]},
        "n_examples": len(merged),
        "mcnemar": stats.mcnemar_exact(merged["pred_a"] == labels, merged["pred_b"] == labels).as_dict(),
        "bootstrap_macro_f1": asdict(boot),
    }


def check_comparable(records: list[RunRecord], opts: CompareOptions) -> tuple[dict[str, list[RunRecord]], list[Skipped], set]:
    """The usable runs by system, the skipped runs and the data digests; raise
    :class:`FrenkError` when no sound comparison can be made (no runs, one system, a system
    with fewer than 2 runs, or runs on different data unless allowed)."""
    if not records:
        raise FrenkError("no runs match: check group/filter and the experiment (train runs carry tags.frenk.group)")
    samples, skipped = select_samples(records, opts.metrics)
    if len(samples) < 2:
        found = ", ".join(f"{s} ({len(r)} usable runs)" for s, r in samples.items()) or "none"
        raise FrenkError(f"need at least two systems to compare, found {found}; skipped: {len(skipped)} runs")
    few = {s: len(r) for s, r in samples.items() if len(r) < 2}
    if few:
        raise FrenkError(
            f"each system needs at least 2 runs (seeds), but {', '.join(f'{s} has {n}' for s, n in few.items())}; "
            "train with -P repeats=5"
        )
    digests = {r.data_digest for runs in samples.values() for r in runs}
    if len(digests) > 1 and not opts.allow_mixed_data:
        by_system = {s: sorted({(r.data_digest or "?")[:12] for r in runs}) for s, runs in samples.items()}
        raise FrenkError(
            f"the runs were trained on different data (data digests {by_system}); scores on different data are not "
            "comparable. Select runs on the same data or pass allow_mixed_data=true"
        )
    return samples, skipped, digests


def _constant_score_warnings(samples: dict[str, list[RunRecord]], metric: str) -> list[str]:
    warnings = []
    for s, runs in samples.items():
        if len({r.metrics[metric_key(r.metrics, metric)] for r in runs}) == 1:
            warnings.append(
                f"{metric}: all {len(runs)} runs of {s} have the same score: its seed changes nothing "
                "(a deterministic learner), so its spread is zero and t-based numbers rest on the other system's spread"
            )
    return warnings


def _friedman(samples: dict[str, list[RunRecord]], systems: list[str], metric: str, alpha: float) -> dict | None:
    """Friedman test over the seeds that all systems share (at least 5), else None."""
    common = set.intersection(*({(r.seed, r.data_digest) for r in samples[s]} for s in systems))
    if len(common) < 5:
        return None
    keys = sorted(common, key=str)
    scores = {s: [next(r.metrics[metric_key(r.metrics, metric)] for r in samples[s] if (r.seed, r.data_digest) == k)
                  for k in keys] for s in systems}
    return {**asdict(stats.friedman(scores, alpha)), "n": len(keys)}


def _compare_metric(report: dict, samples: dict[str, list[RunRecord]], pairs, metric: str, opts: CompareOptions,
                    predictions, best_runs) -> None:
    """Descriptives, pairwise comparisons (Holm-corrected when several) and Friedman for one metric."""
    systems = report["systems"]
    report["warnings"].extend(_constant_score_warnings({s: samples[s] for s in systems}, metric))
    report["descriptives"][metric] = {
        s: {**asdict(stats.describe([r.metrics[metric_key(r.metrics, metric)] for r in samples[s]])),
            "values": [r.metrics[metric_key(r.metrics, metric)] for r in samples[s]]}
        for s in systems
    }
    comps = [compare_pair(a, b, samples[a], samples[b], metric, opts.alpha) for a, b in pairs]
    holm_applied = len(comps) > 1
    if holm_applied:
        for c, p in zip(comps, stats.holm([c["recommended"]["p_value"] for c in comps])):
            c["recommended"]["p_holm"] = p
    for c in comps:
        _verdict(c, opts.alpha, holm_applied)
        c["fold_view"] = _fold_view(samples[c["a"]], samples[c["b"]], metric)
        if metric == "macro_f1" and predictions:
            c["example_view"] = _example_view(c["a"], c["b"], predictions, best_runs or {}, opts)
        report["warnings"].extend(c["warnings"])
    report["comparisons"].extend(comps)
    if len(systems) >= 3:
        friedman = _friedman(samples, systems, metric, opts.alpha)
        if friedman is not None:
            report["friedman"][metric] = friedman
        else:
            report["warnings"].append(
                f"{metric}: no Friedman test / critical-difference diagram: it needs at least 5 seeds shared by all systems"
            )


def _summarise(report: dict, primary: str) -> None:
    """``best_system`` and the one-sentence ``summary`` on the deciding metric."""
    systems = report["systems"]
    on_primary = [c for c in report["comparisons"] if c["metric"] == primary]
    winners = [
        s for s in systems
        if all(c["recommended"]["better"] == s for c in on_primary if s in (c["a"], c["b"]))
        and any(s in (c["a"], c["b"]) for c in on_primary)
    ]
    report["best_system"] = winners[0] if winners else None
    if winners:
        report["summary"] = f"{winners[0]} is significantly better than every system it was compared with on {primary}"
        return
    leader = systems[0]
    open_pairs = [c for c in on_primary if leader in (c["a"], c["b"]) and c["recommended"]["better"] != leader]
    detail = "; ".join(
        f"vs {c['b'] if c['a'] == leader else c['a']}: {c['recommended']['name']} p={fmt(c['recommended'].get('p_holm', c['recommended']['p_value']))}, "
        f"{fmt(c['power']['seeds_needed'])} seeds per system for power 0.8"
        for c in open_pairs
    )
    report["summary"] = (
        f"no system is significantly better than every other on {primary}: {leader} has the highest mean "
        f"({fmt(report['descriptives'][primary][leader]['mean'])}), but not significantly ({detail})"
    )


def build_report(
    records: list[RunRecord],
    opts: CompareOptions,
    predictions: dict[str, pd.DataFrame] | None = None,
    best_runs: dict[str, str] | None = None,
) -> dict:
    """Compare the systems in ``records`` on each metric (see :func:`check_comparable` for the
    comparisons that cannot be made)."""
    samples, skipped, digests = check_comparable(records, opts)
    systems = sorted(samples, key=lambda s: -np.mean([r.metrics[metric_key(r.metrics, opts.metrics[0])] for r in samples[s]]))
    if opts.baseline and opts.baseline not in samples:
        raise FrenkError(f"baseline {opts.baseline!r} is not among the systems {systems}")
    if opts.baseline:
        pairs = [(s, opts.baseline) for s in systems if s != opts.baseline]
    else:
        pairs = list(itertools.combinations(systems, 2))
    report: dict = {
        "alpha": opts.alpha, "metrics": list(opts.metrics), "systems": systems, "baseline": opts.baseline,
        "runs": {s: [r.run_id for r in samples[s]] for s in systems},
        "seeds": {s: [r.seed for r in samples[s]] for s in systems},
        "data_digests": sorted(d for d in digests if d), "skipped": [asdict(s) for s in skipped],
        "descriptives": {}, "comparisons": [], "friedman": {}, "warnings": [],
    }
    for metric in opts.metrics:
        _compare_metric(report, samples, pairs, metric, opts, predictions, best_runs)
    _summarise(report, opts.metrics[0])
    return report
