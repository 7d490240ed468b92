"""The promotion gate: may a system be promoted on the strength of a compare report?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..comparison import ComparisonReport, PairResult


@dataclass
class GateDecision:
    allowed: bool
    reason: str


def _plan(comps: list[PairResult]) -> str:
    """What to do before the next look: the plan of each open comparison (fixed before the next
    batch of seeds is trained, never "train until it is significant")."""
    plans = list(dict.fromkeys(c.plan.text for c in comps if c.plan))
    if not plans:
        return "this report (from an older frenk) has no plan for the next look: compare again to get one"
    return "; ".join(plans)


def _worse_means(report: ComparisonReport, metric: str, system: str, others: list[str]) -> list[str]:
    """The systems among ``others`` whose mean beats ``system``'s (all of them when a mean is unknown)."""
    mine = report.mean(metric, system)
    if mine is None:
        return others
    return [o for o in others if (theirs := report.mean(metric, o)) is None or theirs > mine]


def _higher_known_means(report: ComparisonReport, metric: str, system: str, others: list[str]) -> list[str]:
    """The systems among ``others`` whose known mean beats ``system``'s known mean."""
    mine = report.mean(metric, system)
    return [] if mine is None else [o for o in others if (theirs := report.mean(metric, o)) is not None
                                    and theirs > mine]


def _ties_text(ties: list[PairResult], system: str) -> str:
    """How ``system`` ties: equivalent (within the margin) or undecided (neither better nor
    equivalent), each with the systems it ties with that way."""
    equivalent = [c.other(system) for c in ties if c.verdict.call == "equivalent"]
    undecided = [c.other(system) for c in ties if c.verdict.call != "equivalent"]
    parts = ([f"equivalent to {', '.join(equivalent)} (within the margin)"] if equivalent else []) + (
        [f"undecided against {', '.join(undecided)} (neither better nor equivalent)"] if undecided else [])
    return " and ".join(parts)


def gate(report: ComparisonReport, system: str, has_champion: bool) -> GateDecision:
    """May ``system`` be promoted on the strength of ``report``?

    Yes when, on the report's deciding (first) metric, it is significantly better than every
    system it was compared with (its verdict is "better": the deciding interval lies above the
    margin); or when it is nowhere worse, its mean is at least as high as every system it ties
    with (equivalent or undecided), and there is no current champion to displace. A refusal on
    a tie gives the plan for the next look.
    """
    metric = report.primary_metric
    comps = report.pairs_of(system, metric)
    if not comps:
        return GateDecision(False, f"the compare report has no comparison of {system} on {metric}")
    losses = [c for c in comps if c.verdict.better not in (None, system)]
    ties = [c for c in comps if c.verdict.better is None]
    if losses:
        return GateDecision(False, "; ".join(f"not supported: {c.verdict.text}" for c in losses))
    # the systems it beat and those it was not tested against (with a baseline, the others are
    # compared with the baseline only): a paired test over some runs, or a win over the baseline,
    # can favour a system whose mean over all runs is below another's
    compared = {c.other(system) for c in comps}
    unseen = [s for s in report.systems if s != system and s not in compared]
    beaten = _higher_known_means(report, metric, system,
                                 [c.other(system) for c in comps if c.verdict.better] + unseen)
    if beaten:
        return GateDecision(
            False,
            f"{system}'s mean on {metric} over all its runs is lower than {', '.join(beaten)}'s: a worse mean is "
            "never promoted, whatever a test over part of the runs says (force=true overrides)",
        )
    if not ties:
        return GateDecision(True, f"{system} is significantly better than every alternative on {metric}")
    tied = [c.other(system) for c in ties]
    others = ", ".join(tied)
    if has_champion:
        return GateDecision(
            False,
            f"{system} is not significantly better than {others} on {metric}, and a champion exists: "
            f"an equal model does not replace it; {_plan(ties)} (force=true overrides)",
        )
    better = _worse_means(report, metric, system, tied)
    if better:
        return GateDecision(
            False,
            f"{system} is not significantly different from {others} on {metric}, but its mean is lower than "
            f"{', '.join(better)}'s: a worse mean is never promoted; {_plan(ties)} (force=true overrides)",
        )
    return GateDecision(True, f"{system} is {_ties_text(ties, system)} on {metric}, has the better mean, "
                              "and there is no champion yet")
