"""#22 point 5: a card whose numbers verify. Its results are the compare report's (never retyped
from the runs), its model-index carries the published seed's score with mean ± sd over n seeds,
and a card whose numbers differ from the store's (edited by hand) is found, number by number."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
from huggingface_hub import ModelCard

from frenk.comparison import ComparisonReport
from frenk.comparison.verdict import decide
from frenk.core.names import Tag
from frenk.publishing import RunFacts, card_facts, render_card
from frenk.publishing.verify import card_differences, numbers, refusal, report_differences, report_mismatches

F1 = [0.61, 0.64, 0.58]  # the report's test macro-F1 of runs r1, r2, r3
ACC = [0.70, 0.73, 0.69]


def _report() -> ComparisonReport:
    def desc(values):
        return {"n": len(values), "mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)),
                "values": values}

    report = ComparisonReport.from_dict({
        "alpha": 0.05, "metrics": ["macro_f1", "accuracy"], "systems": ["tiny", "tfidf"],
        "descriptives": {"macro_f1": {"tiny": desc(F1), "tfidf": desc([0.5, 0.52, 0.51])},
                         "accuracy": {"tiny": desc(ACC), "tfidf": desc([0.6, 0.6, 0.61])}},
        "runs": {"tiny": ["r1", "r2", "r3"], "tfidf": ["t1", "t2", "t3"]},
        "comparisons": [{"metric": "macro_f1", "a": "tiny", "b": "tfidf", "design": "independent", "n_a": 3,
                         "n_b": 3, "mean_difference": 0.1,
                         "recommended": {"test": "welch_t", "name": "Welch's t-test", "p_value": 0.0123},
                         "effect": {"cohens_d": 2.5, "cohens_d_kind": "d", "cliffs_delta": 1.0, "aso_eps_min": 0.0,
                                    "aso_eps_min_reverse": 1.0}}],
        "validation_choice": {"metric": "final_val_macro_f1", "ranking": ["tiny", "tfidf"],
                              "means": {"tiny": 0.65, "tfidf": 0.6}}})
    return replace(report, comparisons=tuple(decide(c, 0.05, False) for c in report.comparisons))


def _facts():
    tags = {Tag.MODEL: "tiny", Tag.MODEL_ID: "tiny", Tag.LANG: "hr", Tag.LABELS: "binary", Tag.DATA_DIGEST: "d" * 64}
    # the runs' own metrics are deliberately not the report's: the card must print the report's
    seeds = [RunFacts(f"r{i + 1}", {**tags, Tag.SEED: str(42 + i)}, {"model": "tiny", "seed": str(42 + i)},
                      {"test_accuracy": 0.1, "test_macro_f1": 0.1, "final_val_macro_f1": 0.6 + i / 100})
             for i in range(3)]
    return card_facts("frenk-hr", "2", seeds[1], seeds, _report(), "cmp1", {0: "Acceptable", 1: "Offensive"})


def _spread(values) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def test_the_cards_results_are_the_reports_and_the_model_index_says_mean_sd_over_n_seeds():
    text = render_card(_facts())
    assert f"| mean ± sd over 3 seeds | {_spread(ACC)} | {_spread(F1)} |" in text
    assert "| published seed (43) | 0.7300 | 0.6400 |" in text  # r2's scores in the report, not its run's 0.1
    results = {r.metric_type: r for r in ModelCard(text).data.eval_results}
    assert (results["accuracy"].metric_value, results["f1"].metric_value) == (0.73, 0.64)
    assert results["f1"].metric_name == f"Macro F1 (published seed 43; mean ± sd over 3 seeds: {_spread(F1)})"
    assert "## How to verify" in text and "mlflow run . -e publish -P verify=path/to/this/folder" in text
    assert report_mismatches(text, _facts()) == []  # every result parses back to the report's number


def test_a_hand_edited_card_is_found_number_by_number():
    facts = _facts()
    text = render_card(facts)
    assert card_differences(text, text) == []
    better = text.replace(_spread(F1), "0.7000 ± 0.0100", 1)
    found = card_differences(better, text)
    assert len(found) == 1 and "0.7000, 0.0100 where the store gives" in found[0]
    assert any("mean ± sd" in m for m in report_mismatches(better, facts))
    index = re.sub(r"value: 0\.64\b", "value: 0.69", text)
    assert index != text and any("model-index f1: 0.69" in m for m in report_mismatches(index, facts))
    assert card_differences(index, text)
    p = text.replace("| 0.0123 |", "| 0.0012 |")
    assert p != text and any("comparison with tfidf" in m for m in report_mismatches(p, facts))
    # prose edited by hand is no difference; a number added is
    prose = text.replace("## Intended uses and limits", "## What it is for (read this)")
    assert card_differences(prose, text) == []
    added = text.replace("## Usage", "It scored 0.99 on my own data.\n\n## Usage")
    where = added.splitlines().index("It scored 0.99 on my own data.") + 1
    assert card_differences(added, text) == [f"line {where}: 0.99 where the store gives nothing"]
    line = refusal("README.md", found * 7)
    assert "\n" not in line and line.startswith("README.md: its numbers differ from the tracking store's in 7 places (") and \
        line.endswith("; and 2 more)")


def test_numbers_are_decimals_on_their_own_not_parts_of_names_or_ids():
    assert numbers("seed s42 of frenk-hr-v2, run 3fa9c0e1 and 1234abcd: 0.6123 ± 0.0100, -0.445, 3e-05, 95%") == [
        "0.6123", "0.0100", "-0.445", "3e-05", "95"]


def test_a_recomputed_report_that_differs_is_named_key_by_key():
    stored = _report().to_dict()
    assert report_differences(stored, _report().to_dict()) == []
    changed = _report().to_dict()
    changed["descriptives"]["macro_f1"]["tiny"]["mean"] += 0.01
    changed["decisions"] = {"d1": 7}  # later looks at the test set: counted, never a difference
    assert report_differences(stored, changed) == [
        f"report.json descriptives.macro_f1.tiny.mean: {stored['descriptives']['macro_f1']['tiny']['mean']!r} where the "
        f"store gives {changed['descriptives']['macro_f1']['tiny']['mean']!r}"]
