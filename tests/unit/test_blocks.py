"""Comparisons across data sets (#22 point 2): Friedman over blocks against scipy and an
enumeration, Nemenyi's q and CD against Demšar (2006), the partial-conjunction p-values of
Benjamini & Heller (2008) on hand cases, and the table with a column group per block."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from scipy import stats

from frenk.comparison import CompareOptions, RunRecord, build_report
from frenk.comparison import stats as frenk_stats
from frenk.comparison.blocks import (
    BlockAnalysis,
    analyse_blocks,
    block_friedman,
    critical_difference,
    friedman_chi2,
    nemenyi_q,
    one_sided,
    partial_conjunction,
    partial_conjunctions,
    replicated_count,
    to_markdown,
)
from frenk.comparison.tables import block_latex, block_markdown, block_table

#: Demšar (2006), Table 5(a): q_0.05 of the two-tailed Nemenyi test for k = 2..10
DEMSAR_Q05 = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
#: Table 5(a), q_0.10
DEMSAR_Q10 = [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_friedman_over_blocks_matches_scipy_with_and_without_ties(k):
    rng = np.random.default_rng(k)
    for matrix in (rng.normal(size=(7, k)), rng.integers(0, 3, size=(6, k)).astype(float)):
        chi2, p = friedman_chi2(matrix)
        expected = stats.friedmanchisquare(*matrix.T)
        assert chi2 == pytest.approx(expected.statistic, rel=1e-12) and p == pytest.approx(expected.pvalue, rel=1e-12)


def test_friedman_with_two_systems_is_the_sign_statistic():
    # scipy refuses k = 2; without ties Friedman's chi-square is (wins - losses)^2 / n
    matrix = np.array([[0.8, 0.7], [0.6, 0.65], [0.9, 0.5], [0.7, 0.6], [0.71, 0.7]])
    chi2, p = friedman_chi2(matrix)
    assert chi2 == pytest.approx((4 - 1) ** 2 / 5) and p == pytest.approx(stats.chi2.sf(9 / 5, 1))
    assert friedman_chi2(np.ones((3, 2))) == (0.0, 1.0)  # every block tied: no evidence


def test_exact_p_over_blocks_matches_an_enumeration():
    matrix = np.array([[0.80, 0.75, 0.70], [0.62, 0.66, 0.60], [0.91, 0.85, 0.83]])
    observed = stats.friedmanchisquare(*matrix.T).statistic
    perms = list(itertools.permutations(range(3)))
    hits = sum(stats.friedmanchisquare(*np.array([row[list(q)] for row, q in zip(matrix, qs, strict=True)]).T)
               .statistic >= observed - 1e-9 for qs in itertools.product(perms, repeat=3))
    f = block_friedman({f"b{i}": dict(zip("xyz", row, strict=True)) for i, row in enumerate(matrix)},
                       ("x", "y", "z"), "macro_f1", 0.05)
    assert f.exact_p == pytest.approx(hits / len(perms) ** 3) and f.p == f.exact_p
    assert f.average_ranks == {"x": pytest.approx(4 / 3), "y": pytest.approx(5 / 3), "z": pytest.approx(3.0)}


@pytest.mark.parametrize("k", range(2, 11))
def test_nemenyi_q_matches_demsar_table_5(k):
    assert nemenyi_q(k, 0.05) == pytest.approx(DEMSAR_Q05[k - 2], abs=1e-3)
    assert nemenyi_q(k, 0.10) == pytest.approx(DEMSAR_Q10[k - 2], abs=1e-3)


def test_critical_difference_of_demsars_example():
    # Demšar (2006), section 3.2.2: four algorithms on 14 data sets, CD = 2.569 sqrt(4 * 5 / (6 * 14)) = 1.25
    assert critical_difference(4, 14, 0.05) == pytest.approx(1.25, abs=5e-3)
    assert critical_difference(4, 14) == pytest.approx(2.569 * np.sqrt(20 / 84), abs=1e-3)


def test_partial_conjunction_on_hand_cases():
    p = [0.3, 0.01, 0.04]
    assert [partial_conjunction(p, u) for u in (1, 2, 3)] == pytest.approx([0.03, 0.08, 0.3])
    assert partial_conjunction(p, 1) == pytest.approx(3 * min(p))  # u = 1: Bonferroni's global null
    assert partial_conjunction(p, 3) == max(p)  # u = n: the conjunction, the largest p
    assert partial_conjunction([0.6, 0.7], 1) == 1.0  # capped
    # (n - u + 1) p_(u) need not grow with u; the count uses the running maximum
    q = [0.02, 0.021, 0.022, 0.5]
    assert [partial_conjunction(q, u) for u in (1, 2, 3)] == pytest.approx([0.08, 0.063, 0.044])
    assert partial_conjunctions(q) == pytest.approx((0.08, 0.08, 0.08, 0.5))
    assert replicated_count(q, 0.1) == 3 and replicated_count(q, 0.05) == 0 and replicated_count(q, 0.5) == 4
    with pytest.raises(ValueError):
        partial_conjunction(p, 0)


def test_one_sided_from_a_two_sided_p():
    assert one_sided(0.04, 0.01) == pytest.approx(0.02) and one_sided(0.04, -0.01) == pytest.approx(0.98)
    assert one_sided(float("nan"), 0.01) == 0.5
    t2 = stats.ttest_ind([3, 4, 5, 6], [1, 2, 3, 4.5])
    t1 = stats.ttest_ind([3, 4, 5, 6], [1, 2, 3, 4.5], alternative="greater")
    assert one_sided(t2.pvalue, 1.0) == pytest.approx(t1.pvalue)


def _records(block: str, system: str, values) -> list[RunRecord]:
    return [RunRecord(f"{block}-{system}-{s}", system, str(s), f"digest-{block}", {"test_macro_f1": v,
                                                                                     "test_accuracy": v})
            for s, v in enumerate(values)]


@pytest.fixture(scope="module")
def reports():
    """Three blocks where a beats b clearly, b and c are close (the same shifts in every block);
    ASO (a slow bootstrap, not read across blocks) is left out."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(frenk_stats, "aso", lambda *args, **kwargs: 0.0)
        return _reports()


def _reports(alpha=0.05):
    base = np.array([0.0, 0.004, -0.003, 0.002, -0.001])
    reports = {}
    for i, block in enumerate(("hr-binary", "sl-binary", "en-binary")):
        level = 0.6 + 0.05 * i
        records = (_records(block, "a", level + 0.08 + base) + _records(block, "b", level + base[::-1])
                   + _records(block, "c", level - 0.002 + np.roll(base, 1)))
        reports[block] = build_report(records, CompareOptions(metrics=("macro_f1",), alpha=alpha / 3))
    return reports


def test_analysis_across_blocks_counts_replication_and_ranks(reports):
    analysis = analyse_blocks(reports, 0.05)
    assert analysis.blocks == ("hr-binary", "sl-binary", "en-binary") and analysis.block_alpha == pytest.approx(0.05 / 3)
    f = analysis.friedman
    assert f is not None and f.average_ranks["a"] == 1.0 and analysis.systems[0] == "a"
    matrix = np.array([[analysis.means[b][s] for s in ("a", "b", "c")] for b in analysis.blocks])
    assert f.statistic == pytest.approx(stats.friedmanchisquare(*matrix.T).statistic)
    assert f.critical_difference == pytest.approx(2.343 * np.sqrt(3 * 4 / 18), abs=1e-3)
    ab = next(r for r in analysis.replications if {r.a, r.b} == {"a", "b"})
    assert (ab.a, ab.better_in, ab.worse_in, ab.replicated) == ("a", 3, 0, 3)
    pab = [next(c for c in reports[b].comparisons if {c.a, c.b} == {"a", "b"}).verdict.p_value for b in analysis.blocks]
    assert ab.p_one_sided == pytest.approx(tuple(p / 2 for p in pab))
    assert ab.partial_conjunction[0] == pytest.approx(3 * min(pab) / 2)
    assert "better in 3 of 3" in ab.text and "at least 3 of 3" in ab.text
    again = BlockAnalysis.from_dict(json.loads(json.dumps(analysis.to_dict())))
    assert again == analysis
    md = to_markdown(analysis, reports)
    assert "Friedman chi-square" in md and "Benjamini & Heller (2008)" in md and "## sl-binary" in md


def _table(reports):
    analysis = analyse_blocks(reports, 0.05)
    assert analysis.friedman is not None
    return reports, block_table(reports, analysis.systems, analysis.friedman.average_ranks, "Rule.")


def test_block_table_has_a_column_group_per_block_and_the_runs_behind_each_cell(reports):
    reports, t = _table(reports)
    md = block_markdown(t)
    assert md.splitlines()[0] == ("| system | hr-binary: macro_f1 | sl-binary: macro_f1 | en-binary: macro_f1 "
                                  "| average rank |")
    assert md.count("\n| ") == len(t.systems)
    saved = json.loads(json.dumps(t.to_dict()))
    assert saved["cells"]["sl-binary"]["a"]["macro_f1"]["runs"] == reports["sl-binary"].runs["a"]
    assert all(t.cells[b]["a"]["macro_f1"].bold for b in t.blocks)
    marks = [c.mark for b in t.blocks for by in t.cells[b].values() for c in by.values() if c.mark]
    assert len(marks) == len(set(marks)) == len(t.footnotes) >= 3  # numbered across the blocks
    assert any(f.startswith(f"{marks[0]}: hr-binary: ") for f in t.footnotes)
    tex = block_latex(t)
    assert tex.count(r"\multicolumn{1}{c}") == 3 and r"\cmidrule(lr){2-2}" in tex and r"\bottomrule" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None and os.environ.get("CI") != "true",
                    reason="no LaTeX installed (apt-get install texlive-latex-recommended; .ci/run does)")
def test_the_block_latex_table_compiles(tmp_path, reports):
    body = block_latex(_table(reports)[1])
    (tmp_path / "t.tex").write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
                                    + body + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
