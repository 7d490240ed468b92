"""Racing seeds on a real model: tune's bundled 3 x 3 grid of the tiny smoke model (CPU; the same
script on a GPU with ``--model minilm``), raced over 3 seeds against the full grid x 3 seeds, on
the synthetic Croatian sample; trainings spent, wall, and whether both pick the same
configuration. Also the fixed cost of one training: a ``train`` step as a process (start,
imports, store, data, tokenising, prediction passes, logging) against the training itself.
Writes ``bench/results/racing_<model>_<device>.{json,md}``.

    python -m bench.racing_tiny [--model tiny] [--replicates 2] [--sample-size 0]

``--sample-size N`` searches on a synthetic sample of about N training comments (0: the default of
about 1900), to fit a real model's 2 x 27 trainings into a CPU session; the fixed cost is always
measured on the default sample, which the ``train`` step reads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from frenk.data import PreprocessOptions, prepare
from frenk.training import accelerator, fit, resolve, settings_for
from frenk.tuning import SearchPlan, load_space, search

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def one_search(model: str, data, race: bool, replicate: int, folder: Path) -> dict:
    spec = resolve(model)
    plan = SearchPlan(space=load_space("", spec.preset.name if spec.preset else None), seeds=3, race=race,
                      study=f"{model}-{race}-{replicate}", storage=str(folder / f"{race}-{replicate}.journal"),
                      seed=replicate, fixed={"max_length": 64})
    start = time.perf_counter()
    _, result = search(spec, data, plan, folder)
    return {"race": race, "replicate": replicate, "wall_s": time.perf_counter() - start,
            "trainings": result.new_trainings, "best": result.best_params, "best_value": result.best_value,
            "tied": result.tied}


def fixed_cost(model: str, data, folder: Path) -> dict:
    """One seed through the train entry point as a process, and the same training in-process."""
    spec = resolve(model)
    settings = settings_for(spec, max_length=64, seed=42)
    (folder / "fit").mkdir()
    start = time.perf_counter()
    fit(spec, data, settings, folder / "fit")
    in_process = time.perf_counter() - start
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db"}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "entrypoints" / "train.py"), "--model", model, "--data", "sample",
                    "--max-length", "64", "--register", ""], cwd=folder, env=env, check=True, capture_output=True)
    as_step = time.perf_counter() - start
    return {"training_in_process_s": in_process, "train_step_process_s": as_step,
            "fixed_share": 1 - in_process / as_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--sample-size", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    data = prepare(PreprocessOptions(source="sample", sample_size=args.sample_size))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.replicates):
            for race in (True, False):
                rows.append(one_search(args.model, data, race, r, Path(tmp)))
                print(json.dumps(rows[-1]), flush=True)
        cost = fixed_cost(args.model, prepare(PreprocessOptions(source="sample")), Path(tmp))
    device = accelerator().kind
    n_train = len(data.splits["train"])
    out = RESULTS / f"racing_{args.model}_{device}.json"
    out.write_text(json.dumps({"model": args.model, "device": device, "cpu_count": os.cpu_count(),
                               "sample_size": args.sample_size, "training_comments": n_train, "searches": rows,
                               "fixed_cost": cost}, indent=2) + "\n")
    lines = [f"# Racing 3 seeds against the full grid x 3 seeds: {args.model} on {device}", "",
             f"Written by `python -m bench.racing_tiny --model {args.model}"
             + (f" --sample-size {args.sample_size}`" if args.sample_size else "`")
             + f"; the bundled 3 x 3 grid, max_length 64, the synthetic sample ({n_train} training comments).",
             "", "| replicate | method | trainings | wall (s) | best | best mean val macro-F1 |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['replicate']} | {'raced' if row['race'] else 'grid x 3'} | {row['trainings']} | "
                     f"{row['wall_s']:.0f} | {row['best']} | {row['best_value']:.4f} |")
    same = [a["best"] == b["best"] for a, b in zip(rows[::2], rows[1::2], strict=True)]
    lines += ["", f"Same choice in {sum(same)} of {len(same)} replicates.", "",
              f"Fixed cost of one training: the train step as a process took {cost['train_step_process_s']:.1f} s, "
              f"the training in it {cost['training_in_process_s']:.1f} s: {100 * cost['fixed_share']:.0f}% of the "
              "step's wall is fixed (process start, imports, store, data, logging)."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
