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

from ..core.errors import FrenkError
from ..core.names import Tag, search_tag
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
    #: start time (ms since the epoch): of two runs of one system, seed and data, the newer counts
    start_time: int | None = None
    is_parent: bool = False
    #: the status of the run's parent (a training with repeats), None when it has no parent
    parent_status: str | None = None
    #: where the run is (the compare run goes to the same experiment) and what it was trained for
    experiment_id: str | None = None
    lang: str | None = None
    labels: str | None = None
    #: the artifact that holds the run's per-class, per-topic and per-fold results (None: its metrics hold them)
    results_table: str | None = None
    #: the classes its macro-F1 averages over (None: not known)
    scored_classes: tuple[str, ...] | None = None


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


def metric_value(metrics: dict[str, float], name: str) -> float:
    """A run's value of ``name`` under its :func:`metric_key`; the run must have it."""
    key = metric_key(metrics, name)
    if key is None:
        raise KeyError(name)
    return metrics[key]


def select_samples(records: list[RunRecord],
                   metrics: tuple[str, ...]) -> tuple[dict[str, list[RunRecord]], list[Skipped]]:
    """Group usable runs by system; list the others with the reason they are left out. Of
    several finished runs of one system with the same seed and data digest, only the newest
    counts (so a rerun never changes the pairing or the sample size)."""
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
    for system, runs in samples.items():
        samples[system], duplicates = newest_per_seed(runs)
        skipped.extend(duplicates)
    return samples, skipped


def newest_per_seed(runs: list[RunRecord]) -> tuple[list[RunRecord], list[Skipped]]:
    """One system's runs with one run per (seed, data digest): the newest (by start time, then
    run id); the others as skipped, naming the run that counts instead. Order is kept."""
    newest: dict[tuple, RunRecord] = {}
    for r in runs:
        key = (r.seed, r.data_digest)
        if r.seed is None:
            continue
        if key not in newest or (r.start_time or 0, r.run_id) > (newest[key].start_time or 0, newest[key].run_id):
            newest[key] = r
    kept = [r for r in runs if r.seed is None or newest[(r.seed, r.data_digest)] is r]
    skipped = [
        Skipped(r.run_id, r.system, f"duplicate: seed {r.seed} on the same data as the newer run "
                f"{newest[(r.seed, r.data_digest)].run_id}, which counts instead")
        for r in runs if r.seed is not None and newest[(r.seed, r.data_digest)] is not r
    ]
    return kept, skipped


def _pairs(a: list[RunRecord], b: list[RunRecord]) -> list[tuple[RunRecord, RunRecord]]:
    """Runs of two systems that share seed and data digest (same data, same seed)."""
    index: dict[tuple[str | None, str | None], RunRecord] = {(r.seed, r.data_digest): r for r in b
                                                             if r.seed is not None}
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
    xa = np.array([metric_value(r.metrics, metric) for r in runs_a])
    xb = np.array([metric_value(r.metrics, metric) for r in runs_b])
    return paired, xa, xb


#: the pre-specified primary test of each design, fixed before any data is seen
PRIMARY_TESTS = {"paired": "paired_t", "independent": "welch_t"}
PROTOCOL = (
    "Primary test, fixed before the data: the paired t-test when the runs pair by seed and data digest, "
    "Welch's t-test when they do not (both robust to the mild non-normality of seed scores); Holm-corrected "
    "over the pairs when there are several. Shapiro-Wilk, Wilcoxon signed-rank, Mann-Whitney U and the "
    "permutation tests are secondary analyses: they are reported, never used to pick the test. ASO is the "
    "dominance check. Power 0.8 and alpha as stated give the minimum detectable difference of each pair"
)


def _paired_tests(result: dict, xa: np.ndarray, xb: np.ndarray) -> tuple[str, str]:
    diffs = xa - xb
    normality = stats.shapiro(diffs)
    result["normality"] = {"of": "paired differences",
                           **(normality.as_dict() if normality else {"note": "n < 3: not testable"})}
    result["tests"]["paired_t"] = stats.paired_t(xa, xb).as_dict()
    result["tests"]["wilcoxon"] = stats.wilcoxon(xa, xb).as_dict()
    result["tests"]["permutation"] = stats.sign_flip_permutation(xa, xb, paired=True).as_dict()
    return "paired_t", "paired runs: the pre-specified primary test (the others are secondary)"


def _independent_tests(result: dict, a: str, b: str, xa: np.ndarray, xb: np.ndarray) -> tuple[str, str]:
    norm_a, norm_b = stats.shapiro(xa), stats.shapiro(xb)
    result["normality"] = {
        "of": "each sample",
        a: norm_a.as_dict() if norm_a else {"note": "n < 3: not testable"},
        b: norm_b.as_dict() if norm_b else {"note": "n < 3: not testable"},
    }
    result["tests"]["welch_t"] = stats.welch_t(xa, xb).as_dict()
    result["tests"]["mann_whitney"] = stats.mann_whitney(xa, xb).as_dict()
    result["tests"]["permutation"] = stats.sign_flip_permutation(xa, xb, paired=False).as_dict()
    return "welch_t", "independent runs: the pre-specified primary test (the others are secondary)"


def _floors(result: dict, xa: np.ndarray, xb: np.ndarray, alpha: float) -> None:
    """A plain warning for each reported test that can never reach p < alpha with these runs."""
    zeros = int(np.sum(xa - xb == 0)) if result["design"] == "paired" else 0
    for key, test in result["tests"].items():
        smallest = stats.smallest_p(test["name"], len(xa), len(xb), zeros)
        test["smallest_possible_p"] = smallest
        if smallest >= alpha:
            role = "the primary test" if key == result["recommended"]["test"] else "a secondary test"
            result["warnings"].append(
                f"{result['metric']}: {test['name']} ({role}) with {len(xa)} vs {len(xb)} runs"
                + (f" ({zeros} zero differences dropped)" if zeros else "")
                + f" can never give p < {alpha} (its smallest p is {fmt(smallest)}); it would need at least "
                f"{_min_n_for(test['name'], alpha)} seeds per system"
            )


def _power(effect: float, paired: bool, alpha: float, xa: np.ndarray, xb: np.ndarray) -> dict:
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
    if needed is None:
        note = ("no difference observed: no number of seeds is implied" if effect == 0 else
                "the observed scores have no spread (infinite effect size): a number of seeds cannot be estimated")
    else:
        note = (f"{fmt(needed)} seeds per system would detect the observed difference with power 0.8 at alpha {alpha} "
                f"(t-test); a post-hoc figure from {n} seeds: " + (
                    f"the 95% interval of the effect size gives {fmt(interval[0])} to {fmt(interval[1])} seeds"
                    if interval else "the effect size is too large (scores with almost no spread) for an interval"))
    return {"seeds_needed": needed, "seeds_needed_interval": list(interval) if interval else None,
            "min_detectable_difference": mdd, "sd": sd, "note": note}


def class_set_note(a: str, b: str, runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str) -> str | None:
    """A note when the runs of two systems were scored over different class sets, so that their
    macro-F1 averages count different classes (runs whose class set is not known are left out)."""
    if metric != "macro_f1":
        return None
    sets = {s: list(dict.fromkeys(r.scored_classes for r in runs if r.scored_classes is not None))
            for s, runs in ((a, runs_a), (b, runs_b))}
    distinct = set(sets[a]) | set(sets[b])
    if len(distinct) < 2:
        return None
    every = list(dict.fromkeys(c for classes in sorted(distinct, key=len, reverse=True) for c in classes))

    def described(system: str) -> str:
        return " or ".join(f"{len(classes)} classes" + (
            f" (without {', '.join(repr(c) for c in every if c not in classes)})" if len(classes) < len(every) else "")
            for classes in sets[system]) or "not known"

    return (f"{a} vs {b}: the runs were scored over different class sets ({a}: {described(a)}; {b}: {described(b)}), "
            "so their macro-F1 averages count different classes; a class that a run's test labels lack counts only "
            f"where it was predicted, and runs logged before frenk recorded {Tag.SCORED_CLASSES} count every class "
            "of their scheme")


def compare_pair(a: str, b: str, runs_a: list[RunRecord], runs_b: list[RunRecord], metric: str, alpha: float) -> dict:
    """All tests of one metric for one pair of systems; the primary one (``recommended``)
    follows from the design alone."""
    paired, xa, xb = _scores(runs_a, runs_b, metric)
    result: dict = {
        "metric": metric, "a": a, "b": b, "design": "paired" if paired else "independent",
        "pairing": f"same {Tag.SEED} and {Tag.DATA_DIGEST}" if paired else "runs do not share seeds and data digests",
        "n_a": len(xa), "n_b": len(xb), "mean_difference": float(xa.mean() - xb.mean()), "tests": {}, "warnings": [],
    }
    chosen, why = _paired_tests(result, xa, xb) if paired else _independent_tests(result, a, b, xa, xb)
    effect = stats.cohens_d(xa, xb, paired=paired)
    test = result["tests"][chosen]
    if (np.ptp(xa - xb) == 0) if paired else (np.ptp(xa) == 0 and np.ptp(xb) == 0):
        test.update(p_value=math.nan,
                    note="undefined: the scores have no spread, so the t statistic is 0/0 or infinite")
        result["warnings"].append(
            f"{metric}: {a} vs {b}: the {'paired differences' if paired else 'scores of both systems'} do not vary "
            f"over seeds (deterministic learners, or learners that learnt nothing), so the {test['name']} cannot "
            "decide; no significant difference is claimed"
        )
    result["recommended"] = {"test": chosen, "name": test["name"], "p_value": test["p_value"], "reason": why,
                             "primary": True}
    _floors(result, xa, xb, alpha)
    result["recommended"]["smallest_possible_p"] = test["smallest_possible_p"]
    result["effect"] = {
        "cohens_d": effect,
        "cohens_d_kind": "d_z (paired differences)" if paired else "pooled-sd d",
        "cliffs_delta": stats.cliffs_delta(xa, xb),
        "aso_eps_min": stats.aso(xa, xb),
        "aso_eps_min_reverse": stats.aso(xb, xa),
    }
    result["power"] = _power(effect, paired, alpha, xa, xb)
    result["scores"] = {a: xa.tolist(), b: xb.tolist()}
    result["class_note"] = class_set_note(a, b, runs_a, runs_b, metric)
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
        + f", Cohen's {'d_z' if c['design'] == 'paired' else 'd'}={fmt(eff['cohens_d'], 3)}"
        + f", Cliff's delta={fmt(eff['cliffs_delta'], 3)}"
    )
    if significant:
        text = f"{better} is better than {worse} on {c['metric']} ({detail})"
    else:
        text = (f"no significant difference between {c['a']} and {c['b']} on {c['metric']} ({detail}); "
                f"with these runs the {rec['name']} detects a true difference of "
                f"{fmt(c['power']['min_detectable_difference'], 3)} with power 0.8; {c['power']['note']}")
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


def _example_view(a: str, b: str, preds: dict[str, pd.DataFrame], best: dict[str, str],
                  opts: CompareOptions) -> dict | None:
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


def check_comparable(records: list[RunRecord],
                     opts: CompareOptions) -> tuple[dict[str, list[RunRecord]], list[Skipped], set]:
    """The usable runs by system, the skipped runs and the data digests; raise
    :class:`FrenkError` when no sound comparison can be made (no runs, one system, a system
    with fewer than 2 runs, or runs on different data unless allowed)."""
    if not records:
        raise FrenkError("no runs match: check group/filter and the experiment "
                         f"(train runs carry {search_tag(Tag.GROUP)})")
    samples, skipped = select_samples(records, opts.metrics)
    if len(samples) < 2:
        found = ", ".join(f"{s} ({len(r)} usable runs)" for s, r in samples.items()) or "none"
        raise FrenkError(f"need at least two systems to compare, found {found}; skipped: {len(skipped)} runs")
    few = {s: len(r) for s, r in samples.items() if len(r) < 2}
    if few:
        raise FrenkError(
            f"each system needs at least 2 runs (seeds), but {', '.join(f'{s} has {n}' for s, n in few.items())}; "
            "train with -P repeats=10"
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
        if len({metric_value(r.metrics, metric) for r in runs}) == 1:
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
    scores = {s: [next(metric_value(r.metrics, metric) for r in samples[s] if (r.seed, r.data_digest) == k)
                  for k in keys] for s in systems}
    return {**asdict(stats.friedman(scores, alpha)), "n": len(keys)}


def _compare_metric(report: dict, samples: dict[str, list[RunRecord]], pairs, metric: str, opts: CompareOptions,
                    predictions, best_runs) -> None:
    """Descriptives, pairwise comparisons (Holm-corrected when several) and Friedman for one metric."""
    systems = report["systems"]
    report["warnings"].extend(_constant_score_warnings({s: samples[s] for s in systems}, metric))
    report["descriptives"][metric] = {
        s: {**asdict(stats.describe([metric_value(r.metrics, metric) for r in samples[s]])),
            "values": [metric_value(r.metrics, metric) for r in samples[s]]}
        for s in systems
    }
    report["validation"][metric] = _validation_descriptives(samples, systems, metric)
    comps = [compare_pair(a, b, samples[a], samples[b], metric, opts.alpha) for a, b in pairs]
    holm_applied = len(comps) > 1
    if holm_applied:
        raw = [1.0 if math.isnan(c["recommended"]["p_value"]) else c["recommended"]["p_value"] for c in comps]
        for c, p in zip(comps, stats.holm(raw), strict=True):
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
                f"{metric}: no Friedman test / critical-difference diagram: "
                "it needs at least 5 seeds shared by all systems"
            )


def validation_key(metric: str) -> str:
    """The run metric that holds the validation score of ``metric`` (what train logs)."""
    return f"final_val_{metric}"


def _validation_descriptives(samples: dict[str, list[RunRecord]], systems: list[str], metric: str) -> dict:
    """Validation scores of the same runs, per system (systems whose runs all logged them)."""
    key = validation_key(metric)
    return {
        s: {**asdict(stats.describe([r.metrics[key] for r in samples[s]])),
            "values": [r.metrics[key] for r in samples[s]]}
        for s in systems if all(key in r.metrics for r in samples[s])
    }


def _validation_choice(report: dict, primary: str) -> None:
    """``validation_choice``: the systems ranked by mean validation score over seeds (the
    selection that never looks at the test set), and the test-set verdicts of the first."""
    by_val = report["validation"].get(primary, {})
    ranking = sorted(by_val, key=lambda s: -by_val[s]["mean"])
    if not ranking:
        report["validation_choice"] = {"metric": validation_key(primary), "ranking": [], "system": None,
                                       "test_verdicts": [], "text": f"no system logged {validation_key(primary)}"}
        return
    top = ranking[0]
    verdicts = [c["recommended"]["verdict"] for c in report["comparisons"]
                if c["metric"] == primary and top in (c["a"], c["b"])]
    report["validation_choice"] = {
        "metric": validation_key(primary), "ranking": ranking, "means": {s: by_val[s]["mean"] for s in ranking},
        "system": top, "test_verdicts": verdicts,
        "text": (f"chosen on validation, not test: {top} has the highest mean {validation_key(primary)} over its seeds "
                 f"({fmt(by_val[top]['mean'])}); its test-set verdicts on {primary} follow"),
    }


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
        f"vs {c['b'] if c['a'] == leader else c['a']}: {c['recommended']['name']} "
        f"p={fmt(c['recommended'].get('p_holm', c['recommended']['p_value']))}, "
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
    primary = opts.metrics[0]
    systems = sorted(samples, key=lambda s: -np.mean([metric_value(r.metrics, primary) for r in samples[s]]))
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
        "protocol": PROTOCOL, "descriptives": {}, "validation": {}, "comparisons": [], "friedman": {}, "warnings": [],
    }
    for metric in opts.metrics:
        _compare_metric(report, samples, pairs, metric, opts, predictions, best_runs)
    _summarise(report, opts.metrics[0])
    _validation_choice(report, opts.metrics[0])
    return report
