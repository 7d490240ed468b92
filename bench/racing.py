"""Racing seeds in a search against the full grid x seeds and against one seed per configuration,
on the known-truth learner (:mod:`bench.known_truth`): each of the 3 x 3 grid's configurations
has a fixed validation macro-F1 and every (configuration, seed) adds noise of sd ``--sd``. Each
replicate runs three studies through frenk's own search loop (grid sampler, budget, racing):

* ``one seed``: ``seeds=1``, as tuning was before (the best trial is the luckiest seed);
* ``grid x 3``: ``seeds=3, race=false``, every configuration on every seed (27 trainings);
* ``raced``: ``seeds=3``, racing at ``--alpha`` (frenk's rule: frenk/tuning/racing.py).

Reported per method and noise level: how often it picks the truly best configuration, the mean
trainings spent (and their share of grid x 3's), and how often racing picks what grid x 3 picks.
Writes ``bench/results/racing_known_truth.{json,md}``.

    python -m bench.racing [--replicates 300] [--sd 0.01 0.02 0.03] [--alpha 0.05]

The scenario (``known_truth.graded``): the configurations trail the best by 0, 0.015, 0.02, 0.03,
0.05, 0.07, 0.10, 0.14 and 0.20 macro-F1 (a few close, most clearly worse), placed on the grid in
an order drawn afresh per replicate; the grid sampler visits them in its own random order.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import optuna

from bench.known_truth import GRID_YAML, KNOWN_TRUTH, graded, use
from frenk.core.choices import RACE_ALPHA
from frenk.data import PreprocessOptions, prepare
from frenk.training import resolve
from frenk.tuning import SearchPlan, parse_space, search

RESULTS = Path(__file__).parent / "results"
METHODS = {"one seed": (1, True), "grid x 3": (3, False), "raced": (3, True)}


def one_study(data, seeds: int, race: bool, sd: float, replicate: int, alpha: float, folder: Path) -> dict:
    truth = use(graded(sd=sd, replicate=replicate, seed=replicate))
    name = f"r{replicate}-{seeds}-{race}"
    plan = SearchPlan(space=parse_space(GRID_YAML), seeds=seeds, race=race, race_alpha=alpha, study=name,
                      storage=str(folder / f"{name}.journal"), seed=replicate)
    _, result = search(resolve(KNOWN_TRUTH), data, plan, folder)
    picked = (float(result.best_params["learning_rate"]), int(result.best_params["epochs"]))
    return {"picked": picked, "right": picked == truth.best, "trainings": len(truth.trained),
            "regret": truth.quality[truth.best] - truth.quality[picked]}


def cell(data, sd: float, replicates: int, alpha: float) -> dict:
    rows: dict[str, list[dict]] = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(replicates):
            for method, (seeds, race) in METHODS.items():
                rows[method].append(one_study(data, seeds, race, sd, r, alpha, Path(tmp)))
    full = np.mean([x["trainings"] for x in rows["grid x 3"]])
    out: dict = {"sd": sd, "replicates": replicates, "alpha": alpha}
    for method, found in rows.items():
        trainings = float(np.mean([x["trainings"] for x in found]))
        out[method] = {"picks_best": float(np.mean([x["right"] for x in found])),
                       "mean_regret": float(np.mean([x["regret"] for x in found])),
                       "trainings": trainings, "share_of_grid_x_3": trainings / full}
    out["raced picks what grid x 3 picks"] = float(np.mean(
        [a["picked"] == b["picked"] for a, b in zip(rows["raced"], rows["grid x 3"], strict=True)]))
    return out


def markdown(cells: list[dict]) -> str:
    lines = ["# Racing seeds against grid x 3 seeds and one seed (known-truth learner, 3 x 3 grid)", "",
             "Written by `python -m bench.racing`. Gaps to the best: 0, .015, .02, .03, .05, .07, .10, .14, .20.", "",
             "| seed sd | method | picks the best | mean regret | trainings | share of grid x 3 |",
             "|---|---|---|---|---|---|"]
    for c in cells:
        for method in METHODS:
            m = c[method]
            lines.append(f"| {c['sd']} | {method} | {m['picks_best']:.2f} | {m['mean_regret']:.4f} | "
                         f"{m['trainings']:.1f} | {m['share_of_grid_x_3']:.2f} |")
    lines += ["", "| seed sd | raced picks what grid x 3 picks | replicates | alpha |", "|---|---|---|---|"]
    lines += [f"| {c['sd']} | {c['raced picks what grid x 3 picks']:.2f} | {c['replicates']} | {c['alpha']} |"
              for c in cells]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=300)
    parser.add_argument("--sd", type=float, nargs="+", default=[0.01, 0.02, 0.03])
    parser.add_argument("--alpha", type=float, default=RACE_ALPHA)
    parser.add_argument("--out", default=str(RESULTS / "racing_known_truth.json"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("frenk").setLevel(logging.WARNING)
    data = prepare(PreprocessOptions(source="sample"))
    cells = [cell(data, sd, args.replicates, args.alpha) for sd in args.sd]
    out = Path(args.out)
    out.write_text(json.dumps(cells, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(cells))
    print(markdown(cells))


if __name__ == "__main__":
    main()
