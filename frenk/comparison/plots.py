"""Charts of a comparison: scores by system, critical-difference diagrams (figures only; the
tracking package logs them)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .model import ComparisonReport


def scores_by_system(scores: dict[str, list[float]], metric: str) -> Figure:
    """Box plot with the individual runs drawn on top (strip plot)."""
    fig = Figure(figsize=(max(5.5, 1.5 * len(scores)), 4), layout="constrained")
    ax = fig.subplots()
    names = list(scores)
    ax.boxplot([scores[n] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names)
    rng = np.random.default_rng(0)
    for i, n in enumerate(names, start=1):
        ys = np.asarray(scores[n], dtype=float)
        ax.scatter(i + rng.uniform(-0.08, 0.08, len(ys)), ys, s=18, zorder=3)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per system\n(box: quartiles; points: one run each)", fontsize="medium")
    return fig


def critical_difference(avg_ranks: dict[str, float], cd: float, title: str) -> Figure:
    """A critical-difference diagram (Demšar 2006): average ranks on a line; systems whose
    ranks differ by less than ``cd`` are joined by a bar."""
    names = sorted(avg_ranks, key=avg_ranks.__getitem__)
    k = len(names)
    fig = Figure(figsize=(7, 1.8 + 0.3 * k), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(0.8, k + 0.2)
    ax.set_ylim(-(k + 2) * 0.3, 1.0)
    ax.hlines(0.5, 1, k, color="black")
    for r in range(1, k + 1):
        ax.vlines(r, 0.45, 0.55, color="black")
        ax.text(r, 0.65, str(r), ha="center")
    ax.hlines(0.85, 1, 1 + cd, color="red", linewidth=2)
    ax.text(1 + cd / 2, 0.92, f"CD = {cd:.2f}", ha="center", color="red", fontsize="small")
    for i, n in enumerate(names):
        y = -0.3 * (i + 1)
        ax.plot([avg_ranks[n], avg_ranks[n]], [0.5, y], color="gray", linewidth=0.8)
        ax.text(avg_ranks[n] + 0.03, y, f"{n} ({avg_ranks[n]:.2f})", va="center", fontsize="small")
    level = 0
    for i, a in enumerate(names):
        group = [b for b in names[i:] if avg_ranks[b] - avg_ranks[a] < cd]
        if len(group) > 1:
            level += 1
            ax.hlines(0.35 - 0.06 * level, avg_ranks[group[0]], avg_ranks[group[-1]], linewidth=3, color="black")
    ax.axis("off")
    ax.set_title(title)
    return fig


def report_figures(report: ComparisonReport) -> dict[str, Figure]:
    """The report's figures by artifact path: a box/strip plot per metric, and a critical-
    difference diagram where a Friedman test was made."""
    figures = {}
    for metric, by_system in report.descriptives.items():
        values = {s: d.values for s, d in by_system.items()}
        figures[f"plots/{metric}_by_system.png"] = scores_by_system(values, metric)
        if metric in report.friedman:
            f = report.friedman[metric]
            figures[f"plots/{metric}_critical_difference.png"] = critical_difference(
                f.average_ranks, f.critical_difference, f"{metric}: average ranks (Nemenyi CD)")
    return figures
