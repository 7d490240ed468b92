"""Type I error of compare's default decision rule (pairing=none: Welch's t-test on every run
of each system, p < alpha) at 3, 5 and 10 seeds, under the null: two systems with equal means
whose runs differ only by seed noise. Writes ``bench/results/verdict_error_rates.json``.

    python -m bench.verdict_error_rates [--draws 2000] [--seeds 3,5,10] [--alpha 0.05]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from frenk.comparison import stats

OUT = Path(__file__).parent / "results" / "verdict_error_rates.json"
#: the seed sd of test macro-F1 seen on FRENK-hr (BERTić ~0.003, crosloengual ~0.004)
SD = 0.004


def _cell(n: int, draws: int, alpha: float, rng: np.random.Generator) -> dict:
    """Share of null draws that the default rule calls significant, with its binomial 95% range."""
    hits = 0
    for _ in range(draws):
        a, b = rng.normal(0.8, SD, n), rng.normal(0.8, SD, n)
        hits += stats.welch_t(a, b).p_value < alpha
    rate = hits / draws
    half = 1.96 * math.sqrt(rate * (1 - rate) / draws)
    return {"seeds": n, "draws": draws, "type_i_error": rate, "ci95": [max(0.0, rate - half), rate + half]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seeds", default="3,5,10")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    rng = np.random.default_rng(20)
    cells = [_cell(int(n), args.draws, args.alpha, rng) for n in args.seeds.split(",")]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"rule": "pairing=none: Welch's t-test, p < alpha", "alpha": args.alpha,
                               "seed_sd": SD, "cells": cells}, indent=2) + "\n")
    for c in cells:
        print(f"{c['seeds']} seeds: type I error {c['type_i_error']:.3f} "  # noqa: T201
              f"(95% {c['ci95'][0]:.3f} to {c['ci95'][1]:.3f}, {c['draws']} draws)")


if __name__ == "__main__":
    main()
