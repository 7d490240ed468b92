"""One training step (forward, backward, AdamW) of the tiny smoke model (2 layers, 32 wide) at
batch 32, on 1 thread and on every core, at 32 and 128 tokens; with ``--busy N``, N other
processes keep the cores busy meanwhile (as a test suite, a server and a second worker do).
Writes ``bench/results/tiny_threads.{json,md}``.

    python -m bench.tiny_threads [--steps 20] [--busy 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def step_seconds(threads: int, length: int, steps: int) -> float:
    import torch
    from transformers import ElectraConfig, ElectraForSequenceClassification

    torch.manual_seed(0)
    model = ElectraForSequenceClassification(ElectraConfig(
        vocab_size=2000, embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, num_labels=2))
    x, y = torch.randint(0, 2000, (32, length)), torch.randint(0, 2, (32,))
    optimizer = torch.optim.AdamW(model.parameters())
    torch.set_num_threads(threads)
    for _ in range(3):  # warm-up
        model(input_ids=x, labels=y).loss.backward()
    start = time.perf_counter()
    for _ in range(steps):
        model(input_ids=x, labels=y).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "tiny_threads.json"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    for busy in sorted({0, args.busy}):
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(busy)]
        for p in spinners:
            p.start()
        try:
            for length in (32, 128):
                for threads in sorted({1, cores}):
                    rows.append({"busy_processes": busy, "tokens": length, "threads": threads,
                                 "seconds_per_step": step_seconds(threads, length, args.steps)})
        finally:
            stop.set()
            for p in spinners:
                p.join()
    out = Path(args.out)
    out.write_text(json.dumps({"cores": cores, "rows": rows}, indent=2) + "\n")
    lines = [f"# The tiny model's training step on 1 thread and on all {cores} cores", "",
             "Written by `python -m bench.tiny_threads`. Batch 32, AdamW.", "",
             "| other busy processes | tokens | threads | seconds per step |", "|---|---|---|---|"]
    lines += [f"| {r['busy_processes']} | {r['tokens']} | {r['threads']} | {r['seconds_per_step']:.4f} |" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
