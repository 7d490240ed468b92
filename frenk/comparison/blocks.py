"""Comparisons across data sets (blocks): each block (a language, a label scheme, a topic: a data
set with its own test split) has its own compare report, decided as usual at alpha / blocks
(Bonferroni across blocks); across the blocks, a Friedman test over the systems' per-block mean
scores with the Nemenyi critical difference (Demšar 2006), and per pair a replicability count,
"better in u of n data sets", with the Bonferroni partial-conjunction p-values of Benjamini and
Heller (2008). Pure statistics: reports in, typed results out (no MLflow)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .exact import friedman_exact_p
from .model import ComparisonReport

#: how the per-block verdicts are corrected across blocks
BLOCK_CORRECTION = "bonferroni"
#: the reference of the partial-conjunction p-values
PARTIAL_CONJUNCTION = ("Benjamini & Heller (2008), Screening for partial conjunction hypotheses, Biometrics "
                       "64(4):1215-1222, Bonferroni-based: p^{u/n} = (n - u + 1) p_(u)")


def friedman_chi2(matrix) -> tuple[float, float]:
    """Friedman's chi-square statistic (tie-corrected, as :func:`scipy.stats.friedmanchisquare`)
    and its chi-square p for a blocks x systems ``matrix``; unlike scipy's it takes k = 2 systems."""
    x = np.asarray(matrix, float)
    n, k = x.shape
    ranks = stats.rankdata(x, axis=1)
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float(np.sum(counts ** 3 - counts))
    correction = 1 - ties / (n * k * (k * k - 1))
    sums = ranks.sum(axis=0)
    chi2 = (12 / (n * k * (k + 1)) * float(np.sum(sums ** 2)) - 3 * n * (k + 1))
    if correction <= 0:  # every block ties every system: no evidence either way
        return 0.0, 1.0
    chi2 /= correction
    return float(chi2), float(stats.chi2.sf(chi2, k - 1))


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """The Nemenyi test's q_alpha for ``k`` systems: the studentized range quantile (infinite df) / sqrt(2)."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks, q_alpha sqrt(k(k+1) / (6n)) (Demšar 2006, eq. 5)."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * n))


def partial_conjunction(p_values, u: int) -> float:
    """The Bonferroni partial-conjunction p of "at least ``u`` of the n null hypotheses are false":
    (n - u + 1) times the u-th smallest p, at most 1 (valid under any dependence)."""
    p = sorted(float(v) for v in p_values)
    n = len(p)
    if not 1 <= u <= n:
        raise ValueError(f"u={u} must be between 1 and n={n}")
    return min(1.0, (n - u + 1) * p[u - 1])


def partial_conjunctions(p_values) -> tuple[float, ...]:
    """p^{u/n} for u = 1..n, made non-decreasing in u (at least u implies at least u - 1), so
    that the count "at least u" is a sequence of nested tests at one level."""
    out, running = [], 0.0
    for u in range(1, len(p_values) + 1):
        running = max(running, partial_conjunction(p_values, u))
        out.append(running)
    return tuple(out)


def one_sided(p_two_sided: float, difference: float) -> float:
    """The one-sided p of "a better than b" from a symmetric test's two-sided p and the
    difference a - b (an undefined p counts as 1)."""
    p = 1.0 if not math.isfinite(p_two_sided) else min(1.0, p_two_sided)
    return p / 2 if difference > 0 else 1 - p / 2


def replicated_count(p_values, alpha: float) -> int:
    """The largest u whose (monotone) partial-conjunction p is at most ``alpha``; 0 when none."""
    return sum(1 for p in partial_conjunctions(p_values) if p <= alpha)


@dataclass(frozen=True)
class BlockFriedman:
    """Friedman over the blocks (the systems' per-block mean scores), average ranks (1 = best)
    and the Nemenyi critical difference; ``different``: the pairs whose ranks differ by more."""

    metric: str
    statistic: float
    p_value: float
    exact_p: float | None
    average_ranks: dict[str, float]
    q_alpha: float
    critical_difference: float
    n_blocks: int
    alpha: float
    different: tuple[tuple[str, str], ...] = ()

    @property
    def p(self) -> float:
        """The deciding p: exact where it was enumerated, else the chi-square one."""
        return self.p_value if self.exact_p is None else self.exact_p

    def to_dict(self) -> dict:
        return {"metric": self.metric, "statistic": self.statistic, "p_value": self.p_value, "exact_p": self.exact_p,
                "average_ranks": self.average_ranks, "q_alpha": self.q_alpha,
                "critical_difference": self.critical_difference, "n_blocks": self.n_blocks, "alpha": self.alpha,
                "different": [list(p) for p in self.different]}

    @classmethod
    def from_dict(cls, d: dict) -> BlockFriedman:
        nan = float("nan")
        return cls(d.get("metric", ""), d.get("statistic", nan), d.get("p_value", nan), d.get("exact_p"),
                   d.get("average_ranks", {}), d.get("q_alpha", nan), d.get("critical_difference", nan),
                   d.get("n_blocks", 0), d.get("alpha", 0.05), tuple(tuple(p) for p in d.get("different", ())))


@dataclass(frozen=True)
class Replication:
    """One pair across the blocks, oriented so that ``a`` is the one ahead: its one-sided
    per-block p ("a better than b", from each block's primary seed-level test), the blocks whose
    own verdict calls a better (``better_in``) or b better (``worse_in``), the partial-conjunction
    p for u = 1..n and ``replicated``: better in at least that many blocks at ``alpha`` (each
    direction is tested at alpha / 2, the orientation being chosen from the data)."""

    metric: str
    a: str
    b: str
    blocks: tuple[str, ...]
    p_one_sided: tuple[float, ...]
    better_in: int
    worse_in: int
    partial_conjunction: tuple[float, ...]
    replicated: int
    alpha: float

    @property
    def n(self) -> int:
        return len(self.blocks)

    @property
    def text(self) -> str:
        return (f"{self.a} vs {self.b} on {self.metric}: {self.a} better in {self.better_in} of {self.n} data sets "
                f"by their verdicts ({self.b} in {self.worse_in}); replicated (partial conjunction, alpha "
                f"{self.alpha:g}): better in at least {self.replicated} of {self.n}")

    def to_dict(self) -> dict:
        return {"metric": self.metric, "a": self.a, "b": self.b, "blocks": list(self.blocks),
                "p_one_sided": list(self.p_one_sided), "better_in": self.better_in, "worse_in": self.worse_in,
                "partial_conjunction": list(self.partial_conjunction), "replicated": self.replicated,
                "alpha": self.alpha, "text": self.text}

    @classmethod
    def from_dict(cls, d: dict) -> Replication:
        return cls(d.get("metric", ""), d.get("a", ""), d.get("b", ""), tuple(d.get("blocks", ())),
                   tuple(d.get("p_one_sided", ())), d.get("better_in", 0), d.get("worse_in", 0),
                   tuple(d.get("partial_conjunction", ())), d.get("replicated", 0), d.get("alpha", 0.05))


@dataclass(frozen=True)
class BlockAnalysis:
    """The comparison across blocks: which blocks and systems, the alpha of each block's verdicts
    (alpha / blocks), the Friedman over blocks (None with fewer than 2 blocks) and each pair's replication."""

    metric: str
    blocks: tuple[str, ...]
    systems: tuple[str, ...]
    alpha: float
    block_alpha: float
    means: dict[str, dict[str, float]]
    friedman: BlockFriedman | None
    replications: tuple[Replication, ...]
    correction: str = BLOCK_CORRECTION
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"metric": self.metric, "blocks": list(self.blocks), "systems": list(self.systems),
                "alpha": self.alpha, "block_alpha": self.block_alpha, "correction": self.correction,
                "means": self.means, "friedman": self.friedman.to_dict() if self.friedman else None,
                "replications": [r.to_dict() for r in self.replications],
                "partial_conjunction": PARTIAL_CONJUNCTION, "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, d: dict) -> BlockAnalysis:
        f = d.get("friedman")
        return cls(d.get("metric", ""), tuple(d.get("blocks", ())), tuple(d.get("systems", ())),
                   d.get("alpha", 0.05), d.get("block_alpha", d.get("alpha", 0.05)), d.get("means", {}),
                   BlockFriedman.from_dict(f) if f else None,
                   tuple(Replication.from_dict(r) for r in d.get("replications", ())),
                   d.get("correction", BLOCK_CORRECTION), tuple(d.get("warnings", ())))


def block_friedman(means: dict[str, dict[str, float]], systems: tuple[str, ...], metric: str,
                   alpha: float) -> BlockFriedman:
    """Friedman and Nemenyi over ``means`` (block -> system -> mean score; higher is better)."""
    blocks = list(means)
    matrix = np.array([[means[b][s] for s in systems] for b in blocks], float)
    chi2, p = friedman_chi2(matrix)
    ranks = stats.rankdata(-matrix, axis=1).mean(axis=0)
    k, n = len(systems), len(blocks)
    cd = critical_difference(k, n, alpha)
    avg = {s: float(r) for s, r in zip(systems, ranks, strict=True)}
    different = tuple((a, b) for i, a in enumerate(systems) for b in systems[i + 1:] if abs(avg[a] - avg[b]) > cd)
    return BlockFriedman(metric, chi2, p, friedman_exact_p(matrix), avg, nemenyi_q(k, alpha), cd, n, alpha, different)


def _pair(report: ComparisonReport, metric: str, a: str, b: str):
    return next((c for c in report.comparisons if c.metric == metric and {c.a, c.b} == {a, b}), None)


def replication(reports: dict[str, ComparisonReport], metric: str, a: str, b: str, alpha: float) -> Replication:
    """The pair (a, b) across the blocks' reports, oriented towards the one with the smaller
    partial-conjunction p of "better in at least one" (each direction at alpha / 2)."""
    blocks = tuple(reports)
    sides: dict[tuple[str, str], list[float]] = {(a, b): [], (b, a): []}
    calls: list[str | None] = []
    for block in blocks:
        c = _pair(reports[block], metric, a, b)
        if c is None:
            raise ValueError(f"block {block} has no comparison of {a} and {b} on {metric}")
        diff = c.mean_difference if c.a == a else -c.mean_difference
        sides[(a, b)].append(one_sided(c.verdict.p_value, diff))
        sides[(b, a)].append(one_sided(c.verdict.p_value, -diff))
        calls.append(c.verdict.better)
    (x, y) = min(sides, key=lambda side: (partial_conjunctions(sides[side])[0], side != (a, b)))
    ps = tuple(sides[(x, y)])
    return Replication(metric, x, y, blocks, ps, calls.count(x), calls.count(y), partial_conjunctions(ps),
                       replicated_count(ps, alpha / 2), alpha)


def analyse_blocks(reports: dict[str, ComparisonReport], alpha: float) -> BlockAnalysis:
    """The comparison across ``reports`` (block -> its compare report, decided at alpha / blocks)
    on their primary metric, over the systems every block has (see :class:`BlockAnalysis`)."""
    first = next(iter(reports.values()))
    metric = first.primary_metric
    systems = tuple(s for s in first.systems if all(s in r.systems for r in reports.values()))
    warnings = tuple(f"{s} is not in every block: left out of the comparison across blocks"
                     for r in reports.values() for s in r.systems if s not in systems)
    means = {b: {s: r.mean(metric, s) or float("nan") for s in systems} for b, r in reports.items()}
    friedman = block_friedman(means, systems, metric, alpha) if len(reports) >= 2 and len(systems) >= 2 else None
    if friedman is not None:  # the rows in order of average rank
        systems = tuple(sorted(systems, key=lambda s: (friedman.average_ranks[s], s)))
    pairs = [(c.a, c.b) for c in first.comparisons if c.metric == metric and c.a in systems and c.b in systems]
    reps = tuple(replication(reports, metric, a, b, alpha) for a, b in pairs)
    return BlockAnalysis(metric, tuple(reports), systems, alpha, alpha / len(reports), means, friedman, reps,
                         warnings=tuple(dict.fromkeys(warnings)))


def to_markdown(analysis: BlockAnalysis, reports: dict[str, ComparisonReport]) -> str:
    """The report of a comparison across blocks: each block's verdicts, then Friedman and the replication."""
    n = len(analysis.blocks)
    lines = [f"# Comparison across {n} data sets: {', '.join(analysis.blocks)}", "",
             f"Each data set (block) is compared on its own test split at alpha / {n} = {analysis.block_alpha:.4g} "
             f"(Bonferroni across the blocks; within a block its own correction over the pairs). Each block's "
             "full report: `blocks/<block>/report.md`.", ""]
    for block, report in reports.items():
        lines += [f"## {block}", "", f"**{report.summary}**", ""]
        lines += [f"- {c.verdict.text}" for c in report.comparisons if c.metric == analysis.metric] + [""]
    lines += [f"## Across the data sets ({analysis.metric}, mean over seeds per data set)", ""]
    f = analysis.friedman
    if f is not None:
        exact = f", exact p = {f.exact_p:.4g}" if f.exact_p is not None else ""
        lines += [f"Friedman chi-square = {f.statistic:.4g} (df {len(analysis.systems) - 1}), p = {f.p_value:.4g}"
                  f"{exact}, over {f.n_blocks} data sets. Nemenyi critical difference at alpha {f.alpha:g}: "
                  f"q = {f.q_alpha:.3f}, CD = {f.critical_difference:.3f} (`critical_difference.png`).", "",
                  "| system | average rank |", "|---|---|"]
        lines += [f"| {s} | {f.average_ranks[s]:.2f} |" for s in analysis.systems] + [""]
        lines.append("Ranks differing by more than CD: " + (", ".join(f"{a} vs {b}" for a, b in f.different)
                                                              or "none") + ".")
        lines.append("")
    lines += ["Replication (one-sided p per data set from its primary test; " + PARTIAL_CONJUNCTION + "):", ""]
    lines += [f"- {r.text}" for r in analysis.replications]
    lines += [""] + [f"- warning: {w}" for w in analysis.warnings]
    return "\n".join(lines).rstrip() + "\n"
