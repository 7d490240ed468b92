"""What a comparison says in words: the protocol, the verdict of each pair, the summary, the
choice made on validation, and the warnings and notes. The numbers come from :mod:`.design`."""

from __future__ import annotations

import math
from dataclasses import replace

from ..core.names import Tag
from . import stats, twolevel
from .direction import oriented
from .model import Descriptive, PairResult, ValidationChoice
from .selection import RunRecord, validation_key
from .variance_split import VarianceSplit

PROTOCOL = (
    "Primary test, fixed before the data: the paired t-test when pairing=seed is declared and the runs pair by "
    "seed and data digest, Welch's t-test otherwise, over every run of each system (both robust to the mild "
    "non-normality of seed scores); Holm-corrected "
    "over the pairs when there are several. Shapiro-Wilk, Wilcoxon signed-rank, Mann-Whitney U and the "
    "permutation tests are secondary analyses: they are reported, never used to pick the test. ASO is the "
    "dominance check (from 5 runs per system, Bonferroni-corrected over the pairs). "
    "The verdict: the interval of the mean difference over seeds and test comments (a two-level bootstrap, at "
    "1 - alpha / pairs) when every run logged predictions, else the seed-level t interval together with the primary "
    "test, for this test set alone; better when it lies above min_difference, equivalent when it lies within plus or "
    "minus it, else undecided; look k at one test set decides at alpha / 2^k. "
    "Power 0.8 and alpha as stated give the minimum detectable difference of each pair"
)

#: the primary test's note where the scores have no spread
NO_SPREAD_NOTE = "undefined: the scores have no spread, so the t statistic is 0/0 or infinite"


def fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def no_spread_warning(metric: str, a: str, b: str, paired: bool, test_name: str) -> str:
    return (f"{metric}: {a} vs {b}: the {'paired differences' if paired else 'scores of both systems'} do not vary "
            f"over seeds (deterministic learners, or learners that learnt nothing), so the {test_name} cannot "
            "decide; no significant difference is claimed")


def not_paired_warning(metric: str, a: str, b: str, left_out: dict[str, list[str]]) -> str:
    """The runs that pairing=seed leaves out of the paired test (no partner of the same seed and data)."""
    named = "; ".join(f"{s}: {', '.join(ids)}" for s, ids in left_out.items())
    return (f"{metric}: {a} vs {b}: not in the paired test (pairing=seed; no run of the other system has the same "
            f"{Tag.SEED} and {Tag.DATA_DIGEST}): {named}. The means in the tables count every run")


def floor_warning(metric: str, test_name: str, primary: bool, n: tuple[int, int], zeros: int, alpha: float,
                  smallest: float, min_n: int) -> str:
    """A test that can never reach p < alpha with these runs, and the seeds it would need."""
    role = "the primary test" if primary else "a secondary test"
    return (f"{metric}: {test_name} ({role}) with {n[0]} vs {n[1]} runs"
            + (f" ({zeros} zero differences dropped)" if zeros else "")
            + f" can never give p < {alpha} (its smallest p is {fmt(smallest)}); it would need at least "
            f"{min_n} seeds per system")


def power_note(needed: float | None, interval, effect: float, n: int, alpha: float) -> str:
    if needed is None:
        return ("no difference observed: no number of seeds is implied" if effect == 0 else
                "the observed scores have no spread (infinite effect size): a number of seeds cannot be estimated")
    return (f"{fmt(needed)} seeds per system would detect the observed difference with power 0.8 at alpha {alpha} "
            f"(t-test); a post-hoc figure from {n} seeds: " + (
                f"the 95% interval of the effect size gives {fmt(interval[0])} to {fmt(interval[1])} seeds"
                if interval else "the effect size is too large (scores with almost no spread) for an interval"))


def constant_score_warning(metric: str, system: str, n: int) -> str:
    return (f"{metric}: all {n} runs of {system} have the same score: its seed changes nothing "
            "(a deterministic learner), so its spread is zero and t-based numbers rest on the other system's spread")


def degenerate_warning(system: str, run_ids: list[str]) -> str:
    """Runs stuck at the majority class, or whose loss did not fall: kept (a real outcome of the recipe), but named."""
    return (f"{system}: {len(run_ids)} degenerate run{'s' * (len(run_ids) > 1)} ({', '.join(run_ids)}): its test "
            "predictions are all one class or no more accurate than the majority class, or its training loss did "
            "not fall; kept in the sample (a real "
            "outcome of the recipe); each verdict of the deciding metric says how it reads without them")


def no_friedman_warning(metric: str) -> str:
    return f"{metric}: no Friedman test / critical-difference diagram: it needs at least 5 seeds shared by all systems"


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


#: the levels a verdict is made at
SEEDS_AND_COMMENTS = "seeds and test comments"
SEEDS = "seeds"


def _margin_text(margin: float) -> str:
    return f", above the margin {fmt(margin)}" if margin > 0 else ""


def _level_text(c: PairResult, alpha: float) -> str:
    """What the deciding interval is, at which level."""
    tl = c.two_level
    if tl is not None:
        return (f"over {SEEDS_AND_COMMENTS} ({tl.n_comments} comments): difference {fmt(tl.difference)}, "
                f"{fmt(100 * tl.confidence, 3)}% interval [{fmt(tl.ci_low)}, {fmt(tl.ci_high)}], "
                f"P({c.a} ahead) = {fmt(tl.p_a_ahead, 3)}")
    low, high = c.seed_ci or (math.nan, math.nan)
    return (f"over {SEEDS} only, so for this test set alone ({c.level_note or 'no test predictions'}): difference "
            f"{fmt(c.mean_difference)}, {fmt(100 * (1 - alpha), 3)}% interval [{fmt(low)}, {fmt(high)}]")


def _call(c: PairResult, alpha: float, margin: float) -> str:
    """"a", "b", "equivalent" or "undecided": the two-level interval when there is one, else the
    seed-level interval together with the primary test (Holm-adjusted) p < alpha."""
    if c.two_level is not None:
        return twolevel.call(c.two_level.ci_low, c.two_level.ci_high, margin)
    low, high = c.seed_ci or (math.nan, math.nan)
    outcome = twolevel.call(low, high, margin)
    return "undecided" if outcome in ("a", "b") and not c.verdict.p < alpha else outcome


def decide(c: PairResult, alpha: float, holm_applied: bool, margin: float = 0.0) -> PairResult:
    """The pair with its verdict: "better" when the deciding interval lies above the margin
    (:func:`_call`), "equivalent" when it lies within plus or minus the margin, else
    "undecided"; the better system, and the sentence that says so."""
    rec, eff = c.verdict, oriented(c)
    outcome = _call(c, alpha, margin)
    better = c.a if outcome == "a" else c.b if outcome == "b" else None
    worse = c.b if better == c.a else c.a
    detail = (
        f"{rec.name}, p={fmt(rec.p_value)}"
        + (f", Holm-adjusted p={fmt(rec.p_holm)}" if holm_applied else "")
        + f", {eff.direction}: Cohen's {'d_z' if c.paired else 'd'}={fmt(eff.cohens_d, 3)}"
        + f", Cliff's delta={fmt(eff.cliffs_delta, 3)}"
    )
    level = SEEDS_AND_COMMENTS if c.two_level is not None else SEEDS
    if better:
        text = (f"{better} is better than {worse} on {c.metric} ({detail}); {_level_text(c, alpha)}"
                + _margin_text(margin))
    elif outcome == "equivalent":
        text = (f"{c.a} and {c.b} are equivalent on {c.metric}: the interval lies within plus or minus the margin "
                f"{fmt(margin)} ({detail}); {_level_text(c, alpha)}")
    else:
        text = (f"no verdict between {c.a} and {c.b} on {c.metric} ({detail}); {_level_text(c, alpha)}: neither "
                f"better" + (f" by more than the margin {fmt(margin)}" if margin > 0 else "") + " nor equivalent; "
                + (c.plan.text if c.plan else c.power.note))
    text += ". " + aso_text(c)
    call = "better" if better else outcome
    return replace(c, verdict=replace(rec, significant=better is not None, better=better, text=text, level=level,
                                      call=call, margin=margin))


#: fewer runs than this make ASO's dominance call noise (20% of null comparisons at 3 seeds)
ASO_MIN_RUNS = 5


def aso_text(c: PairResult) -> str:
    """ASO's eps_min of the leader over the other, and whether it dominates (from 5 runs each)."""
    eff = oriented(c)
    aso_eps = eff.aso_eps_min
    text = f"ASO: eps_min({eff.direction}) = {aso_eps:.3f}, "
    if min(c.n_a, c.n_b) < ASO_MIN_RUNS:
        return text + f"no dominance call below {ASO_MIN_RUNS} runs per system"
    return text + ("almost stochastically dominant (< 0.2)" if aso_eps < stats.ASO_THRESHOLD
                   else "not dominant (>= 0.2)")


def summarise(systems: list[str], comparisons: list[PairResult], descriptives: dict[str, Descriptive],
              primary: str) -> tuple[str | None, str]:
    """``best_system`` (significantly better than every system it was compared with on the
    deciding metric, else None) and the one-sentence summary."""
    on_primary = [c for c in comparisons if c.metric == primary]
    winners = [
        s for s in systems
        if all(c.verdict.better == s for c in on_primary if s in (c.a, c.b))
        and any(s in (c.a, c.b) for c in on_primary)
    ]
    # a paired test over part of the runs, or a win over the baseline, can favour a system whose mean
    # over all runs is below another's: such a system is never named best
    lower = [o for o in systems if len(winners) == 1 and descriptives[o].mean > descriptives[winners[0]].mean]
    if lower:
        return None, (f"{winners[0]} is significantly better than every system it was compared with on {primary}, "
                      f"but {', '.join(lower)} has a higher mean: no best system is named")
    if len(winners) == 1:
        return winners[0], f"{winners[0]} is significantly better than every system it was compared with on {primary}"
    if winners:  # several beat the baseline: none is chosen by its test mean
        return None, (f"{', '.join(winners)} are each significantly better than every system they were compared "
                      f"with on {primary}, but not compared with each other: no best system is named (the "
                      "validation choice below ranks them off the test set)")
    leader = systems[0]
    open_pairs = [c for c in on_primary if leader in (c.a, c.b) and c.verdict.better != leader]
    detail = "; ".join(
        f"vs {c.other(leader)}: {c.verdict.call or 'undecided'}"
        + (f", {c.plan.seeds} seeds per system in the plan for the next look" if c.plan and c.plan.seeds else "")
        for c in open_pairs
    )
    return None, (f"no system is significantly better than every other on {primary}: {leader} has the highest mean "
                  f"({fmt(descriptives[leader].mean)}), but it is not better by the verdict rule ({detail})")


def validation_choice(by_val: dict[str, Descriptive], comparisons: list[PairResult], primary: str) -> ValidationChoice:
    """The systems ranked by mean validation score over seeds (the selection that never looks at
    the test set), and the test-set verdicts of the first."""
    metric = validation_key(primary)
    ranking = sorted(by_val, key=lambda s: -by_val[s].mean)
    if not ranking:
        return ValidationChoice(metric, (), {}, None, (), f"no system logged {metric}")
    top = ranking[0]
    verdicts = tuple(c.verdict.text for c in comparisons if c.metric == primary and top in (c.a, c.b))
    return ValidationChoice(
        metric, tuple(ranking), {s: by_val[s].mean for s in ranking}, top, verdicts,
        f"chosen on validation, not test: {top} has the highest mean {metric} over its seeds "
        f"({fmt(by_val[top].mean)}); its test-set verdicts on {primary} follow",
    )


def variance_split_text(system: str, split: VarianceSplit) -> str:
    """One system's variance split in one line."""
    where = f"{system} ({split.n_init} init seeds x {split.n_data} data seeds, {split.metric})"
    if not split.total > 0:
        return f"{where}: no spread to split (every crossed run scored the same)"
    shares = ", ".join(f"{label} {100 * split.share(part):.0f}%" for part, label in
                       (("init", "initialisation"), ("data", "data order"), ("residual", "interaction and noise")))
    return f"{where}: variance {fmt(split.total, 3)} (sd {fmt(math.sqrt(split.total), 3)}), of which {shares}"
