"""GPU memory and batch planning of the train engine (needs a CUDA GPU; no MLflow, no network).

Measures, on a randomly initialised base-size ELECTRA (BERTić's architecture: 12 layers,
hidden 768) with a tokenizer trained on the synthetic sample:

1. peak memory of one forward+backward pass per example at 128 vs 512 tokens, fp32 vs bf16
   (the two causes of the out-of-memory failures at batch size 4 that this project replaces);
2. what ``plan_batches`` picks for a large effective batch at 512 tokens (per-device batch and
   gradient accumulation), and that training with that plan runs;
3. a normal run (precision=auto, max_length=128, batch 32): resolved precision, peak memory,
   time, and the strict reload check.

Writes JSON to ``$OUT/gpu_memory.json`` (or ``bench/results/`` when OUT is unset).
Run (with the package installed, ``pip install -e .``): ``python -m bench.gpu_memory``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import torch

from frenk.data import PreprocessOptions, prepare, scheme
from frenk.training import (
    TrainSettings,
    accelerator,
    build_tiny,
    gpu_probe,
    load_classifier,
    plan_batches,
    train_transformer,
)

BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)


def per_example_peak(model, length: int, precision: str, batch: int = 8) -> float:
    dtype = {"bf16": torch.bfloat16}.get(precision)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    ids = torch.randint(5, model.config.vocab_size, (batch, length), device="cuda")
    with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
        labels = torch.zeros(batch, dtype=torch.long, device="cuda")
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    out.loss.backward()
    peak = torch.cuda.max_memory_allocated() - before
    model.zero_grad(set_to_none=True)
    del out, ids
    torch.cuda.empty_cache()
    return peak / batch / 2**20


def main() -> None:
    assert torch.cuda.is_available(), "this benchmark needs a CUDA GPU"
    results: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                     "total_memory_gib": torch.cuda.get_device_properties(0).total_memory / 2**30}
    data = prepare(PreprocessOptions(source="sample"))
    work = Path(tempfile.mkdtemp())
    source = build_tiny(data.splits["train"]["text"].tolist(), scheme("binary").id2label, work / "base",
                        seed=0, vocab_size=8000, **BASE)
    model = load_classifier(str(source), id2label=scheme("binary").id2label, fine_tuned=False).cuda()
    results["parameters_m"] = sum(p.numel() for p in model.parameters()) / 1e6
    results["activation_mib_per_example"] = {
        f"{precision}@{length}": round(per_example_peak(model, length, precision), 1)
        for precision in ("fp32", "bf16") for length in (128, 512)
    }
    probe = gpu_probe(model, 512, "fp32", accelerator().free_bytes)

    t = time.perf_counter()
    plan = plan_batches(4096, probe)
    results["plan_fp32_512_effective_4096"] = dict(zip(("per_device", "accumulation"), plan, strict=True))
    results["plan_seconds"] = round(time.perf_counter() - t, 1)
    del model, probe
    torch.cuda.empty_cache()

    runs = {}
    for name, settings in {
        "auto_128_b32": TrainSettings(epochs=1, learning_rate=5e-5, batch_size=32),
        "fp32_512_b1024": TrainSettings(epochs=1, learning_rate=5e-5, batch_size=1024, max_length=512,
                                        precision="fp32"),
    }.items():
        run_dir = work / name
        run_dir.mkdir()
        t = time.perf_counter()
        r = train_transformer(str(source), data, settings, run_dir)
        runs[name] = {
            "precision": r.precision, "per_device_batch": r.per_device_batch,
            "accumulation_steps": r.accumulation_steps,
            "peak_gpu_memory_mib": round(r.peak_gpu_memory_mb, 1), "seconds": round(time.perf_counter() - t, 1),
            "reload_identical": r.reload_identical, "reload_max_prob_diff": r.reload_max_prob_diff,
            "test_macro_f1": round(r.evaluation.metrics["test_macro_f1"], 4),
            "files_left": sorted(p.name for p in run_dir.rglob("*") if p.is_file()),
        }
        print(name, runs[name], flush=True)
    results["runs"] = runs
    out = Path(os.environ.get("OUT") or Path(__file__).parent / "results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_memory.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
