"""The results table a paper prints, from a compare report: one row per system, a column per
compared metric as mean ± sd (n seeds), the best of each column in bold, a mark on every system
that the comparison's own verdict rule finds different from the reference (the baseline, else
the best system, else the highest mean), a caption that states the rule, and a footnote per
mark. As Markdown, as LaTeX (booktabs) and as JSON naming the runs behind every cell."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .model import ComparisonReport, PairResult

#: the marks of the footnotes, in order
MARKS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Cell:
    mean: float
    sd: float
    n: int
    runs: tuple[str, ...]
    bold: bool
    mark: str | None = None


@dataclass(frozen=True)
class ResultsTable:
    metrics: tuple[str, ...]
    systems: tuple[str, ...]
    reference: str
    cells: dict[str, dict[str, Cell]]
    caption: str
    footnotes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"metrics": list(self.metrics), "systems": list(self.systems), "reference": self.reference,
                "caption": self.caption, "footnotes": list(self.footnotes),
                "cells": {s: {m: {"mean": c.mean, "sd": c.sd, "n": c.n, "runs": list(c.runs), "bold": c.bold,
                                  "mark": c.mark} for m, c in by.items()} for s, by in self.cells.items()}}


def reference_of(report: ComparisonReport) -> str:
    """The system the marks are relative to: the baseline, else the best system, else the highest mean."""
    if report.baseline:
        return report.baseline
    if report.best_system:
        return report.best_system
    primary = report.primary_metric
    return max(report.systems, key=lambda s: report.mean(primary, s) or -math.inf)


def _pair(report: ComparisonReport, metric: str, a: str, b: str) -> PairResult | None:
    return next((c for c in report.comparisons if c.metric == metric and {c.a, c.b} == {a, b}), None)


def _footnote(c: PairResult, system: str, reference: str) -> str:
    tl = c.two_level
    sign = 1 if c.a == system else -1
    if tl is not None:
        low, high = sorted((sign * tl.ci_low, sign * tl.ci_high))
        where = f"over seeds and test comments, {100 * tl.confidence:.3g}% interval [{low:.4f}, {high:.4f}]"
    else:
        low, high = sorted(sign * x for x in (c.seed_ci or (math.nan, math.nan)))
        where = f"over seeds only (this test set alone), interval [{low:.4f}, {high:.4f}]"
    word = "better" if c.verdict.better == system else "worse"
    return (f"{system} is {word} than {reference} on {c.metric}: difference {sign * c.mean_difference:+.4f}, "
            f"{where}; {c.verdict.name} p = {c.verdict.p:.3g}")


def _caption(report: ComparisonReport, reference: str) -> str:
    primary = [c for c in report.comparisons if c.metric == report.primary_metric]
    two_level = bool(primary) and all(c.two_level is not None for c in primary)
    tests = ", ".join(sorted({c.verdict.name for c in primary})) or "none"
    look = f", look {report.look} at this test set" if report.look else ""
    pairs = f"{len(primary)} pair{'s' * (len(primary) != 1)}"
    rule = (f"the interval of the difference over seeds and test comments (a two-level bootstrap) at 1 - alpha / "
            f"pairs (Bonferroni over {pairs}) lies beyond the margin {report.min_difference:g}; seed-level test "
            f"{tests} reported beside it" if two_level else
            f"over seeds only, so for this test set alone: the t interval of the difference at 1 - alpha lies beyond "
            f"the margin {report.min_difference:g} and the primary test ({tests}, Holm-corrected over {pairs}) has "
            f"p < alpha")
    digests = ", ".join(d[:12] for d in report.data_digests) or "not recorded"
    return (f"Test scores, mean ± sd (n training seeds), test data {digests}. Bold: the best mean of each column. "
            f"A mark: different from {reference} by the comparison's verdict rule (alpha {report.decision_alpha:g}"
            f"{look}): {rule}.")


def _best(report: ComparisonReport, metric: str) -> str:
    means: dict[str, float] = {}
    for s in report.systems:
        mean = report.mean(metric, s)
        means[s] = mean if mean is not None else -math.inf
    return max(report.systems, key=means.__getitem__)


def results_table(report: ComparisonReport) -> ResultsTable:
    """The report's results table (see the module)."""
    reference = reference_of(report)
    metrics = tuple(m for m in report.metrics if m in report.descriptives)
    best = {m: _best(report, m) for m in metrics}
    cells: dict[str, dict[str, Cell]] = {}
    footnotes: list[str] = []
    for s in report.systems:
        cells[s] = {}
        for m in metrics:
            d = report.descriptives[m][s]
            c = _pair(report, m, s, reference) if s != reference else None
            mark = None
            if c is not None and c.verdict.better in (s, reference):
                mark = MARKS[len(footnotes) % len(MARKS)]
                footnotes.append(f"{mark}: {_footnote(c, s, reference)}")
            cells[s][m] = Cell(d.mean, d.sd, d.n, tuple(report.runs.get(s, ())), best[m] == s, mark)
    return ResultsTable(metrics, tuple(report.systems), reference, cells, _caption(report, reference),
                        tuple(footnotes))


def _value(c: Cell) -> str:
    sd = f"{c.sd:.4f}" if math.isfinite(c.sd) else "n/a"
    return f"{c.mean:.4f} ± {sd} ({c.n})"


def to_markdown(t: ResultsTable) -> str:
    lines = ["| system | " + " | ".join(t.metrics) + " |", "|---|" + "---|" * len(t.metrics)]
    for s in t.systems:
        row = []
        for m in t.metrics:
            c = t.cells[s][m]
            text = f"**{_value(c)}**" if c.bold else _value(c)
            row.append(text + (f" <sup>{c.mark}</sup>" if c.mark else ""))
        lines.append(f"| {s}{' (reference)' if s == t.reference else ''} | " + " | ".join(row) + " |")
    return "\n".join(lines + ["", t.caption, ""] + [f"- {f}" for f in t.footnotes]) + "\n"


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (for system names, metrics and captions)."""
    out = text.replace("\\", r"\textbackslash{}")
    for ch in "&%$#_{}":
        out = out.replace(ch, "\\" + ch)
    return out.replace("~", r"\textasciitilde{}").replace("^", r"\textasciicircum{}").replace("±", r"$\pm$")


def to_latex(t: ResultsTable) -> str:
    """A booktabs table (``\\usepackage{booktabs}``), footnotes under it."""
    lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * len(t.metrics) + "}", r"\toprule",
             "System & " + " & ".join(latex_escape(m) for m in t.metrics) + r" \\", r"\midrule"]
    for s in t.systems:
        row = []
        for m in t.metrics:
            c = t.cells[s][m]
            sd = f"{c.sd:.4f}" if math.isfinite(c.sd) else "n/a"
            value = f"{c.mean:.4f} $\\pm$ {sd} ({c.n})"
            row.append((f"\\textbf{{{value}}}" if c.bold else value) + (f"$^{{{c.mark}}}$" if c.mark else ""))
        name = latex_escape(s) + (" (reference)" if s == t.reference else "")
        lines.append(f"{name} & " + " & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", f"\\caption{{{latex_escape(t.caption)}}}"]
    if t.footnotes:
        lines += [r"\par\smallskip\footnotesize"] + [f"$^{{{latex_escape(f[0])}}}${latex_escape(f[1:])}\\\\"
                                                    for f in t.footnotes]
    return "\n".join(lines + [r"\end{table}"]) + "\n"


@dataclass(frozen=True)
class BlockTable:
    """One results table across data sets: a column group per block (its metrics, each block's
    marks from its own verdicts against its reference), the average rank over the blocks last."""

    blocks: tuple[str, ...]
    metrics: tuple[str, ...]
    systems: tuple[str, ...]
    cells: dict[str, dict[str, dict[str, Cell]]]  # block -> system -> metric
    ranks: dict[str, float]
    caption: str
    footnotes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"blocks": list(self.blocks), "metrics": list(self.metrics), "systems": list(self.systems),
                "average_ranks": self.ranks, "caption": self.caption, "footnotes": list(self.footnotes),
                "cells": {b: {s: {m: {"mean": c.mean, "sd": c.sd, "n": c.n, "runs": list(c.runs), "bold": c.bold,
                                      "mark": c.mark} for m, c in by_m.items()} for s, by_m in by_s.items()}
                          for b, by_s in self.cells.items()}}


def block_table(reports: dict[str, ComparisonReport], systems: tuple[str, ...], ranks: dict[str, float],
                rule: str) -> BlockTable:
    """The :class:`BlockTable` of the blocks' ``reports`` over ``systems`` (in that order), with
    footnote marks numbered across the blocks; ``rule`` (a sentence) closes the caption."""
    cells: dict[str, dict[str, dict[str, Cell]]] = {}
    footnotes: list[str] = []
    metrics: tuple[str, ...] = ()
    for block, report in reports.items():
        t = results_table(report)
        metrics = metrics or t.metrics
        relabel = {}
        for f in t.footnotes:
            relabel[f[0]] = MARKS[len(footnotes) % len(MARKS)]
            footnotes.append(f"{relabel[f[0]]}: {block}: {f[3:]}")
        cells[block] = {s: {m: replace(c, mark=relabel.get(c.mark or "")) for m, c in t.cells[s].items()}
                        for s in systems}
    caption = (f"Test scores per data set, mean ± sd (n training seeds). Bold: the best mean of each column. A mark: "
               f"different from the data set's reference by its own verdict rule. {rule}")
    return BlockTable(tuple(reports), metrics, systems, cells, ranks, caption, tuple(footnotes))


def _rank(t: BlockTable, s: str) -> str:
    return f"{t.ranks[s]:.2f}" if s in t.ranks else "n/a"


def block_markdown(t: BlockTable) -> str:
    head = ["system"] + [f"{b}: {m}" for b in t.blocks for m in t.metrics] + ["average rank"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---|" * (len(head) - 1)]
    for s in t.systems:
        row = []
        for b in t.blocks:
            for m in t.metrics:
                c = t.cells[b][s][m]
                row.append((f"**{_value(c)}**" if c.bold else _value(c)) + (f" <sup>{c.mark}</sup>" if c.mark else ""))
        lines.append(f"| {s} | " + " | ".join(row + [_rank(t, s)]) + " |")
    return "\n".join(lines + ["", t.caption, ""] + [f"- {f}" for f in t.footnotes]) + "\n"


def block_latex(t: BlockTable) -> str:
    """A booktabs table with a ``\\multicolumn`` and ``\\cmidrule`` per data set."""
    m = len(t.metrics)
    groups = " & ".join(f"\\multicolumn{{{m}}}{{c}}{{{latex_escape(b)}}}" for b in t.blocks)
    rules = " ".join(f"\\cmidrule(lr){{{2 + i * m}-{1 + (i + 1) * m}}}" for i in range(len(t.blocks)))
    lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * (m * len(t.blocks) + 1) + "}",
             r"\toprule", f" & {groups} & \\\\", rules,
             "System & " + " & ".join(latex_escape(x) for _ in t.blocks for x in t.metrics) + r" & Avg.\ rank \\",
             r"\midrule"]
    for s in t.systems:
        row = []
        for b in t.blocks:
            for metric in t.metrics:
                c = t.cells[b][s][metric]
                sd = f"{c.sd:.4f}" if math.isfinite(c.sd) else "n/a"
                value = f"{c.mean:.4f} $\\pm$ {sd} ({c.n})"
                row.append((f"\\textbf{{{value}}}" if c.bold else value) + (f"$^{{{c.mark}}}$" if c.mark else ""))
        lines.append(f"{latex_escape(s)} & " + " & ".join(row + [_rank(t, s)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", f"\\caption{{{latex_escape(t.caption)}}}"]
    if t.footnotes:
        lines += [r"\par\smallskip\footnotesize"] + [f"$^{{{latex_escape(f[0])}}}${latex_escape(f[1:])}\\\\"
                                                    for f in t.footnotes]
    return "\n".join(lines + [r"\end{table}"]) + "\n"
