"""Logging a comparison across data sets (blocks) to the active compare run: each block's report
under ``blocks/<block>/``, the analysis across them (``blocks.json``), the results table with a
column group per block, the critical-difference diagram and the summary report."""

from __future__ import annotations

import mlflow

from ..comparison import ComparisonReport, render_markdown
from ..comparison.blocks import BlockAnalysis
from ..comparison.plots import critical_difference
from ..comparison.tables import BlockTable, block_latex, block_markdown
from ..core.names import Tag
from .results import describe
from .runs import log_params


def log_blocks(analysis: BlockAnalysis, reports: dict[str, ComparisonReport], table: BlockTable,
               markdown: str, params: dict) -> None:
    """Everything of a comparison across blocks, as artifacts and tags of the active run. The run
    names no ``frenk.systems`` (publish reads a one-data-set report), but ``frenk.blocks``."""
    log_params(params)
    used = [rid for r in reports.values() for ids in r.runs.values() for rid in ids]
    mlflow.set_tags({Tag.COMPARED_RUNS: ",".join(used)[:5000], Tag.BLOCKS: ",".join(analysis.blocks)})
    for block, report in reports.items():
        mlflow.log_dict(report.to_dict(), f"blocks/{block}/report.json")
        mlflow.log_text(render_markdown(report), f"blocks/{block}/report.md")
    mlflow.log_dict(analysis.to_dict(), "blocks.json")
    mlflow.log_text(markdown, "report.md")
    mlflow.log_text(block_markdown(table), "results_table.md")
    mlflow.log_text(block_latex(table), "results_table.tex")
    mlflow.log_dict(table.to_dict(), "results_table.json")
    f = analysis.friedman
    if f is not None:
        mlflow.log_figure(critical_difference(f.average_ranks, f.critical_difference,
                                              f"{analysis.metric}: average ranks over {f.n_blocks} data sets "
                                              "(Nemenyi CD)"), "critical_difference.png")
        metrics = {"blocks/friedman_statistic": f.statistic, "blocks/friedman_p": f.p,
                   "blocks/critical_difference": f.critical_difference}
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
    lines = "".join(f"\n- {r.text}" for r in analysis.replications)
    friedman = (f"Friedman over {f.n_blocks} data sets: p = {f.p:.3g}, CD = {f.critical_difference:.2f}.\n"
                if f is not None else "")
    describe(f"**Across {len(analysis.blocks)} data sets ({', '.join(analysis.blocks)}).** {friedman}{lines}\n\n"
             "Full report: `report.md`; per data set: `blocks/<block>/report.md`; `blocks.json` (artifacts).")
