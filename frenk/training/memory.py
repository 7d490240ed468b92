"""Memory planning: the accelerator, precision, and the largest per-device batch that fits
(gradient accumulation, and the number of GPUs, make up the effective batch, so the
optimisation is the same on every machine).

Every device query is made in :func:`accelerator`, the one place tests replace."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass

from ..core.choices import PRECISIONS
from ..core.errors import ConfigError

#: share of the free GPU memory a training plan may use
MEMORY_SHARE = 0.9


@dataclass(frozen=True)
class Accelerator:
    kind: str  # "cuda" or "cpu"
    count: int = 0  # GPUs that the Trainer uses (DataParallel when several)
    bf16_native: bool = False  # bf16 in hardware (Ampere and newer), not emulated (V100, T4)
    free_bytes: int | None = None  # free memory of GPU 0 when asked


def accelerator() -> Accelerator:
    """What this process trains on."""
    import torch

    if not torch.cuda.is_available():
        return Accelerator("cpu")
    free, _total = torch.cuda.mem_get_info(0)
    return Accelerator("cuda", torch.cuda.device_count(), torch.cuda.is_bf16_supported(including_emulation=False), free)


def resolve_precision(precision: str, device: Accelerator | str) -> str:
    """``auto``: bf16 where the GPU has it in hardware, else fp16 (with a loss scaler) on a
    GPU, fp32 on a CPU."""
    acc = device if isinstance(device, Accelerator) else Accelerator(device, bf16_native=device == "cuda")
    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if acc.kind == "cuda":
            return "bf16" if acc.bf16_native else "fp16"
        return "fp32"
    if precision == "fp16" and acc.kind != "cuda":
        raise ConfigError("precision=fp16 needs a CUDA GPU; use fp32 or bf16 on a CPU")
    return precision


def plan_batches(effective: int, fits: Callable[[int], bool] | None = None, limit: int = 0,
                 devices: int = 1) -> tuple[int, int]:
    """Return ``(per_device_batch, accumulation_steps)`` with
    ``per_device * steps * devices == effective``.

    The per-device batch is the largest divisor of ``effective / devices`` that is at most
    ``limit`` (when given) and for which ``fits`` (a memory probe) says yes.
    """
    if effective < 1:
        raise ConfigError(f"batch_size={effective}: must be at least 1")
    devices = max(devices, 1)
    if effective % devices:
        raise ConfigError(f"batch_size={effective} cannot be divided among {devices} GPUs; use a multiple of {devices} "
                          "or limit the GPUs with CUDA_VISIBLE_DEVICES")
    share = effective // devices
    for size in sorted((d for d in range(1, share + 1) if share % d == 0), reverse=True):
        if limit and size > limit:
            continue
        if fits is None or fits(size):
            return size, share // size
    raise ConfigError(
        "not even a batch of 1 example of max_length tokens fits in GPU memory; lower max_length or use a smaller model"
    )


def worst_case_step(model, size: int, max_length: int, device: str, dtype=None) -> None:
    """Forward and backward of ``size`` examples of ``max_length`` tokens, in training mode
    (dropout's activations count, as they do in training)."""
    import torch

    model.train()
    ids = torch.randint(5, model.config.vocab_size, (size, max_length), device=device)
    labels = torch.zeros(size, dtype=torch.long, device=device)
    with torch.autocast(device, dtype=dtype or torch.float32, enabled=dtype is not None):
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    out.loss.backward()


def fits_in_memory(peak_bytes: int, baseline_bytes: int, optimizer_bytes: int, free_bytes: int) -> bool:
    """Whether a step that peaked at ``peak_bytes`` (``baseline_bytes`` of it allocated before
    the step, the model) plus AdamW's state leaves the margin of the memory that was free."""
    return (peak_bytes - baseline_bytes) + optimizer_bytes < MEMORY_SHARE * free_bytes


def gpu_probe(model, max_length: int, precision: str, free_bytes: int) -> Callable[[int], bool]:
    """A probe that runs a worst-case training step (every example ``max_length`` tokens) and
    leaves room for AdamW's two fp32 states per parameter, within the memory that was free
    when the model was on the GPU (``free_bytes``), not the card's total."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    optimizer_bytes = 2 * 4 * sum(p.numel() for p in model.parameters())

    def fits(size: int) -> bool:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        try:
            worst_case_step(model, size, max_length, "cuda", dtype)
            return fits_in_memory(torch.cuda.max_memory_allocated(), baseline, optimizer_bytes, free_bytes)
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            model.zero_grad(set_to_none=True)
            gc.collect()
            torch.cuda.empty_cache()

    return fits


#: what each further training process costs on a GPU besides its tensors: the CUDA context,
#: cuBLAS workspaces and the caching allocator's slack
PROCESS_OVERHEAD_BYTES = 1 << 30


def seeds_at_once(peak_bytes: float, free_bytes: int, pending: int) -> int:
    """How many seeds can train at once on one GPU: as many processes as fit in ``MEMORY_SHARE``
    of the free memory, each needing a seed's measured peak (``peak_bytes``, which includes the
    memory probe's worst-case step) plus :data:`PROCESS_OVERHEAD_BYTES`; at least 1, at most
    ``pending``."""
    per_seed = peak_bytes + PROCESS_OVERHEAD_BYTES
    return max(1, min(pending, int(free_bytes * MEMORY_SHARE // per_seed)))
