"""Comparison design and report: unit tests on run records (the compare step on an MLflow store:
tests/integration/test_compare_step.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.power import TTestPower

from frenk.comparison import CompareOptions, RunRecord, build_report, render_markdown
from frenk.comparison.design import compare_pair
from frenk.comparison.selection import newest_per_seed
from frenk.config import CompareConfig
from frenk.core.errors import ConfigError, FrenkError

A = [0.80, 0.82, 0.81, 0.83, 0.84]
B = [0.79, 0.80, 0.80, 0.81, 0.81]


def _records(system, values, seeds=None, digest="d1", metric="test_macro_f1"):
    seeds = seeds or range(len(values))
    return [RunRecord(f"{system}-{s}", system, str(s), digest, {metric: v, "test_accuracy": v}) for s, v in zip(seeds, values, strict=False)]


def test_paired_design_and_known_numbers():
    report = build_report(_records("bertic", A) + _records("xlmr", B), CompareOptions(metrics=("macro_f1",), pairing="seed"))
    (c,) = report.comparisons
    assert (c.a, c.b, c.design, c.n_a) == ("bertic", "xlmr", "paired", 5)
    assert c.tests["paired_t"].statistic == pytest.approx(4.8107, abs=5e-5)
    assert c.tests["paired_t"].p_value == pytest.approx(0.0085809, abs=5e-8)
    assert c.verdict.test == "paired_t" and c.verdict.p_holm is None  # one pair: no Holm
    assert c.verdict.significant and c.verdict.better == "bertic"
    assert report.best_system == "bertic"
    assert c.verdict.text.startswith("bertic is better than xlmr on macro_f1 (paired t-test, p=0.008581")
    assert report.descriptives["macro_f1"]["bertic"].mean == pytest.approx(0.82)
    assert c.power.seeds_needed is not None
    md = render_markdown(report)
    assert "| bertic vs xlmr | paired | 5 | paired t-test | 0.008581 |" in md


def test_unpaired_when_seeds_differ():
    report = build_report(_records("a", A, seeds=range(5)) + _records("b", B, seeds=range(10, 15)),
                          CompareOptions(metrics=("macro_f1",)))
    (c,) = report.comparisons
    assert c.design == "independent" and not c.paired
    assert set(c.tests) == {"welch_t", "mann_whitney", "permutation"}


def test_the_primary_test_is_fixed_by_the_design_and_secondary_floors_are_pointed_out():
    """Changed by issue 10: the paired t-test stays primary when Shapiro-Wilk rejects normality
    (before, the verdict fell to Wilcoxon, which can never be significant with 5 pairs)."""
    a = [0.80, 0.80, 0.80, 0.80, 0.90]  # differences 0.01 x4 and 0.11: far from normal
    b = [0.79, 0.79, 0.79, 0.79, 0.79]
    report = build_report(_records("a", a) + _records("b", b), CompareOptions(metrics=("macro_f1",), pairing="seed"))
    (c,) = report.comparisons
    assert c.normality.result.p_value < 0.05  # reported, not acted on
    assert c.verdict.name == "paired t-test" and c.verdict.primary
    assert c.verdict.p_value == pytest.approx(sps.ttest_rel(a, b).pvalue)
    assert c.tests["wilcoxon"].note.startswith("exact permutation")
    floors = {k: t.smallest_possible_p for k, t in c.tests.items()}
    assert floors["paired_t"] == 0 and floors["wilcoxon"] >= 0.05 and floors["permutation"] >= 0.05
    assert c.verdict.smallest_possible_p == 0
    floors = [w for w in report.warnings if "can never give p < 0.05" in w]  # what the user reads
    assert any("Wilcoxon signed-rank (a secondary test) with 5 vs 5 runs" in w and "at least 6 seeds" in w for w in floors)
    assert any("sign-flip permutation (a secondary test)" in w for w in floors)
    assert not any("paired t-test" in w for w in floors)


def test_independent_runs_always_use_welch():
    skewed = [0.80, 0.80, 0.80, 0.80, 0.70]  # fails Shapiro-Wilk
    report = build_report(_records("a", A, seeds=range(5)) + _records("b", skewed, seeds=range(10, 15)),
                          CompareOptions(metrics=("macro_f1",)))
    (c,) = report.comparisons
    assert c.normality.by_system["b"].p_value < 0.05
    assert c.verdict.name == "Welch's t-test" and c.verdict.test == "welch_t"
    assert c.verdict.p_value == pytest.approx(sps.ttest_ind(A, skewed, equal_var=False).pvalue)
    assert c.tests["mann_whitney"].note == "exact permutation (ties)"


def test_report_states_the_protocol_and_the_minimum_detectable_difference_before_the_data():
    report = build_report(_records("a", A) + _records("b", B), CompareOptions(metrics=("macro_f1",), pairing="seed"))
    (c,) = report.comparisons
    sd = np.std(np.array(A) - np.array(B), ddof=1)
    d = TTestPower().solve_power(nobs=5, alpha=0.05, power=0.8)
    assert c.power.min_detectable_difference == pytest.approx(d * sd) and c.power.sd == pytest.approx(sd)
    low, high = c.power.seeds_needed_interval
    assert low <= c.power.seeds_needed <= high
    md = render_markdown(report)
    assert md.index("paired t-test when pairing=seed is declared and the runs pair") < md.index("| a | 5 |")
    assert f"| {sd * d:.3g} |" in md


@pytest.mark.slow
def test_simulation_primary_test_reaches_significance_where_the_old_rule_could_not():
    """5 seeds per system from N(0.81, 0.005) and N(0.80, 0.005), paired by seed: the paired
    t-test (power about 0.66) is significant in most draws. The old rule (Shapiro-Wilk, then
    Wilcoxon) could not be significant in any draw where Shapiro-Wilk rejected."""
    rng = np.random.default_rng(2024)
    primary = old = old_impossible = 0
    draws = 100
    for _ in range(draws):
        a, b = rng.normal(0.81, 0.005, 5), rng.normal(0.80, 0.005, 5)
        c = compare_pair("a", "b", _records("a", a), _records("b", b), "macro_f1", 0.05, pairing="seed")
        assert c.verdict.name == "paired t-test"
        primary += c.verdict.p_value < 0.05
        if c.normality.result.p_value > 0.05:
            old += c.tests["paired_t"].p_value < 0.05
        else:  # the old rule's switch: Wilcoxon with 5 pairs, smallest p 0.0625
            old_impossible += 1
            assert c.tests["wilcoxon"].p_value >= 0.0625
    assert primary > draws / 2
    assert old_impossible > 0 and old < primary


@pytest.mark.parametrize("newer_first", [True, False])
@pytest.mark.parametrize("system", ["a", "b"])
def test_a_duplicate_seed_never_changes_the_pairing(system, newer_first):
    records = _records("a", A) + _records("b", B)
    for r in records:
        r.start_time = 1000
    dup = RunRecord(f"{system}-again", system, "2", "d1", {"test_macro_f1": 0.5, "test_accuracy": 0.5}, start_time=2000)
    records = [dup] + records if newer_first else records + [dup]
    report = build_report(records, CompareOptions(metrics=("macro_f1",), pairing="seed"))
    (c,) = report.comparisons
    assert c.design == "paired" and (c.n_a, c.n_b) == (5, 5)
    assert f"{system}-again" in report.runs[system] and f"{system}-2" not in report.runs[system]
    (skip,) = report.skipped
    assert skip.run_id == f"{system}-2"
    assert skip.reason == f"duplicate: seed 2 on the same data as the newer run {system}-again, which counts instead"
    assert 0.5 in c.scores[system]


@pytest.mark.parametrize("newer_first", [True, False])
def test_of_duplicates_the_newest_counts_whatever_the_order(newer_first):
    old = RunRecord("old", "b", "0", "d1", {"test_macro_f1": 0.1}, start_time=1)
    new = RunRecord("new", "b", "0", "d1", {"test_macro_f1": 0.2}, start_time=2)
    kept, skipped = newest_per_seed([new, old] if newer_first else [old, new])
    assert [r.run_id for r in kept] == ["new"] and [s.run_id for s in skipped] == ["old"]


def test_validation_metrics_beside_test_and_the_choice_made_on_validation():
    recs = _records("a", A) + _records("b", B)
    for r in recs:  # b is better on validation, a on test
        r.metrics["final_val_macro_f1"] = r.metrics["test_macro_f1"] + (0.1 if r.system == "b" else 0.0)
    report = build_report(recs, CompareOptions(metrics=("macro_f1",), pairing="seed"))
    assert report.validation["macro_f1"]["b"].mean == pytest.approx(np.mean(B) + 0.1)
    choice = report.validation_choice
    assert choice.system == "b" and choice.ranking == ("b", "a") and choice.metric == "final_val_macro_f1"
    assert choice.test_verdicts == (report.comparisons[0].verdict.text,)
    assert report.best_system == "a"  # on test, a
    md = render_markdown(report)
    assert "chosen on validation, not test: b" in md and "| validation mean |" in md


def test_parents_failures_and_missing_metrics_are_skipped_with_reasons():
    records = _records("a", A) + _records("b", B)
    records.append(RunRecord("parent", "a", None, "d1", {"test_macro_f1_mean": 0.8}, is_parent=True))
    records.append(RunRecord("failed", "b", "9", "d1", {}, status="FAILED"))
    records.append(RunRecord("nometric", "b", "8", "d1", {"test_accuracy": 0.5}))
    report = build_report(records, CompareOptions(metrics=("macro_f1",)))
    reasons = {s.run_id: s.reason for s in report.skipped}
    assert reasons == {"parent": "parent run of repeats (its child runs are the samples)", "failed": "status FAILED",
                       "nometric": "no metric macro_f1"}


def test_three_systems_holm_and_friedman():
    c_scores = [0.70, 0.71, 0.72, 0.70, 0.69]
    report = build_report(_records("a", A) + _records("b", B) + _records("c", c_scores), CompareOptions(metrics=("macro_f1",)))
    comps = report.comparisons
    assert len(comps) == 3 and all(c.verdict.p_holm is not None for c in comps)
    raw = sorted(c.verdict.p_value for c in comps)
    assert min(c.verdict.p_holm for c in comps) == pytest.approx(min(3 * raw[0], 1))
    assert all(c.verdict.significant == (c.verdict.p_holm < 0.05) for c in comps)  # Holm decides
    f = report.friedman["macro_f1"]
    assert f.n == 5 and f.average_ranks == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_a_deterministic_system_is_pointed_out():
    report = build_report(_records("tiny", A) + _records("tfidf", [0.8] * 5), CompareOptions(metrics=("macro_f1",)))
    assert any("all 5 runs of tfidf have the same score" in w for w in report.warnings)


def test_differences_without_spread_claim_nothing():
    """Two deterministic systems: the paired t statistic is infinite (scipy's p = 0); the
    primary test cannot decide, and says so."""
    report = build_report(_records("tiny", [0.7, 0.7, 0.7]) + _records("tfidf", [0.8, 0.8, 0.8]),
                          CompareOptions(metrics=("macro_f1",), pairing="seed"))
    (c,) = report.comparisons
    assert math.isnan(c.verdict.p_value) and not c.verdict.significant and c.verdict.better is None
    assert math.isnan(c.tests["paired_t"].p_value)
    assert c.power.seeds_needed is None and report.best_system is None
    assert any("do not vary over seeds" in w for w in c.warnings)


def test_baseline_compares_against_it_only():
    report = build_report(_records("a", A) + _records("b", B) + _records("tfidf", [0.6] * 5),
                          CompareOptions(metrics=("macro_f1",), baseline="tfidf"))
    assert {(c.a, c.b) for c in report.comparisons} == {("a", "tfidf"), ("b", "tfidf")}


@pytest.mark.parametrize(
    "records, fragment",
    [
        ([], "no runs match"),
        (_records("a", A), "need at least two systems"),
        (_records("a", A) + _records("b", [0.7]), "b has 1"),
        (_records("a", A) + _records("b", B, digest="d2"), "trained on different data"),
    ],
)
def test_bad_input(records, fragment):
    with pytest.raises(FrenkError, match=fragment):
        build_report(records, CompareOptions(metrics=("macro_f1",)))


def test_mixed_data_can_be_allowed():
    report = build_report(_records("a", A) + _records("b", B, digest="d2"),
                          CompareOptions(metrics=("macro_f1",), allow_mixed_data=True))
    assert report.comparisons[0].design == "independent"  # different data never pair
    assert report.data_digests == ("d1", "d2")


def test_config_needs_a_selection():
    with pytest.raises(ConfigError, match="group="):
        CompareConfig()
