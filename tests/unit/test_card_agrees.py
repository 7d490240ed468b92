"""#23 point 8: one point of view in the card and the compare report. Every effect size and eps_min
is for the pair's leader over the other, in tables and texts alike; a forced promotion says so;
whole numbers print as whole numbers; the TF-IDF baseline is never called a transformer."""

from __future__ import annotations

import re
from dataclasses import replace

from frenk.comparison import ComparisonReport, render_markdown
from frenk.comparison.verdict import decide
from frenk.core.names import Tag
from frenk.publishing import RunFacts, card_facts, render_card, selection_text

# the loser is listed first: a - b is negative, and eps_min(a over b) != eps_min(b over a) loosely
PAIR = {"metric": "macro_f1", "a": "tfidf", "b": "tiny", "design": "paired", "pairing": "seed", "n_a": 5, "n_b": 5,
        "mean_difference": -0.02, "seed_ci": [-0.03, -0.01],
        "recommended": {"test": "paired_t", "name": "paired t-test", "p_value": 0.004},
        "effect": {"cohens_d": -0.445, "cohens_d_kind": "d_z (paired differences)", "cliffs_delta": -0.36,
                   "aso_eps_min": 1.0, "aso_eps_min_reverse": 0.586, "hedges_g": -0.4}}


def _report(**extra) -> ComparisonReport:
    report = ComparisonReport.from_dict({
        "alpha": 0.05, "metrics": ["macro_f1"], "systems": ["tiny", "tfidf"], "comparisons": [PAIR],
        "descriptives": {"macro_f1": {"tiny": {"n": 5, "mean": 0.62}, "tfidf": {"n": 5, "mean": 0.60}}},
        "runs": {"tiny": ["run42", "run43"], "tfidf": ["t1"]},
        "validation_choice": {"metric": "final_val_macro_f1", "ranking": ["tiny", "tfidf"],
                              "means": {"tiny": 0.65, "tfidf": 0.6}}, **extra})
    return replace(report, comparisons=tuple(decide(c, 0.05, False) for c in report.comparisons))


def _facts(params: dict | None = None, forced: str | None = None):
    tags = {Tag.MODEL: "tiny", Tag.MODEL_ID: "tiny", Tag.LANG: "hr", Tag.LABELS: "binary", Tag.DATA_DIGEST: "d" * 64}
    metrics = {"test_accuracy": 0.7, "test_macro_f1": 0.6, "final_val_macro_f1": 0.65}
    seeds = [RunFacts(f"run{s}", {**tags, Tag.SEED: str(s)}, {"model": "tiny", **(params or {}), "seed": str(s)},
                      metrics) for s in (42, 43)]
    return card_facts("frenk-hr", "1", seeds[1], seeds, _report(), "cmp", {0: "Acceptable", 1: "Offensive"},
                      forced=forced)


NUMBER = r"-?[0-9][0-9.e+-]*"


def test_card_table_and_text_agree_on_every_effect_and_aso_number():
    card = render_card(_facts())
    row = next(line for line in card.splitlines() if line.startswith("| macro_f1 | tfidf |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    direction, d, cliff, aso = cells[7:11]
    assert direction == "tiny over tfidf"  # the leader (higher mean) over the other, stated
    assert "effects of" in card and "for the pair's leader (the higher mean on the metric) over the other" in card
    assert (d, cliff, aso) == ("0.445", "0.36", "0.586")
    verdict = next(line for line in card.splitlines() if line.startswith("- tiny is better than tfidf"))
    assert re.findall(rf"Cohen's d_z=({NUMBER})", verdict) == [d]
    assert re.findall(rf"Cliff's delta=({NUMBER})", verdict) == [cliff]
    assert re.findall(rf"eps_min\(([^)]*)\) = ({NUMBER})", verdict) == [(direction, aso)]
    assert "tiny over tfidf: Cohen's d_z" in verdict
    assert "-0.445" not in card and "1.000" not in card  # the other direction is nowhere


def test_the_card_corrects_the_verdict_text_of_an_older_report():
    """A report of an older frenk wrote d and Cliff's delta of a over b in its texts, without a direction."""
    facts = _facts()
    pair = facts.report.comparisons[0]
    old_text = pair.verdict.text.replace("tiny over tfidf: Cohen's d_z=0.445, Cliff's delta=0.36",
                                         "Cohen's d_z=-0.445, Cliff's delta=-0.36")
    assert old_text != pair.verdict.text
    old = replace(pair, verdict=replace(pair.verdict, text=old_text))
    card = render_card(replace(facts, report=replace(facts.report, comparisons=(old,))))
    verdict = next(line for line in card.splitlines() if line.startswith("- tiny is better than tfidf"))
    assert "tiny over tfidf: Cohen's d_z=0.445, Cliff's delta=0.36" in verdict and "-0.445" not in card
    assert "eps_min(tiny over tfidf) = 0.586" in verdict


def test_compare_report_table_and_text_agree_on_every_effect_and_aso_number():
    text = render_markdown(_report())
    assert "| effects of (leader over other) | Cohen's d | Cliff's delta | ASO eps_min |" in text
    row = next(line for line in text.splitlines() if line.startswith("| tfidf vs tiny | paired |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[7:11] == ["tiny over tfidf", "0.445", "0.36", "0.586"]
    verdict = next(line for line in text.splitlines() if line.startswith("- tiny is better than tfidf"))
    assert "tiny over tfidf: Cohen's d_z=0.445, Cliff's delta=0.36" in verdict
    assert "eps_min(tiny over tfidf) = 0.586" in verdict and "-0.445" not in text


def test_a_forced_promotion_says_so_on_the_card():
    reason = "not supported: tfidf and tiny are equivalent"
    card = render_card(_facts(forced=reason))
    assert (f"**Promoted with force=true:** the compare report did not support promoting this model ({reason})"
            in card) and Tag.FORCED in card
    assert "force=true" not in render_card(_facts())


def test_whole_numbers_print_as_whole_numbers_on_the_card():
    card = render_card(_facts({"epochs": "3.0", "resolved_epochs": "3.0", "batch_size": "16.0", "max_length": "64.0",
                               "repeats": "2", "learning_rate": "3e-05", "weight_decay": "0.01"}))
    line = next(line for line in card.splitlines() if line.startswith("mlflow run . -e train"))
    for word in ("epochs=3", "batch_size=16", "max_length=64", "repeats=2", "learning_rate=3e-05",
                 "weight_decay=0.01"):
        assert re.search(rf"-P {re.escape(word)}( |$)", line), (word, line)
    assert ".0 " not in line + " " and "| epochs | 3 |" in card and "| batch_size (effective) | 16 |" in card


def test_the_tfidf_baseline_is_never_called_a_transformer():
    card = render_card(_facts())
    assert "transformer" not in card.replace("from transformers import", "").replace("library_name: transformers", "")
    assert "tfidf (the TF-IDF baseline) 0.6000" in card
    report = ComparisonReport.from_dict({"validation_choice": {
        "metric": "final_val_macro_f1", "ranking": ["tfidf", "mbert", "tiny"],
        "means": {"tfidf": 0.9, "mbert": 0.8, "tiny": 0.7}}})
    assert "transformer" not in selection_text(report, "mbert").replace("mbert (a transformer)", "")
