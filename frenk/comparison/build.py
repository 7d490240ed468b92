"""The report of a comparison, assembled: the usable runs (:mod:`.selection`), each pair's
statistics (:mod:`.design`), Holm over the pairs, the verdicts and summary (:mod:`.verdict`)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..core.choices import PAIRINGS
from ..core.errors import FrenkError
from . import stats
from .design import compare_pair, degenerate_runs, descriptive, example_view, fold_view, friedman, two_level_view
from .interval import plan
from .model import ComparisonReport, Descriptive, Friedman, PairResult
from .selection import CompareOptions, RunRecord, check_comparable, metric_value, validation_key
from .stability import stability
from .variance_split import VarianceSplit, variance_split
from .verdict import (
    PROTOCOL,
    constant_score_warning,
    decide,
    degenerate_warning,
    no_friedman_warning,
    summarise,
    validation_choice,
)

#: ASO's confidence for one pair
ASO_CONFIDENCE = 0.95


@dataclass
class _Metrics:
    """What each metric adds to the report, collected metric by metric."""

    descriptives: dict[str, dict[str, Descriptive]] = field(default_factory=dict)
    validation: dict[str, dict[str, Descriptive]] = field(default_factory=dict)
    comparisons: list[PairResult] = field(default_factory=list)
    friedman: dict[str, Friedman] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _validation_descriptives(samples: dict[str, list[RunRecord]], systems: list[str],
                             metric: str) -> dict[str, Descriptive]:
    """Validation scores of the same runs, per system (systems whose runs all logged them)."""
    key = validation_key(metric)
    return {s: descriptive([r.metrics[key] for r in samples[s]])
            for s in systems if all(key in r.metrics for r in samples[s])}


def _holm(comps: list[PairResult]) -> list[PairResult]:
    """The pairs with Holm-adjusted primary p-values (an undefined p counts as 1)."""
    raw = [1.0 if math.isnan(c.verdict.p_value) else c.verdict.p_value for c in comps]
    return [replace(c, verdict=replace(c.verdict, p_holm=p)) for c, p in zip(comps, stats.holm(raw), strict=True)]


def _with_two_level(c: PairResult, samples: dict[str, list[RunRecord]], opts: CompareOptions, n_pairs: int,
                    run_predictions) -> PairResult:
    """The pair with its two-level bootstrap (at 1 - alpha / pairs: Bonferroni) and its plan for the next look."""
    tl, note = two_level_view(c, samples[c.a], samples[c.b], run_predictions, 1 - opts.alpha_used / n_pairs, opts)
    xa, xb = (np.asarray(c.scores[s], float) for s in (c.a, c.b))
    return replace(c, two_level=tl, level_note=note,
                   plan=plan(xa, xb, tl.se if tl else None, opts.min_difference, opts.next_alpha / n_pairs,
                             tl.confidence if tl else 0.95))


def _pair_results(samples: dict[str, list[RunRecord]], pairs, metric: str, opts: CompareOptions,
                  predictions, best_runs, run_predictions=None) -> list[PairResult]:
    """Pairwise comparisons on one metric (Holm-corrected when several), decided, with their secondary views."""
    # ASO's confidence Bonferroni-corrected over the pairs (as deepsig does for several systems)
    aso_confidence = 1 - (1 - ASO_CONFIDENCE) / max(len(pairs), 1)
    comps = [compare_pair(a, b, samples[a], samples[b], metric, opts.alpha_used, opts.pairing, aso_confidence)
             for a, b in pairs]
    comps = [_with_two_level(c, samples, opts, len(comps), run_predictions) for c in comps]
    holm_applied = len(comps) > 1
    if holm_applied:
        comps = _holm(comps)
    tried = metric == "macro_f1" and bool(predictions)
    return [replace(decide(c, opts.alpha_used, holm_applied, opts.min_difference),
                    fold_view=fold_view(samples[c.a], samples[c.b], metric),
                    example_view=example_view(c.a, c.b, predictions, best_runs or {}, opts) if tried else None,
                    example_view_tried=tried)
            for c in comps]


def _without_degenerate(comps: list[PairResult], samples: dict[str, list[RunRecord]], pairs, metric: str,
                        opts: CompareOptions, degenerate: dict[str, list[str]], run_predictions) -> list[PairResult]:
    """Each pair with the verdict it would have without the degenerate runs (a sentence), where it has some."""
    flagged = {i for ids in degenerate.values() for i in ids}
    kept = {s: [r for r in runs if r.run_id not in flagged] for s, runs in samples.items()}
    if not flagged or any(len(runs) < 2 for runs in kept.values()):
        note = ("without the degenerate runs a system would have fewer than 2 runs: no verdict without them"
                if flagged else None)
        return [replace(c, without_degenerate=note) if {c.a, c.b} & set(degenerate) else c for c in comps]
    again = {(c.a, c.b): c for c in _pair_results(kept, pairs, metric, opts, None, None, run_predictions)}
    return [replace(c, without_degenerate=f"without the degenerate runs: {again[(c.a, c.b)].verdict.text}")
            if {c.a, c.b} & set(degenerate) else c for c in comps]


def _compare_metric(out: _Metrics, samples: dict[str, list[RunRecord]], systems: list[str], pairs, metric: str,
                    opts: CompareOptions, predictions, best_runs, run_predictions, degenerate) -> None:
    """Descriptives, pairwise comparisons and Friedman for one metric."""
    out.warnings.extend(constant_score_warning(metric, s, len(samples[s])) for s in systems
                        if len({metric_value(r.metrics, metric) for r in samples[s]}) == 1)
    out.descriptives[metric] = {s: descriptive([metric_value(r.metrics, metric) for r in samples[s]]) for s in systems}
    out.validation[metric] = _validation_descriptives(samples, systems, metric)
    comps = _pair_results(samples, pairs, metric, opts, predictions, best_runs, run_predictions)
    if metric == opts.metrics[0] and degenerate:
        comps = _without_degenerate(comps, samples, pairs, metric, opts, degenerate, run_predictions)
    for c in comps:
        out.warnings.extend(c.warnings)
    out.comparisons.extend(comps)
    if len(systems) >= 3:
        result = friedman(samples, systems, metric, opts.alpha_used)
        if result is not None:
            out.friedman[metric] = result
        else:
            out.warnings.append(no_friedman_warning(metric))


def _variance_splits(samples: dict[str, list[RunRecord]], systems: list[str], metric: str) -> dict[str, VarianceSplit]:
    """The systems whose runs cross init seeds with data seeds, and how much of their spread on
    ``metric`` each source explains."""
    out = {}
    for s in systems:
        scores: dict[tuple[str, str], list[float]] = {}
        for r in samples[s]:
            if r.seed_key is not None:
                scores.setdefault(r.seed_key, []).append(metric_value(r.metrics, metric))
        if (split := variance_split(scores, metric)) is not None:
            out[s] = split
    return out


def build_report(
    records: list[RunRecord],
    opts: CompareOptions,
    predictions: dict[str, pd.DataFrame] | None = None,
    best_runs: dict[str, str] | None = None,
    run_predictions: dict[str, pd.DataFrame] | None = None,
) -> ComparisonReport:
    """Compare the systems in ``records`` on each metric (see :func:`check_comparable` for the
    comparisons that cannot be made). ``run_predictions`` (by run id: the test predictions of
    every run) allow the verdict over seeds and test comments; ``predictions`` and ``best_runs``
    (by system: its best run's) the per-example view."""
    if opts.pairing not in PAIRINGS:
        raise FrenkError(f"pairing={opts.pairing!r}: must be one of {', '.join(PAIRINGS)}")
    samples, skipped, digests = check_comparable(records, opts)
    primary = opts.metrics[0]
    systems = sorted(samples, key=lambda s: -np.mean([metric_value(r.metrics, primary) for r in samples[s]]))
    if opts.baseline and opts.baseline not in samples:
        raise FrenkError(f"baseline {opts.baseline!r} is not among the systems {systems}")
    if opts.baseline:
        pairs = [(s, opts.baseline) for s in systems if s != opts.baseline]
    else:
        pairs = list(itertools.combinations(systems, 2))
    out = _Metrics()
    degenerate = degenerate_runs(samples, run_predictions)
    out.warnings.extend(degenerate_warning(s, ids) for s, ids in degenerate.items())
    for metric in opts.metrics:
        _compare_metric(out, samples, systems, pairs, metric, opts, predictions, best_runs, run_predictions,
                        degenerate)
    best, summary = summarise(systems, out.comparisons, out.descriptives[primary], primary)
    return ComparisonReport(
        alpha=opts.alpha, metrics=tuple(opts.metrics), systems=tuple(systems), baseline=opts.baseline,
        runs={s: [r.run_id for r in samples[s]] for s in systems},
        seeds={s: [r.seed for r in samples[s]] for s in systems},
        data_digests=tuple(sorted(d for d in digests if d)), skipped=tuple(skipped), protocol=PROTOCOL,
        descriptives=out.descriptives, validation=out.validation, comparisons=tuple(out.comparisons),
        friedman=out.friedman, warnings=tuple(out.warnings), best_system=best, summary=summary,
        validation_choice=validation_choice(out.validation.get(primary, {}), out.comparisons, primary),
        pairing=opts.pairing, min_difference=opts.min_difference, look=opts.look,
        alpha_used=None if opts.look is None else opts.alpha_used, degenerate=degenerate,
        variance_splits=_variance_splits(samples, systems, primary),
        stability=stability(run_frames(samples, run_predictions)),
    )


def run_frames(samples: dict[str, list[RunRecord]], run_predictions: dict[str, pd.DataFrame] | None
               ) -> dict[str, list[pd.DataFrame]]:
    """Each system's runs' test predictions (the runs that logged them)."""
    by_run = run_predictions or {}
    return {s: [by_run[r.run_id] for r in runs if r.run_id in by_run] for s, runs in samples.items()}
