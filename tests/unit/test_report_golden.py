"""The compare report of fixed inputs, number for number and line for line, against the golden
files written by the report code before it was typed (tests/unit/golden/)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from frenk.comparison import REPORT_VERSION, ComparisonReport, build_report, render_markdown
from tests.unit.golden.cases import cases

GOLDEN = Path(__file__).parent / "golden"


def _same(got, want, where="report") -> None:
    """JSON-equal, floats to 1e-12 relative (NaN equal to NaN)."""
    if isinstance(want, float) and isinstance(got, (int, float)):
        assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, rel=1e-12, abs=1e-15), where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for k in want:
            _same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


#: the case the fast loop checks (each takes about a second; the others run with the slow tests)
FAST = {"paired"}


@pytest.mark.parametrize("name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in sorted(cases())])
def test_report_matches_its_golden_file(name):
    records, opts, predictions, best = cases()[name]
    report = build_report(records, opts, predictions, best)
    saved = json.loads(json.dumps(report.to_dict()))  # what report.json holds
    assert saved.pop("version") == REPORT_VERSION  # the one key the typed report added
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    _same(saved, golden)
    assert render_markdown(report) == (GOLDEN / f"{name}.md").read_text()
    # a report.json written before the typed report (no version) reads back as the same report
    again = ComparisonReport.from_dict(golden)
    _same(json.loads(json.dumps(again.to_dict())), {**golden, "version": REPORT_VERSION})
    assert render_markdown(again) == render_markdown(report)
