"""The variance split of a crossed design (init seeds x data seeds): known answers by hand, the
mean squares of statsmodels' ANOVA, which runs make the crossing, and the report's field."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from frenk.comparison import CompareOptions, ComparisonReport, RunRecord, build_report, render_markdown
from frenk.comparison.variance_split import VarianceSplit, components, crossed_table, mean_squares, variance_split


def test_an_additive_table_by_hand():
    # rows (init) 0.5 and 2.5 around 1.5, columns (data) 1 and 2: MS_init = 2 * (1 + 1) / 1 = 4,
    # MS_data = 2 * (0.25 + 0.25) = 1, no residual; var_init = 4 / 2, var_data = 1 / 2
    split = components(np.array([[0.0, 1.0], [2.0, 3.0]]), "macro_f1")
    assert split.mean_squares == pytest.approx((4.0, 1.0, 0.0), abs=1e-12)
    assert (split.init, split.data, split.residual) == pytest.approx((2.0, 0.5, 0.0), abs=1e-12)
    assert split.share("init") == pytest.approx(0.8) and split.share("data") == pytest.approx(0.2)
    assert (split.n_init, split.n_data, split.metric) == (2, 2, "macro_f1")


def test_a_pure_interaction_and_a_truncated_estimate_by_hand():
    # [[0, 0], [0, 4]]: MS_init = MS_data = MS_residual = 4, so both sources 0, the residual 4
    split = components(np.array([[0.0, 0.0], [0.0, 4.0]]))
    assert (split.init, split.data, split.residual) == pytest.approx((0.0, 0.0, 4.0))
    # [[0, 1], [1, 0]]: MS_init = MS_data = 0 < MS_residual = 1: (0 - 1) / 2 truncated at 0
    split = components(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert split.mean_squares == pytest.approx((0.0, 0.0, 1.0))
    assert (split.init, split.data, split.residual, split.share("residual")) == (0.0, 0.0, 1.0, 1.0)


def test_no_spread_splits_into_zeros():
    split = components(np.full((3, 3), 0.7) + np.array([0, 1e-17, 0]))
    assert (split.init, split.data, split.residual) == (0.0, 0.0, 0.0) and math.isnan(split.share("init"))
    with pytest.raises(ValueError, match="2 init seeds x 2 data seeds"):
        components(np.ones((1, 3)))


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (5, 5)])
def test_the_mean_squares_are_statsmodels_anova(shape):
    pandas = pytest.importorskip("pandas")
    smf = pytest.importorskip("statsmodels.formula.api")
    anova_lm = pytest.importorskip("statsmodels.stats.anova").anova_lm
    rng = np.random.default_rng(sum(shape))
    a, b = shape
    y = 0.8 + rng.normal(0, 0.02, (a, 1)) + rng.normal(0, 0.01, (1, b)) + rng.normal(0, 0.005, (a, b))
    frame = pandas.DataFrame({"y": y.ravel(), "init": np.repeat(range(a), b), "data": np.tile(range(b), a)})
    table = anova_lm(smf.ols("y ~ C(init) + C(data)", frame).fit(), typ=2)
    ms = table["sum_sq"] / table["df"]
    ms_init, ms_data, ms_res = ms["C(init)"], ms["C(data)"], ms["Residual"]
    split = components(y)
    assert split.mean_squares == pytest.approx((ms_init, ms_data, ms_res), rel=1e-9)
    assert split.init == pytest.approx(max(0.0, (ms_init - ms_res) / b), rel=1e-9, abs=1e-15)
    assert split.data == pytest.approx(max(0.0, (ms_data - ms_res) / a), rel=1e-9, abs=1e-15)
    assert split.residual == pytest.approx(ms_res, rel=1e-9)
    assert mean_squares(y) == split.mean_squares


def _scores(cells):
    return {(str(i), str(d)): [v] for (i, d), v in cells.items()}


def test_the_crossing_is_found_among_other_runs():
    grid = {(i, d): 0.8 + 0.01 * i + 0.001 * d for i in (42, 43, 44) for d in (42, 43, 44)}
    diagonal = {(s, s): 0.8 for s in range(45, 52)}  # vary=both runs of the same system: no partners
    inits, datas, table = crossed_table(_scores({**grid, **diagonal}))
    assert inits == ["42", "43", "44"] and datas == ["42", "43", "44"] and table.shape == (3, 3)
    assert table[1, 2] == pytest.approx(0.8 + 0.43 + 0.044)


def test_no_crossing_no_split():
    assert variance_split(_scores({(s, s): 0.8 for s in range(5)}), "m") is None  # vary=both
    assert variance_split(_scores({(s, 42): 0.8 + s / 1e3 for s in range(5)}), "m") is None  # vary=init
    plus = {**{(s, 42): 0.8 for s in range(42, 46)}, **{(42, s): 0.8 for s in range(42, 46)}}
    assert variance_split(_scores(plus), "m") is None  # vary=init and vary=data runs: no cell off the cross
    missing = {(i, d): 0.8 + i / 1e3 for i in range(3) for d in range(3) if (i, d) != (2, 2)}
    assert variance_split(_scores(missing), "m") is None  # every combination must be there
    twice = _scores({(i, d): 0.8 + i / 1e3 for i in range(2) for d in range(2)})
    twice[("0", "0")].append(0.7)  # the same seeds on other data
    assert variance_split(twice, "m") is None


def _records(system, values, sources, digest="d1"):
    """Runs of repeats seed 42 + n (frenk.seed) with the given (init seed, data seed)."""
    return [RunRecord(f"{system}-{n}", system, str(42 + n), digest, {"test_macro_f1": v, "test_accuracy": v},
                      start_time=n, init_seed=str(i), data_seed=str(d))
            for n, (v, (i, d)) in enumerate(zip(values, sources, strict=True))]


def test_the_report_carries_the_split_and_older_reports_load_without_it():
    cross = [(42 + r // 2, 42 + r % 2) for r in range(4)]
    records = (_records("tiny", [0.80, 0.81, 0.84, 0.86], cross)
               + _records("tfidf", [0.7, 0.71, 0.69, 0.7], [(42 + r, 42 + r) for r in range(4)]))
    report = build_report(records, CompareOptions(metrics=("macro_f1",), pairing="seed"))
    assert set(report.variance_splits) == {"tiny"}  # tfidf's runs do not cross the two seeds
    split = report.variance_splits["tiny"]
    assert split == components(np.array([[0.80, 0.81], [0.84, 0.86]]), "macro_f1")
    assert "- tiny (2 init seeds x 2 data seeds, macro_f1): variance" in render_markdown(report)
    saved = json.loads(json.dumps(report.to_dict()))
    assert ComparisonReport.from_dict(saved).variance_splits == {"tiny": split}
    del saved["variance_splits"]
    assert ComparisonReport.from_dict(saved).variance_splits == {}
    assert VarianceSplit.from_dict({}).n_init == 0


def test_pairing_by_seed_pairs_the_same_init_and_data_seed():
    """A vary=init run (seed 43: init 43, data 42) pairs with the same pair of seeds, never with an
    older run of seed 43 (which used 43 for both); older runs pair among themselves by frenk.seed."""
    new = _records("a", [0.80, 0.81, 0.82], [(42, 42), (43, 42), (44, 42)])
    old = [RunRecord(f"b-{s}", "b", str(s), "d1", {"test_macro_f1": 0.7 + s / 1e3}) for s in (42, 43, 44)]
    same = _records("c", [0.70, 0.72, 0.71], [(42, 42), (43, 42), (44, 42)])
    report = build_report(new + old + same, CompareOptions(metrics=("macro_f1",), pairing="seed"))
    pairs = {(c.a, c.b): c for c in report.comparisons}
    with_old = pairs.get(("a", "b")) or pairs[("b", "a")]
    assert not with_old.paired  # only seed 42 (init 42, data 42) is common: fewer than 2 pairs
    with_same = pairs.get(("a", "c")) or pairs[("c", "a")]
    assert with_same.paired and with_same.n_a == 3
