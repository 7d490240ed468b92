"""Error rates of the two-level decision rule (``frenk.comparison.twolevel``: the two-level
bootstrap interval of mean macro-F1(A) - mean macro-F1(B) at confidence 1 - alpha_k, then
``call`` with a margin; look k at one test set spends alpha_k = alpha / 2**k), beside the old
seed-level rule (Welch's t-test on the runs' macro-F1, p < alpha). Writes
``bench/results/twolevel_error_rates.{json,md}``.

    python -m bench.twolevel_error_rates [--draws 2000] [--stop-draws 1500] [--power-draws 500]
        [--resamples 1000] [--pool 40] [--jobs 2] [--shared-noise --v-sd 0.07 --out FILE.json]

Simulation model. Each replicate draws a test set of m = 470 comments from a population: label
1 with probability 0.35, a difficulty z_i ~ N(0, 1) per comment. System s is correct on comment
i in a run with probability sigmoid(1.6 + 1.2 z_i + u_si + v_run), v_run ~ N(0, sd 0.15) a
per-run (seed) shift; a wrong prediction is the other class. u_si is a per-system per-comment
effect: 0 for both systems in the "no test-set difference" scenario (``none``), independent
N(0, sd 0.8) per system per comment in the "test-set difference" scenario (``testset``): the
systems are equally good over the population but differ by chance on any finite test set, so a
rule that only looks at seed noise calls a "better" system far too often. The power cell shifts
A's u by +0.3 on every comment (A truly better).

In that model every run draws its own correctness on every comment, so two runs of a system
disagree on many comments: the seed sd of macro-F1 comes out at about 0.027, above a run's
test-set SE (0.020), where FRENK's runs have about half the SE. ``--shared-noise --v-sd 0.07``
is the calibrated variant: one uniform per comment, shared by every run of both systems, decides
correctness (correct when it is below the run's probability), so runs differ by their shift v
alone: seed sd 0.011, test-set SE 0.020 (``--out bench/results/twolevel_error_rates_shared.json``).

A false "better" is a call of "a" or "b" when the systems are equally good in the population.

The bootstrap is two_level's own (its ``scores`` and ``seed_means``, the random stream
of ``two_level(..., seed=s)``: the unit test checks the intervals are identical), with fewer
resamples than the default (``--resamples``, 1000 here against 4000) to fit the CPU budget.
Its multinomial comment draws (most of its time) are cached per bootstrap seed: replicate r
uses bootstrap seed r mod ``--pool`` (the data of every replicate are fresh). At look k >= 5 the
interval's tails (alpha / 2**(k+1)) are below 1 / resamples: the interval is then nearly the
range of the resamples, a little wider (more conservative) than with 4000 resamples. Rates
come with a Wilson 95% range.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats as sps
from threadpoolctl import threadpool_limits

from frenk.comparison.twolevel import CHUNK, call, look_alpha, scores, seed_means

RESULTS = Path(__file__).parent / "results"
OUT = RESULTS / "twolevel_error_rates.json"
M, P_POS, INTERCEPT, SLOPE, U_SD, V_SD = 470, 0.35, 1.6, 1.2, 0.8, 0.15
SEED = 20261201


def wilson(hits: int, draws: int) -> list[float]:
    """The Wilson 95% range of a binomial rate."""
    if draws == 0:
        return [0.0, 1.0]
    z, p = 1.96, hits / draws
    centre = (p + z * z / (2 * draws)) / (1 + z * z / draws)
    half = z * math.sqrt(p * (1 - p) / draws + z * z / (4 * draws * draws)) / (1 + z * z / draws)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def rate(hits: int, draws: int) -> dict:
    return {"rate": hits / draws if draws else float("nan"), "hits": int(hits), "draws": draws,
            "ci95": wilson(int(hits), draws)}


def replicate(rng: np.random.Generator, scenario: str, runs: int, shift: float = 0.0, v_sd: float = V_SD,
              shared: bool = False):
    """One test set and ``runs`` runs of each system on it: labels (m,), preds A and B (runs, m).
    ``shared``: one uniform per comment decides every run of both systems (correct when it is
    below the run's probability), so runs differ only by their shift v (the seed sd is then v's
    alone); otherwise every run draws its own (the model of the module docstring)."""
    labels = (rng.random(M) < P_POS).astype(int)
    logit = INTERCEPT + SLOPE * rng.standard_normal(M)
    u = rng.normal(0.0, U_SD, (2, M)) if scenario == "testset" else np.zeros((2, M))
    u[0] += shift
    common = rng.random(M) if shared else None
    preds = []
    for s in range(2):
        v = rng.normal(0.0, v_sd, (runs, 1))
        uniform = common if shared else rng.random((runs, M))
        correct = uniform < 1.0 / (1.0 + np.exp(-(logit + u[s] + v)))
        preds.append(np.where(correct, labels, 1 - labels))
    return labels, preds[0], preds[1]


class Boot:
    """two_level's resamples for bootstrap ``seed`` with n_a and n_b runs (unpaired seeds): the
    multinomial comment weights and run draws of each chunk, drawn once from the same stream."""

    def __init__(self, seed: int, n_a: int, n_b: int, n_resamples: int, m: int = M):
        rng = np.random.default_rng(seed)
        self.chunks = []
        for start in range(0, n_resamples, CHUNK):
            size = min(CHUNK, n_resamples - start)
            weights = rng.multinomial(m, np.full(m, 1 / m), size=size).astype(float)
            draw_a = rng.integers(0, n_a, size=(size, n_a))
            draw_b = rng.integers(0, n_b, size=(size, n_b))
            self.chunks.append((weights, draw_a, draw_b))

    def scored(self, labels, pa, pb, metric: str = "macro_f1") -> list:
        """Every run's ``metric`` in every resample (the costly part), to draw intervals from."""
        return [(scores(labels, pa, w, metric, 2), scores(labels, pb, w, metric, 2), da, db)
                for w, da, db in self.chunks]

    @staticmethod
    def diffs(scored: list, confidence: float) -> np.ndarray:
        """The resampled differences of mean A - B, as two_level draws them for an interval at
        ``confidence`` (the runs' deviations widened by its ``widening``)."""
        return np.concatenate([seed_means(sa, da, confidence) - seed_means(sb, db, confidence)
                               for sa, sb, da, db in scored])

    def run_se(self, labels, preds) -> float:
        """The test-set standard error of one run's macro-F1 (its sd over the first chunk)."""
        return float(scores(labels, preds[:1], self.chunks[0][0], "macro_f1", 2)[:, 0].std(ddof=1))


def interval(d: np.ndarray, confidence: float) -> tuple[float, float]:
    """two_level's percentile interval of the resampled differences ``d``."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(d, [tail, 1 - tail])
    return float(low), float(high)


def false_better(scored: list, alpha: float, margin: float) -> str:
    return call(*interval(Boot.diffs(scored, 1 - alpha), 1 - alpha), margin)


def _key(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _groups(draws: int, pool: int):
    """Replicates grouped by their bootstrap seed (r mod pool), so each Boot is drawn once."""
    for s in range(min(pool, draws)):
        yield s, range(s, draws, pool)


def type_i_cell(scenario: str, n: int, draws: int, *, alpha: float = 0.05, margins=(0.005, 0.0),
                shift: float = 0.0, n_resamples: int = 1000, pool: int = 40, v_sd: float = V_SD,
                shared: bool = False) -> dict:
    """Look 1 (alpha_1 = look_alpha(alpha, 1)) of the new rule with n runs per system, and Welch
    p < alpha on the same runs: how often each calls "a", "b" (and, for the new rule, any)."""
    alpha_1 = look_alpha(alpha, 1)
    counts = {mg: {"a": 0, "b": 0, "equivalent": 0, "undecided": 0} for mg in margins}
    welch = {"a": 0, "b": 0}
    seed_var, run_se = [], []
    for s, reps in _groups(draws, pool):
        boot = Boot(s, n, n, n_resamples)
        for r in reps:
            rng = np.random.default_rng([SEED, _key(scenario, n, shift), r])
            labels, pa, pb = replicate(rng, scenario, n, shift, v_sd, shared)
            low, high = interval(Boot.diffs(boot.scored(labels, pa, pb), 1 - alpha_1), 1 - alpha_1)
            for mg in margins:
                counts[mg][call(low, high, mg)] += 1
            full = np.ones((1, M))
            fa, fb = scores(labels, pa, full, "macro_f1", 2)[0], scores(labels, pb, full, "macro_f1", 2)[0]
            with warnings.catch_warnings():  # identical runs: p is nan, no call
                warnings.simplefilter("ignore", RuntimeWarning)
                p = sps.ttest_ind(fa, fb, equal_var=False).pvalue
            if p < alpha:
                welch["a" if fa.mean() > fb.mean() else "b"] += 1
            seed_var.append(fa.var(ddof=1))
            run_se.append(boot.run_se(labels, pa))
    new = {f"margin_{mg:g}": {"calls": counts[mg], "better": rate(counts[mg]["a"] + counts[mg]["b"], draws),
                              "a": rate(counts[mg]["a"], draws)} for mg in margins}
    old = {"better": rate(welch["a"] + welch["b"], draws), "a": rate(welch["a"], draws)}
    return {"scenario": scenario, "seeds": n, "shift_a": shift, "draws": draws, "alpha_look": alpha_1,
            "n_resamples": n_resamples, "new": new, "old_welch": old,
            "seed_sd": float(math.sqrt(np.mean(seed_var))), "run_test_se": float(np.mean(run_se))}


def _stop_hits(boots: dict, labels, pa, pb, alpha: float, margin: float, first: int, second: int) -> dict:
    """Whether any look of each design calls a false "better" on one replicate."""
    hit = {"two_looks_halving": False, "two_looks_constant": False,
           "every_seed_halving": False, "every_seed_constant": False}
    for n, boot in boots.items():
        d = boot.scored(labels, pa[:n], pb[:n])
        look = n - first + 1
        if false_better(d, look_alpha(alpha, look), margin) in ("a", "b"):
            hit["every_seed_halving"] = True
        constant = false_better(d, alpha, margin) in ("a", "b")
        hit["every_seed_constant"] |= constant
        if n in (first, second):
            hit["two_looks_constant"] |= constant
            two_look = 1 if n == first else 2
            if false_better(d, look_alpha(alpha, two_look), margin) in ("a", "b"):
                hit["two_looks_halving"] = True
    return hit


def stopping_cell(draws: int, *, alpha: float = 0.05, margin: float = 0.005, first: int = 3, second: int = 10,
                  last: int = 20, n_resamples: int = 1000, pool: int = 40, v_sd: float = V_SD,
                  shared: bool = False) -> dict:
    """Optional stopping under the null (test-set difference): (a) looks at ``first`` and
    ``second`` seeds (looks 1 and 2), (b) a look after every seed from ``first`` to ``last``
    (look k at first + k - 1 seeds); alpha / 2**k per look, and a constant alpha for contrast."""
    totals = dict.fromkeys(("two_looks_halving", "two_looks_constant", "every_seed_halving",
                            "every_seed_constant"), 0)
    for s, reps in _groups(draws, pool):
        boots = {n: Boot(s, n, n, n_resamples) for n in range(first, last + 1)}
        for r in reps:
            rng = np.random.default_rng([SEED, _key("stop", first, last), r])
            labels, pa, pb = replicate(rng, "testset", last, 0.0, v_sd, shared)
            for name, h in _stop_hits(boots, labels, pa, pb, alpha, margin, first, second).items():
                totals[name] += h
    return {"scenario": "testset", "margin": margin, "alpha": alpha, "draws": draws, "n_resamples": n_resamples,
            "looks_two": [first, second], "looks_every": [first, last],
            "any_false_better": {k: rate(v, draws) for k, v in totals.items()}}


def _job(spec: tuple) -> dict:
    """One cell in a worker, on one BLAS thread (the small products are 6x slower on two)."""
    kind, kwargs = spec
    with threadpool_limits(limits=1):
        return stopping_cell(**kwargs) if kind == "stop" else type_i_cell(**kwargs)


def _specs(args) -> list[tuple]:
    common = {"alpha": args.alpha, "n_resamples": args.resamples, "pool": args.pool, "v_sd": args.v_sd,
              "shared": args.shared_noise}
    specs = [("stop", {"draws": args.stop_draws, **common})]
    for scenario in ("none", "testset"):
        for n in (3, 5, 10):
            specs.append(("type_i", {"scenario": scenario, "n": n, "draws": args.draws, **common}))
    specs.append(("type_i", {"scenario": "testset", "n": 10, "draws": args.power_draws, "shift": 0.3, **common}))
    return specs


def _fmt(r: dict) -> str:
    return f"{r['rate']:.3f} ({r['ci95'][0]:.3f}-{r['ci95'][1]:.3f})"


def markdown(result: dict) -> str:
    """The table of the results."""
    lines = ["# Two-level rule: error rates", "",
             f"alpha {result['alpha']}, look 1 at alpha/2 = {result['alpha'] / 2}, {result['n_resamples']} "
             f"resamples, Wilson 95% ranges; target: type I <= {result['target']:.2f}. Model: {result['model']}.",
             "",
             "| scenario | seeds | draws | new, margin 0.005 | new, margin 0 | old Welch p<0.05 | seed sd "
             "| run test SE |",
             "|---|---|---|---|---|---|---|---|"]
    for c in result["type_i"]:
        lines.append(f"| {c['scenario']} | {c['seeds']} | {c['draws']} | {_fmt(c['new']['margin_0.005']['better'])} "
                     f"| {_fmt(c['new']['margin_0']['better'])} | {_fmt(c['old_welch']['better'])} "
                     f"| {c['seed_sd']:.4f} | {c['run_test_se']:.4f} |")
    s = result["stopping"]
    lines += ["", f"Optional stopping, test-set difference, margin {s['margin']}, {s['draws']} draws: "
              "share with any false \"better\" over all looks.", "",
              "| looks | alpha / 2**k | constant alpha |", "|---|---|---|"]
    a = s["any_false_better"]
    lines.append(f"| 3 then 10 seeds (2 looks) | {_fmt(a['two_looks_halving'])} | {_fmt(a['two_looks_constant'])} |")
    lines.append(f"| every seed 3..20 (18 looks) | {_fmt(a['every_seed_halving'])} "
                 f"| {_fmt(a['every_seed_constant'])} |")
    p = result["power"]
    lines += ["", f"Power: A better by u + {p['shift_a']} on every comment, {p['seeds']} seeds, {p['draws']} draws: "
              f"share of \"a\" {_fmt(p['new']['margin_0.005']['a'])} (margin 0.005), "
              f"{_fmt(p['new']['margin_0']['a'])} (margin 0); Welch {_fmt(p['old_welch']['a'])}.", "",
              f"Every type I cell of the new rule within target: {result['all_within_target']}. "
              f"Runtime {result['runtime_s']:.0f} s wall."]
    return "\n".join(lines) + "\n"


def _summary(results: list[dict], args, wall: float) -> dict:
    stop, cells, power = results[0], results[1:-1], results[-1]
    target = args.alpha + 0.01
    rates = [c["new"][k]["better"]["rate"] for c in cells for k in c["new"]]
    rates += [v["rate"] for k, v in stop["any_false_better"].items() if k.endswith("halving")]
    return {"rule": "two_level percentile interval at 1 - alpha/2**k, then call(low, high, margin)",
            "alpha": args.alpha, "target": target, "n_resamples": args.resamples, "pool": args.pool,
            "model": {"m": M, "p_positive": P_POS, "intercept": INTERCEPT, "slope": SLOPE, "u_sd": U_SD,
                      "v_sd": args.v_sd, "shared_noise": args.shared_noise},
            "type_i": cells, "stopping": stop, "power": power,
            "max_type_i_new": max(rates), "all_within_target": bool(max(rates) <= target), "runtime_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000, help="replicates per type I cell")
    parser.add_argument("--stop-draws", type=int, default=1500, help="replicates of the optional-stopping cell")
    parser.add_argument("--power-draws", type=int, default=500)
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per interval")
    parser.add_argument("--pool", type=int, default=40, help="bootstrap seeds shared by the replicates")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--v-sd", type=float, default=V_SD, help="sd of the per-run (seed) shift v")
    parser.add_argument("--shared-noise", action="store_true",
                        help="one uniform per comment for every run of both systems (see replicate)")
    parser.add_argument("--out", type=Path, default=OUT, help="the JSON file (the table beside it, .md)")
    args = parser.parse_args()
    start = time.time()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(_job, _specs(args)))
    result = _summary(results, args, time.time() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))  # noqa: T201


if __name__ == "__main__":
    main()
