"""Seeds at once: the wall time of N seeds trained one after another, of N seeds with
``parallel`` (``auto`` by default: on one GPU, the first seed alone, then as many at once as its
measured peak memory allows), and of one seed alone; with each seed's test macro-F1 both ways
(they should agree up to GPU non-determinism). The target of the performance issue: 5 seeds x 10
epochs in at most 2x the wall of one seed on an H100.

    python -m bench.parallel_seeds --model tiny --seeds 2 --parallel 2       # a dry run on a CPU
    python -m bench.parallel_seeds --model bertic-random --size 9000 --seeds 5 --epochs 10 --lr 1e-5 --batch 74

Writes ``bench/results/parallel_seeds_<model>_<device>.json`` and ``.md``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from .side_by_side import model_source, preset_defaults, sample_data, setup_facts, training_parser, write_results


def _timed(spec, data, settings, seeds: list[int], work: Path, parallel) -> tuple[float, dict[int, float], list]:
    from frenk.training import fit_seeds

    work.mkdir()
    started = time.perf_counter()
    fitted = fit_seeds(spec, data, settings, seeds, work, keep="none", parallel=parallel)
    wall = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    peaks = [r.result.peak_gpu_memory_mb for r in fitted.seeds]
    return round(wall, 2), {r.seed: r.result.evaluation.metrics["test_macro_f1"] for r in fitted.seeds}, peaks


def main(argv=None) -> None:
    from frenk.training import TrainSettings, parse_parallel, resolve

    parser = training_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--parallel", default="auto", help="a number, or auto")
    args = parser.parse_args(argv)
    parallel = parse_parallel(args.parallel)
    epochs, lr = preset_defaults(args)
    seeds = list(range(42, 42 + args.seeds))

    work = Path(tempfile.mkdtemp(prefix="bench-parallel-seeds-"))
    try:
        data = sample_data(args.size, args.lang)
        spec = resolve(model_source(args.model, data, work))
        settings = TrainSettings(epochs=epochs, learning_rate=lr, batch_size=args.batch, max_length=args.max_length)
        one_wall, _, one_peak = _timed(spec, data, settings, seeds[:1], work / "one", 1)
        serial_wall, serial_f1, _ = _timed(spec, data, settings, seeds, work / "serial", 1)
        parallel_wall, parallel_f1, _ = _timed(spec, data, settings, seeds, work / "parallel", parallel)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "setup": setup_facts(args, len(data.splits["train"]), epochs, lr, seeds=args.seeds, parallel=parallel),
        "one_seed_wall": one_wall, "one_seed_peak_gpu_mb": one_peak[0], "serial_wall": serial_wall,
        "parallel_wall": parallel_wall, "parallel_over_one_seed": round(parallel_wall / one_wall, 2),
        "test_macro_f1": {"serial": serial_f1, "parallel": parallel_f1},
        "max_f1_difference": round(max(abs(serial_f1[s] - parallel_f1[s]) for s in seeds), 6),
    }
    write_results("parallel_seeds", args.model, report, _markdown(report))


def _markdown(report: dict) -> str:
    setup = report["setup"]
    return (f"Seeds at once, {setup['model']} on {setup['device']}, {setup['date']}: "
            f"{setup['train_examples']} training comments, {setup['epochs']} epoch(s), batch {setup['batch']}, "
            f"{setup['seeds']} seeds, parallel={setup['parallel']}; "
            f"torch {setup['torch']}, transformers {setup['transformers']}.\n\n"
            "| one seed (s) | seeds one after another (s) | seeds with parallel (s) | parallel / one seed "
            "| max test macro-F1 difference |\n"
            "|---|---|---|---|---|\n"
            f"| {report['one_seed_wall']} | {report['serial_wall']} | {report['parallel_wall']} | "
            f"{report['parallel_over_one_seed']}x | {report['max_f1_difference']} |\n")


if __name__ == "__main__":
    main()
