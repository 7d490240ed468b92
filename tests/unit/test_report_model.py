"""The typed compare report: report.json round trips, and the reports older frenk versions
wrote (fewer keys, no version) are still read by the report, the gate and the publish choice."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from frenk.comparison import REPORT_VERSION, ComparisonReport, render_markdown
from frenk.core.errors import FrenkError
from frenk.publishing import gate, selection_text, system_to_publish

GOLDEN = Path(__file__).parent / "golden"


def _old() -> dict:
    """A report.json as the first compare step wrote it (commit 2f0eaa3): no protocol,
    validation, validation choice, class notes, minimum detectable difference or version."""
    return json.loads((GOLDEN / "layout_2f0eaa3.json").read_text())


def test_a_first_layout_report_reads_as_typed_data():
    report = ComparisonReport.from_dict(_old())
    assert report.systems == ("bertic", "tfidf", "xlmr") and report.primary_metric == "macro_f1"
    assert report.protocol is None and report.validation == {} and report.validation_choice is None
    first = next(c for c in report.pairs_of("xlmr", "macro_f1") if c.other("xlmr") == "bertic")
    assert (first.a, first.b, first.design, first.n_a) == ("bertic", "xlmr", "paired", 5)
    assert first.verdict.significant and first.verdict.better == "bertic"
    assert first.verdict.p_holm is not None and first.verdict.p == first.verdict.p_holm
    assert first.power.min_detectable_difference is None and first.power.seeds_needed_interval is None
    assert first.normality.result is not None and first.class_note is None
    assert report.selection == {"group": "g", "filter": "", "by": "frenk.model", "experiment": ""}
    assert report.mean("macro_f1", "bertic") == pytest.approx(0.82)


def test_a_first_layout_report_still_renders_gates_and_refuses_to_choose_without_validation():
    report = ComparisonReport.from_dict(_old())
    md = render_markdown(report)
    assert md.startswith("# Model comparison") and "| bertic vs xlmr | paired | 5 | paired t-test |" in md
    assert report.best_system is None  # bertic ties with tfidf
    assert gate(report, "bertic", has_champion=False).allowed  # a tie, the better mean, no champion
    assert not gate(report, "bertic", has_champion=True).allowed
    assert gate(report, "xlmr", has_champion=False).reason.startswith("not supported: bertic is better than xlmr")
    assert "its mean is lower than bertic's" in gate(report, "tfidf", has_champion=False).reason
    assert not gate(report, "mbert", has_champion=False).allowed  # not in the report
    with pytest.raises(FrenkError, match="no validation metric final_val_macro_f1"):
        system_to_publish(report)
    assert "explicit choice" in selection_text(report, "bertic")


def test_the_old_keys_keep_their_values_and_a_version_is_added():
    old = _old()
    saved = json.loads(json.dumps(ComparisonReport.from_dict(old).to_dict()))
    assert saved["version"] == REPORT_VERSION and set(old) <= set(saved)
    for key in ("alpha", "metrics", "systems", "runs", "seeds", "skipped", "descriptives", "warnings",
                "best_system", "summary", "selection"):
        assert saved[key] == old[key], key
    for metric, f in old["friedman"].items():  # and the method, which an old report's p came from
        assert saved["friedman"][metric] == {**f, "method": "chi-square approximation"}
    for got, was in zip(saved["comparisons"], old["comparisons"], strict=True):
        assert got["recommended"] == was["recommended"] and got["tests"] == {
            k: {"smallest_possible_p": None, **t} for k, t in was["tests"].items()}
        assert {k: got["power"][k] for k in was["power"]} == was["power"]
    # and it reads back as itself
    assert json.dumps(ComparisonReport.from_dict(saved).to_dict()) == json.dumps(saved)


def test_a_newer_layout_is_refused_with_a_reason():
    with pytest.raises(FrenkError, match="layout version 99, newer than this frenk reads"):
        ComparisonReport.from_dict({**_old(), "version": 99})


def test_the_report_is_frozen():
    report = ComparisonReport.from_dict(_old())
    with pytest.raises(FrozenInstanceError):
        report.best_system = "xlmr"  # type: ignore[misc]
