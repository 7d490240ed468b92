"""Compare under load: N train runs in one group on a local tracking server with PostgreSQL.

Starts the team stack (``frenk.team.server.team_stack``: a local PostgreSQL cluster in a
temporary folder, or ``FRENK_POSTGRES_URL``, and ``mlflow server`` with served artifacts), creates
N finished train runs directly through the MLflow client (no training: two systems, N/2 seeds
each, the tags and metrics a train run has), then times the compare step over the group: the
search, the statistics, the plots and the logging of its run. Goals: under 5 s for 1,000 runs,
under 30 s for 10,000.

Run (with the package installed, ``pip install -e ".[team]"``): ``python -m bench.compare_load``
(``--runs 1000,10000``). Writes ``bench/results/compare_load.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
from mlflow.entities import Metric, RunTag

from frenk.config import CompareConfig
from frenk.steps import compare
from frenk.team.server import local_postgres, team_stack

GOALS = {1000: 5.0, 10000: 30.0}
RESULTS = Path(__file__).resolve().parent / "results"


def create_runs(client: mlflow.MlflowClient, experiment_id: str, group: str, n: int, threads: int = 8) -> float:
    """``n`` finished train runs (two systems) in ``group``; returns the seconds it took."""
    rng = random.Random(0)
    means = {"tiny": 0.62, "tfidf": 0.66}

    def one(i: int) -> None:
        system = ("tiny", "tfidf")[i % 2]
        tags = {"frenk.step": "train", "frenk.group": group, "frenk.model": system, "frenk.seed": str(i // 2),
                "frenk.lang": "hr", "frenk.labels": "binary", "frenk.data_digest": "bench-digest"}
        run = client.create_run(experiment_id, tags=tags, run_name=f"{system}-hr-s{i // 2}")
        f1 = means[system] + rng.gauss(0, 0.01)
        now = int(time.time() * 1000)
        metrics = [Metric("test_macro_f1", f1, now, 0), Metric("test_accuracy", f1 + 0.05, now, 0),
                   Metric("final_val_macro_f1", f1 + rng.gauss(0, 0.005), now, 0)]
        client.log_batch(run.info.run_id, metrics=metrics, tags=[RunTag("mlflow.runName", run.info.run_name)])
        client.set_terminated(run.info.run_id, "FINISHED")

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - start


def time_compare(group: str) -> tuple[float, float, dict]:
    """Seconds of a bare search of the group, and of the whole compare step."""
    start = time.perf_counter()
    found = mlflow.search_runs(experiment_ids=["0"], filter_string=f"tags.`frenk.group` = '{group}'",
                               output_format="list", max_results=50000)
    search_s = time.perf_counter() - start
    start = time.perf_counter()
    outcome = compare(CompareConfig(group=group))
    compare_s = time.perf_counter() - start
    assert len(found) >= 1 and outcome.report["systems"]
    return search_s, compare_s, outcome.report


def run_bench(sizes: list[int], work: Path) -> dict:
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "mlflow": mlflow.__version__, "sizes": []}
    postgres = local_postgres(work / "pg") if not os.environ.get("FRENK_POSTGRES_URL") else _given()
    with (
        postgres as pg_url,
        team_stack(work / "stack", pg_url, workers=4, db_prefix=f"b{secrets.token_hex(3)}_") as stack,
    ):
        os.environ["MLFLOW_TRACKING_URI"] = stack.url
        mlflow.set_tracking_uri(stack.url)
        client = mlflow.MlflowClient()
        for n in sizes:
            group = f"load-{n}"
            create_s = create_runs(client, "0", group, n)
            search_s, compare_s, report = time_compare(group)
            row = {"runs": n, "create_s": round(create_s, 1), "search_s": round(search_s, 2),
                   "compare_s": round(compare_s, 2), "goal_s": GOALS.get(n),
                   "met": compare_s < GOALS[n] if n in GOALS else None,
                   "systems": report["systems"], "best_system": report.get("best_system")}
            print(json.dumps(row), flush=True)
            results["sizes"].append(row)
        os.environ.pop("MLFLOW_TRACKING_URI")
    return results


class _given:
    def __enter__(self) -> str:
        return os.environ["FRENK_POSTGRES_URL"]

    def __exit__(self, *exc) -> None:
        return None


def write(results: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "compare_load.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# compare over many runs (local mlflow server, PostgreSQL backend)", "",
             f"{results['machine']}, MLflow {results['mlflow']}", "",
             "| runs | creating them (s) | search (s) | compare step (s) | goal (s) | met |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['runs']} | {r['create_s']} | {r['search_s']} | {r['compare_s']} | {r['goal_s']} | {r['met']} |"
              for r in results["sizes"]]
    (RESULTS / "compare_load.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1000,10000", help="comma-separated numbers of runs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="frenk-bench-"))
    work.chmod(0o755)  # the postgres user reaches its cluster folder
    try:
        write(run_bench([int(n) for n in args.runs.split(",")], work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
