"""Comparison: the pure statistics (:mod:`.stats`, power in :mod:`.power`), which runs count
(:mod:`.selection`), the design of a comparison and its statistics (:mod:`.design`), its words
(:mod:`.verdict`), the assembled report (:mod:`.build`) as typed data (:mod:`.model`,
:mod:`.parts`), rendered as Markdown (:mod:`.report`) and charts (:mod:`.plots`).

May import: :mod:`frenk.core`. Never :mod:`frenk.tracking` or :mod:`frenk.steps`: run
records come in as plain :class:`RunRecord` objects, a :class:`ComparisonReport` goes out
(``to_dict()`` is report.json; ``ComparisonReport.from_dict`` reads it back, older layouts too).
"""

from . import stats
from .build import build_report
from .model import REPORT_VERSION, ComparisonReport, Descriptive, Friedman, PairResult, ValidationChoice
from .parts import Effect, ExampleView, FoldView, Normality, Power, ReportedTest, Verdict
from .plots import report_figures
from .report import render_markdown
from .selection import CompareOptions, RunRecord, Skipped, check_comparable

__all__ = ["REPORT_VERSION", "CompareOptions", "ComparisonReport", "Descriptive", "Effect", "ExampleView", "FoldView",
           "Friedman", "Normality", "PairResult", "Power", "ReportedTest", "RunRecord", "Skipped", "ValidationChoice",
           "Verdict", "build_report", "check_comparable", "render_markdown", "report_figures", "stats"]
