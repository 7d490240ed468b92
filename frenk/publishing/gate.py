"""The promotion gate: may a system be promoted on the strength of a compare report?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GateDecision:
    allowed: bool
    reason: str


def gate(report: dict, system: str, has_champion: bool) -> GateDecision:
    """May ``system`` be promoted on the strength of ``report``?

    Yes when, on the report's deciding (first) metric, it is significantly better than every
    system it was compared with; or when it is nowhere significantly worse and at least equal
    within the verdict rules, provided there is no current champion to displace.
    """
    metric = report["metrics"][0]
    comps = [c for c in report["comparisons"] if c["metric"] == metric and system in (c["a"], c["b"])]
    if not comps:
        return GateDecision(False, f"the compare report has no comparison of {system} on {metric}")
    losses = [c for c in comps if c["recommended"]["better"] not in (None, system)]
    ties = [c for c in comps if c["recommended"]["better"] is None]
    if losses:
        return GateDecision(False, "; ".join(f"not supported: {c['recommended']['verdict']}" for c in losses))
    if not ties:
        return GateDecision(True, f"{system} is significantly better than every alternative on {metric}")
    others = ", ".join(c["b"] if c["a"] == system else c["a"] for c in ties)
    if has_champion:
        return GateDecision(
            False,
            f"{system} is not significantly better than {others} on {metric}, and a champion exists: "
            "an equal model does not replace it (force=true overrides)",
        )
    return GateDecision(True, f"{system} is equal to {others} on {metric} within the verdict rules, and there is no champion yet")
