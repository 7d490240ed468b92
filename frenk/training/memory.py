"""Memory planning: precision, and the largest per-device batch that fits (with gradient
accumulation making up the effective batch, so the optimisation is the same on every GPU)."""

from __future__ import annotations

import gc
from collections.abc import Callable

from ..errors import ConfigError
from .settings import PRECISIONS


def resolve_precision(precision: str, device: str) -> str:
    """``auto``: bf16 where the GPU has it, else fp16 on a GPU, fp32 on a CPU."""
    import torch

    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and device != "cuda":
        raise ConfigError("precision=fp16 needs a CUDA GPU; use fp32 or bf16 on a CPU")
    return precision


def plan_batches(effective: int, fits: Callable[[int], bool] | None = None, limit: int = 0) -> tuple[int, int]:
    """Return ``(per_device_batch, accumulation_steps)`` with ``per_device * steps == effective``.

    The per-device batch is the largest divisor of ``effective`` that is at most ``limit``
    (when given) and for which ``fits`` (a memory probe) says yes.
    """
    if effective < 1:
        raise ConfigError(f"batch_size={effective}: must be at least 1")
    for size in sorted((d for d in range(1, effective + 1) if effective % d == 0), reverse=True):
        if limit and size > limit:
            continue
        if fits is None or fits(size):
            return size, effective // size
    raise ConfigError(
        "not even a batch of 1 example of max_length tokens fits in GPU memory; lower max_length or use a smaller model"
    )


def gpu_probe(model, max_length: int, precision: str) -> Callable[[int], bool]:
    """A probe that runs forward and backward on a worst-case batch (every example
    ``max_length`` tokens) and leaves room for AdamW's two fp32 states per parameter."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    total = torch.cuda.get_device_properties(0).total_memory
    optimizer_bytes = 2 * 4 * sum(p.numel() for p in model.parameters())
    vocab = model.config.vocab_size

    def fits(size: int) -> bool:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        ok = True
        try:
            ids = torch.randint(5, vocab, (size, max_length), device="cuda")
            with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
                out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.zeros(size, dtype=torch.long, device="cuda"))
            out.loss.backward()
            ok = torch.cuda.max_memory_allocated() + optimizer_bytes < 0.9 * total
        except torch.cuda.OutOfMemoryError:
            ok = False
        finally:
            model.zero_grad(set_to_none=True)
            out = ids = None
            gc.collect()
            torch.cuda.empty_cache()
        return ok

    return fits
