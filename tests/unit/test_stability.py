"""Prediction stability (#22 point 4): votes per comment and label, flips across seeds and systems,
on predictions built by hand (every count below is counted by hand), and against a brute-force
count with collections.Counter on random predictions."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from frenk.comparison import ComparisonReport
from frenk.comparison.stability import Stability, comment_table, flips_markdown, stability

IDS = ["c1", "c2", "c3", "c4", "c5"]
GOLD = [0, 1, 1, 0, 1]
NAMES = {0: "Acceptable", 1: "Offensive"}
A = [[0, 1, 0, 0, 1], [0, 1, 1, 0, 1], [0, 0, 1, 1, 1]]  # three seeds
B = [[1, 1, 1, 0, 1], [1, 1, 0, 0, 1]]  # two seeds


def _frame(preds, order=None) -> pd.DataFrame:
    order = order or list(range(len(IDS)))
    return pd.DataFrame({"id": [IDS[i] for i in order], "label": [GOLD[i] for i in order],
                         "pred": [preds[i] for i in order], "pred_name": [NAMES[preds[i]] for i in order]})


def _built() -> dict[str, list[pd.DataFrame]]:
    # the runs list their comments in different orders: they are aligned by id
    return {"a": [_frame(A[0]), _frame(A[1], [4, 3, 2, 1, 0]), _frame(A[2], [2, 0, 4, 1, 3])],
            "b": [_frame(B[0]), _frame(B[1], [1, 0, 3, 2, 4])]}


def test_flip_shares_and_agreements_counted_by_hand():
    s = stability(_built())
    assert s.n_comments == 5 and s.note == "" and s.computed
    # a flips on c2, c3, c4 (3 of 5); agreement 1, 2/3, 2/3, 2/3, 1
    assert (s.systems["a"].runs, s.systems["a"].flip_share) == (3, pytest.approx(3 / 5))
    assert s.systems["a"].mean_agreement == pytest.approx((1 + 2 / 3 * 3 + 1) / 5)
    # b flips on c3 only (one vote each); agreement 1, 1, 1/2, 1, 1
    assert (s.systems["b"].runs, s.systems["b"].flip_share) == (2, pytest.approx(1 / 5))
    assert s.systems["b"].mean_agreement == pytest.approx(4.5 / 5)
    # majorities a: 0 1 1 0 1, b: 1 1 0 (a tie: the smaller code) 0 1 -> they differ on c1 and c3
    assert s.flip_share_across_systems == pytest.approx(2 / 5)
    # every run agrees only on c5
    assert s.flip_share_all_runs == pytest.approx(4 / 5)


def test_the_per_comment_table_counts_each_systems_votes_per_label():
    table = comment_table(_built(), texts={"c3": "a | piped text"}).set_index("id")
    assert list(table.index) == ["c3", "c2", "c4", "c1", "c5"]  # least stable first; ties by id
    assert table.loc["c3", "text"] == "a | piped text" and table.loc["c1", "text"] == ""
    assert (table.loc["c3", "label"], table.loc["c3", "label_name"]) == (1, "Offensive")
    assert (table.loc["c4", "a.votes.Acceptable"], table.loc["c4", "a.votes.Offensive"]) == (2, 1)
    assert (table.loc["c1", "b.votes.Acceptable"], table.loc["c1", "b.votes.Offensive"]) == (0, 2)
    assert table.loc["c3", "b.majority"] == "Acceptable" and table.loc["c3", "b.agreement"] == 0.5
    assert table.loc["c1", "a.correct"] == 1.0 and table.loc["c1", "b.correct"] == 0.0
    assert table.loc["c2", "a.correct"] == pytest.approx(2 / 3)
    assert list(table["flips_across_systems"]) == [True, False, False, True, False]
    assert table.loc["c3", "mean_agreement"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    json.dumps(table.reset_index().to_dict(orient="split"), default=int)  # plain values, loggable


def test_flips_md_lists_the_unstable_comments_with_their_votes():
    built = _built()
    md = flips_markdown(stability(built), comment_table(built, texts={"c3": "a | piped text"}))
    assert "the label flips across seeds on 60.0% of comments for a (3 runs); 20.0% of comments for b (2 runs)" in md
    assert "the systems' majority labels differ on 40.0%, and not every run agrees on 80.0%" in md
    rows = [line for line in md.splitlines() if line.startswith("| c")]
    assert [r.split(" | ")[0] for r in rows] == ["| c3", "| c2", "| c4", "| c1"]  # c5 never flips
    assert rows[0] == "| c3 | a \\| piped text | Offensive | Acceptable 1, Offensive 2 | Acceptable 1, Offensive 1 |"


def test_against_a_brute_force_count_on_random_predictions():
    rng = np.random.default_rng(3)
    for _ in range(20):
        m, k = 30, 3
        gold = rng.integers(0, k, m)
        runs = {s: rng.integers(0, k, (n, m)) for s, n in (("x", 3), ("y", 4), ("z", 1))}
        frames = {s: [pd.DataFrame({"id": range(m), "label": gold, "pred": r}) for r in rs] for s, rs in runs.items()}
        got = stability(frames)
        majorities = []
        for s, rs in runs.items():
            votes = [Counter(rs[:, i]) for i in range(m)]
            top = [max(v.values()) for v in votes]
            flips = sum(t < len(rs) for t in top) / m
            assert (got.systems[s].flip_share == pytest.approx(flips) if len(rs) > 1
                    else math.isnan(got.systems[s].flip_share))
            assert got.systems[s].mean_agreement == pytest.approx(np.mean([t / len(rs) for t in top]))
            majorities.append([min(c for c, n in v.items() if n == max(v.values())) for v in votes])
        assert got.flip_share_across_systems == pytest.approx(np.mean([len(set(col)) > 1 for col in zip(*majorities, strict=True)]))
        pooled = np.concatenate(list(runs.values()))
        assert got.flip_share_all_runs == pytest.approx(np.mean([len(set(pooled[:, i])) > 1 for i in range(m)]))


def test_stability_is_skipped_with_a_note_where_it_cannot_be_counted():
    none = stability({"a": [], "b": []})
    assert not none.computed and "no compared run logged its test predictions" in none.note
    assert comment_table({"a": []}) is None and none.note in flips_markdown(none, None)
    partial = stability({"a": _built()["a"], "b": []})
    assert partial.computed and partial.note == "without predictions, left out: b"
    assert math.isnan(partial.flip_share_across_systems)
    other = _frame(A[0]).assign(label=[1, 1, 1, 0, 1])
    assert "disagree on the gold labels" in stability({"a": [_frame(A[1]), other]}).note
    elsewhere = _frame(A[0]).assign(id=["x1", "x2", "x3", "x4", "x5"])
    assert "share no test comment" in stability({"a": [_frame(A[1]), elsewhere]}).note


def test_the_report_holds_the_flip_shares_and_older_reports_read_without_them():
    s = stability(_built())
    report = ComparisonReport.from_dict({"metrics": ["macro_f1"], "stability": json.loads(json.dumps(s.to_dict()))})
    assert report.stability == s
    assert report.stability.systems["b"].flip_share == pytest.approx(0.2)
    assert ComparisonReport.from_dict({"version": 4}).stability is None  # layout 4 had none
    again = ComparisonReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.stability == s and isinstance(again.stability, Stability)
