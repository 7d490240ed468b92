"""One point of view per pair: its effect sizes and ASO for the leader over the other.

A pair stores its effects for ``a`` over ``b`` (Cohen's d, Cliff's delta, Hedges' g of ``a - b``;
ASO's eps_min of ``a`` over ``b`` and, separately, of ``b`` over ``a``: two different numbers).
Every text and table shows them for one direction only: the pair's leader (the higher mean on
the pair's metric) over the other, and says so ("A over B")."""

from __future__ import annotations

from dataclasses import dataclass

from .model import PairResult


@dataclass(frozen=True)
class Oriented:
    """A pair's effects for ``leader`` over ``other``."""

    leader: str
    other: str
    cohens_d: float
    cliffs_delta: float
    hedges_g: float
    aso_eps_min: float

    @property
    def direction(self) -> str:
        return f"{self.leader} over {self.other}"


def leader_of(c: PairResult) -> str:
    """The system with the higher mean on the pair's metric (``a`` on a tie or an unknown difference)."""
    return c.b if c.mean_difference < 0 else c.a


def oriented(c: PairResult) -> Oriented:
    """The pair's effect sizes and eps_min for its leader over the other: the signed sizes flip with
    the order, eps_min is the stored value of that direction (never derived from the other one)."""
    e = c.effect
    if leader_of(c) == c.a:
        return Oriented(c.a, c.b, e.cohens_d, e.cliffs_delta, e.hedges_g, e.aso_eps_min)
    return Oriented(c.b, c.a, -e.cohens_d, -e.cliffs_delta, -e.hedges_g, e.aso_eps_min_reverse)
