"""The results table a paper prints (#22): one row per system, mean ± sd (n), the best in bold, a
mark and a footnote for every system the verdict rule finds different from the reference, the
runs behind every cell; Markdown, LaTeX (booktabs) and JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from frenk.comparison import ComparisonReport
from frenk.comparison.tables import latex_escape, results_table, to_latex, to_markdown

GOLDEN = Path(__file__).parent / "golden"


def _three() -> ComparisonReport:
    return ComparisonReport.from_dict(json.loads((GOLDEN / "three.json").read_text()))


def test_rows_bold_marks_and_runs_follow_the_report():
    report = _three()
    t = results_table(report)
    assert t.systems == report.systems and t.metrics == tuple(report.descriptives)
    primary = report.primary_metric
    best = max(report.systems, key=lambda s: report.descriptives[primary][s].mean)
    assert [s for s in t.systems if t.cells[s][primary].bold] == [best]
    assert t.reference == (report.best_system or best)
    for s in t.systems:
        cell = t.cells[s][primary]
        assert cell.runs == tuple(report.runs[s]) and cell.n == report.descriptives[primary][s].n
        pair = next((c for c in report.comparisons if c.metric == primary and {c.a, c.b} == {s, t.reference}), None)
        marked = pair is not None and pair.verdict.better is not None
        assert (cell.mark is not None) == marked, s  # a mark exactly where the verdict rule says different
    assert len(t.footnotes) == sum(c.mark is not None for by in t.cells.values() for c in by.values())
    md = to_markdown(t)
    assert md.count("\n| ") == len(t.systems) and "(reference)" in md and t.caption in md
    saved = json.loads(json.dumps(t.to_dict()))
    assert saved["cells"][best][primary]["runs"] == report.runs[best]


def test_the_caption_states_the_rule_level_alpha_and_margin():
    report = replace(_three(), look=2, alpha_used=0.0125, min_difference=0.005)
    caption = results_table(report).caption
    assert "alpha 0.0125, look 2 at this test set" in caption and "margin 0.005" in caption
    assert "over seeds only, so for this test set alone" in caption and "Holm-corrected" in caption


def test_latex_escapes_names_and_is_booktabs():
    report = _three()
    renamed = {s: f"{s}_v2&co" for s in report.systems}
    t = results_table(report)
    t = replace(t, systems=tuple(renamed[s] for s in t.systems), reference=renamed[t.reference],
                cells={renamed[s]: by for s, by in t.cells.items()})
    tex = to_latex(t)
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex and r"\caption{" in tex
    assert r"_v2\&co" in tex.replace(r"\_", "_") and "_v2&co" not in tex
    assert latex_escape("50% of a_b #1 {x} ~ ^") == r"50\% of a\_b \#1 \{x\} \textasciitilde{} \textasciicircum{}"


@pytest.mark.skipif(shutil.which("pdflatex") is None and os.environ.get("CI") != "true",
                    reason="no LaTeX installed (apt-get install texlive-latex-recommended; .ci/run does)")
def test_the_latex_table_compiles(tmp_path):
    body = to_latex(results_table(_three()))
    (tmp_path / "t.tex").write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
                                    + body + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
