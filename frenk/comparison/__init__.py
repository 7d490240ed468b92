"""Comparison: the pure statistics (:mod:`.stats`), the design of a comparison and its
verdicts (:mod:`.design`), the Markdown report (:mod:`.report`) and its charts (:mod:`.plots`).

May import: :mod:`frenk.core.errors`. Never :mod:`frenk.tracking` or :mod:`frenk.steps`: run
records come in as plain :class:`RunRecord` objects, a report dict goes out.
"""

from . import stats
from .design import CompareOptions, RunRecord, Skipped, build_report, check_comparable
from .plots import report_figures
from .report import render_markdown

__all__ = ["CompareOptions", "RunRecord", "Skipped", "build_report", "check_comparable", "render_markdown",
           "report_figures", "stats"]
