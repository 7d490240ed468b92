"""Type I error of the comparison across data sets (``compare -P group=<g1>,<g2>,...``,
:mod:`frenk.comparison.blocks`) under the null: systems equal in every block (data set), their
runs differing by seed noise, blocks differing in level. Cells at 3 and 6 blocks, 5 seeds per
system and block:

- the replication count of a pair (Welch's t per block, one-sided p, Bonferroni partial
  conjunction of Benjamini & Heller 2008, each direction at alpha / 2): the share of draws that
  claim "better in at least 1 of n" (any claim is false here);
- the same count under a partial null: A better than B by 5 seed sd in 1 block only, equal in
  the others: the share that claims "at least 2 of n" (false) and "at least 1" (true: power);
- the per-block verdicts at alpha / n (Bonferroni across blocks): the share with any block's
  Welch p < alpha / n;
- Friedman over the 3 systems' per-block means: the share with chi-square p < alpha and with
  the exact (enumerated) p < alpha.

Writes ``bench/results/blocks_error_rates.{json,md}``.

    python -m bench.blocks_error_rates [--draws 4000] [--blocks 3,6] [--alpha 0.05]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from frenk.comparison import stats
from frenk.comparison.blocks import block_friedman, one_sided, replicated_count

OUT = Path(__file__).parent / "results" / "blocks_error_rates.json"
#: the seed sd of test macro-F1 seen on FRENK-hr; blocks differ in level by about 0.05
SD, BLOCK_SD, SEEDS, SYSTEMS = 0.004, 0.05, 5, ("a", "b", "c")


def _wilson(hits: int, n: int) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    p, z = hits / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _draw(n_blocks: int, shift: np.ndarray, rng: np.random.Generator):
    """Scores of three systems in ``n_blocks`` blocks (a shifted by ``shift`` per block)."""
    levels = rng.normal(0.7, BLOCK_SD, n_blocks)
    return [{s: rng.normal(levels[i] + (shift[i] if s == "a" else 0.0), SD, SEEDS) for s in SYSTEMS}
            for i in range(n_blocks)]


def _replicated(blocks, alpha: float) -> int:
    """The replication count of a vs b, in the direction with the smaller partial-conjunction p
    (each direction at alpha / 2), signed: + for a better, - for b better."""
    ps = [stats.welch_t(b["a"], b["b"]).p_value for b in blocks]
    diffs = [float(b["a"].mean() - b["b"].mean()) for b in blocks]
    up = replicated_count([one_sided(p, d) for p, d in zip(ps, diffs, strict=True)], alpha / 2)
    down = replicated_count([one_sided(p, -d) for p, d in zip(ps, diffs, strict=True)], alpha / 2)
    return up if up >= down else -down


def _cell(n_blocks: int, draws: int, alpha: float, rng: np.random.Generator) -> dict:
    null, shift = np.zeros(n_blocks), np.zeros(n_blocks)
    shift[0] = 5 * SD
    claims = verdicts = chi2_hits = exact_hits = exact_done = partial_two = partial_one = 0
    for _ in range(draws):
        blocks = _draw(n_blocks, null, rng)
        claims += _replicated(blocks, alpha) != 0
        verdicts += any(stats.welch_t(b["a"], b["b"]).p_value < alpha / n_blocks for b in blocks)
        means = {f"b{i}": {s: float(b[s].mean()) for s in SYSTEMS} for i, b in enumerate(blocks)}
        f = block_friedman(means, SYSTEMS, "macro_f1", alpha)
        chi2_hits += f.p_value < alpha
        if f.exact_p is not None:
            exact_done += 1
            exact_hits += f.exact_p < alpha
        count = _replicated(_draw(n_blocks, shift, rng), alpha)
        partial_two += count >= 2
        partial_one += count >= 1
    rate = {"replication_claim_any": (claims, draws), "per_block_verdict_any": (verdicts, draws),
            "friedman_chi2": (chi2_hits, draws), "friedman_exact": (exact_hits, exact_done),
            "partial_null_claim_at_least_2": (partial_two, draws),
            "partial_null_power_at_least_1": (partial_one, draws)}
    return {"blocks": n_blocks, "draws": draws,
            **{k: {"rate": h / n if n else None, "ci95": _wilson(h, n), "n": n} for k, (h, n) in rate.items()}}


def _markdown(result: dict) -> str:
    lines = [f"# Comparison across data sets: error rates under the null ({result['draws']} draws per cell, "
             f"alpha {result['alpha']}, {SEEDS} seeds, seed sd {SD}, {result['seconds']:.0f} s)", "",
             "| blocks | replication: any claim (null) | per-block verdicts at alpha/n: any | Friedman chi-square | "
             "Friedman exact | partial null: claims >= 2 (false) | partial null: >= 1 (power) |",
             "|---|---|---|---|---|---|---|"]
    keys = ("replication_claim_any", "per_block_verdict_any", "friedman_chi2", "friedman_exact",
            "partial_null_claim_at_least_2", "partial_null_power_at_least_1")
    for c in result["cells"]:
        row = [f"{c[k]['rate']:.3f} ({c[k]['ci95'][0]:.3f}-{c[k]['ci95'][1]:.3f})" if c[k]["rate"] is not None
               else "n/a" for k in keys]
        lines.append(f"| {c['blocks']} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--blocks", default="3,6")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    rng = np.random.default_rng(22)
    start = time.perf_counter()
    cells = [_cell(int(n), args.draws, args.alpha, rng) for n in args.blocks.split(",")]
    result = {"alpha": args.alpha, "seeds": SEEDS, "seed_sd": SD, "block_sd": BLOCK_SD, "draws": args.draws,
              "seconds": time.perf_counter() - start, "cells": cells}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    OUT.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result))  # noqa: T201


if __name__ == "__main__":
    main()
