"""Does compare's variance split (``frenk.comparison.variance_split``: two-way crossed random effects,
one run per pair of an init seed and a data seed, method of moments, negative estimates at 0)
recover known init and data variances on average? Writes ``bench/results/variance_split.{json,md}``.

    python -m bench.variance_split [--draws 10000] [--seed 0]

Simulation model: a k x k crossed design (``train -P vary=cross -P repeats=k*k``), score
y[i, j] = 0.80 + I[i] + D[j] + e[i, j] with I ~ N(0, sd_init), D ~ N(0, sd_data) and
e ~ N(0, sd_residual), drawn fresh for every replicate; the estimator is compare's own
(:func:`~frenk.comparison.variance_split.components`). Sds at the scale of FRENK seed spreads
(macro-F1 sd 0.003-0.015). Per cell: the true component, the mean estimate and its bias (absolute
and relative to the truth), the sd of the estimate over replicates, and how often a component was
truncated at 0. Before truncation the estimator is unbiased; the truncation biases a small (or
zero) component upwards, more so with few seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from frenk.comparison.variance_split import PARTS, components

RESULTS = Path(__file__).parent / "results"
OUT = RESULTS / "variance_split.json"

#: (name, sd_init, sd_data, sd_residual)
SCENARIOS = (
    ("init dominates", 0.010, 0.005, 0.003),
    ("equal sources", 0.006, 0.006, 0.003),
    ("no data effect", 0.008, 0.0, 0.004),
)
SIZES = (3, 5)


def _cell(k: int, sds: tuple[float, float, float], draws: int, rng: np.random.Generator) -> dict:
    """One design size and scenario: the estimates' mean, bias, sd and truncations per component."""
    sd_init, sd_data, sd_res = sds
    estimates = np.empty((draws, 3))
    truncated = np.zeros(3)
    for n in range(draws):
        y = (0.80 + rng.normal(0, sd_init, (k, 1)) + rng.normal(0, sd_data, (1, k))
             + rng.normal(0, sd_res, (k, k)))
        split = components(y)
        estimates[n] = (split.init, split.data, split.residual)
        ms_init, ms_data, ms_res = split.mean_squares
        truncated += (ms_init < ms_res, ms_data < ms_res, False)
    out = {}
    for p, (part, sd) in enumerate(zip(PARTS, sds, strict=True)):
        truth, mean = sd**2, float(estimates[:, p].mean())
        out[part] = {"true": truth, "mean_estimate": mean, "bias": mean - truth,
                     "relative_bias": (mean - truth) / truth if truth else None,
                     "sd_of_estimate": float(estimates[:, p].std(ddof=1)), "truncated_share": truncated[p] / draws}
    return out


def _markdown(result: dict) -> str:
    lines = ["# Variance split of a crossed design: bias of the method of moments", "",
             f"{result['draws']} replicates per cell, seed {result['seed']}, {result['seconds']:.1f} s. "
             "Components in metric units squared (x 1e6); relative bias in percent of the truth.", "",
             "| design | scenario | component | true | mean estimate | bias | relative bias | sd of estimate "
             "| truncated at 0 |", "|---|---|---|---|---|---|---|---|---|"]
    for cell in result["cells"]:
        for part in PARTS:
            c = cell[part]
            rel = "n/a" if c["relative_bias"] is None else f"{100 * c['relative_bias']:+.1f}%"
            lines.append(f"| {cell['k']}x{cell['k']} | {cell['scenario']} | {part} | {1e6 * c['true']:.2f} "
                         f"| {1e6 * c['mean_estimate']:.2f} | {1e6 * c['bias']:+.2f} | {rel} "
                         f"| {1e6 * c['sd_of_estimate']:.2f} | {100 * c['truncated_share']:.1f}% |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.time()
    cells = [{"k": k, "scenario": name, "sds": [a, b, c], **_cell(k, (a, b, c), args.draws, rng)}
             for k in SIZES for name, a, b, c in SCENARIOS]
    result = {"draws": args.draws, "seed": args.seed, "seconds": time.time() - start, "cells": cells}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(_markdown(result))


if __name__ == "__main__":
    main()
