"""The two-level error-rate bench (bench/twolevel_error_rates.py) at a handful of draws: its
bootstrap is two_level's own, its cells have the structure the results file relies on, and a
clearly better system is called better."""

import numpy as np

from bench import twolevel_error_rates as bench
from frenk.comparison.twolevel import two_level


def test_the_bench_bootstrap_is_two_levels_own():
    labels, pa, pb = bench.replicate(np.random.default_rng(0), "testset", 3)
    d = bench.Boot.diffs(bench.Boot(5, 3, 3, 500).scored(labels, pa, pb), 0.975)
    r = two_level(labels, pa, pb, "macro_f1", confidence=0.975, n_resamples=500, seed=5)
    assert bench.interval(d, 0.975) == (r.ci_low, r.ci_high)


def test_type_i_cell_structure():
    c = bench.type_i_cell("none", 3, 4, n_resamples=250, pool=2)
    assert (c["scenario"], c["seeds"], c["draws"], c["alpha_look"]) == ("none", 3, 4, 0.025)
    for margin in ("margin_0.005", "margin_0"):
        assert sum(c["new"][margin]["calls"].values()) == 4
        better = c["new"][margin]["better"]
        assert 0 <= better["rate"] <= 1 and better["ci95"][0] <= better["rate"] <= better["ci95"][1]
    assert 0 <= c["old_welch"]["better"]["rate"] <= 1
    assert 0 < c["seed_sd"] < 0.1 and 0 < c["run_test_se"] < 0.1


def test_a_clearly_better_system_is_called_better():
    c = bench.type_i_cell("testset", 5, 4, shift=1.5, n_resamples=250, pool=2)
    assert c["new"]["margin_0.005"]["a"]["rate"] == 1.0
    assert c["new"]["margin_0.005"]["calls"]["b"] == 0


def test_stopping_cell_structure():
    s = bench.stopping_cell(2, first=3, second=4, last=5, n_resamples=250, pool=1)
    assert set(s["any_false_better"]) == {"two_looks_halving", "two_looks_constant", "every_seed_halving",
                                          "every_seed_constant"}
    a = s["any_false_better"]
    # the constant alpha spends more at every look than alpha / 2**k: it never finds fewer
    assert a["every_seed_constant"]["hits"] >= a["every_seed_halving"]["hits"]
    assert all(v["draws"] == 2 for v in a.values())


def test_wilson_range():
    low, high = bench.wilson(50, 1000)
    assert low < 0.05 < high and abs((high - low) / 2 - 0.0136) < 0.001
    assert bench.wilson(0, 10)[0] == 0.0
