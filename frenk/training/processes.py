"""Seeds trained at once, each in a process of its own: the machinery of ``parallel`` that train's
:func:`~.fit.fit_seeds` and tune's trials share.

A training process trains one seed through :func:`~.fit.fit` and returns its result and its epoch
rows; the parent waits for the seeds in the order it asks for them and replays each one's epoch
rows to its hooks then (so its listeners hear what they would hear had the seed trained here).
``auto``: one after another on a CPU (the cores are shared anyway); on one GPU the first seed
alone, then as many at once as its measured peak memory fits in the free memory, each with the
first seed's per-device batch (:func:`measured_width`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.pool import AsyncResult
from pathlib import Path

from ..core.log import quiet_progress_bars
from ..data import PreparedData
from .listeners import EpochListener
from .memory import accelerator, seeds_at_once
from .presets import ModelSpec
from .result import TrainResult
from .settings import TrainSettings


def measures_first(parallel: int | str) -> bool:
    """Whether ``parallel`` trains the first seed alone to measure what one needs (``auto`` on one GPU)."""
    return parallel == "auto" and accelerator().kind == "cuda" and accelerator().count == 1


def measured_width(settings: TrainSettings, first: TrainResult, remaining: int) -> tuple[TrainSettings, int]:
    """After the first seed on one GPU: the settings of the other seeds (the first one's per-device
    batch, the same plan in every process) and how many of them its measured peak memory fits in
    the free memory at once."""
    settings = replace(settings, device_batch_size=first.per_device_batch)
    return settings, seeds_at_once((first.peak_gpu_memory_mb or 0) * 2**20, accelerator().free_bytes or 0, remaining)


class SeedProcesses:
    """``width`` training processes; leaving the ``with`` block ends them all (a seed still training
    is stopped). Spawned: a clean interpreter (CUDA cannot be used in a forked child)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._jobs: dict[int, AsyncResult] = {}

    def __enter__(self) -> SeedProcesses:
        import multiprocessing
        import os

        threads = max(1, (os.cpu_count() or 1) // self.width)
        self._pool = multiprocessing.get_context("spawn").Pool(self.width, initializer=_quiet_process,
                                                               initargs=(threads,))
        self._pool.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._pool.__exit__(*exc)  # terminates the processes

    def start(self, seed: int, spec: ModelSpec, data: PreparedData, settings: TrainSettings, work: Path,
              final: bool = True) -> None:
        """Queue the training of ``seed`` (with ``settings``, into ``work``, which must exist)."""
        self._jobs[seed] = self._pool.apply_async(_train_in_process, (spec, data, settings, work, final))

    def result(self, seed: int, hooks: Sequence[EpochListener]) -> TrainResult:
        """Wait for ``seed``'s training; send its epoch rows to ``hooks``, in order; its result."""
        result, epochs = self._jobs.pop(seed).get()
        for epoch, metrics in epochs:
            for hook in hooks:
                hook(epoch, metrics)
        return result


def _quiet_process(threads: int) -> None:
    """A training process: its share of the CPU threads, no progress bars (as the step's own)."""
    import torch

    torch.set_num_threads(threads)
    quiet_progress_bars()


def _train_in_process(spec: ModelSpec, data: PreparedData, settings: TrainSettings, work: Path, final: bool):
    """In a training process: train one seed; return its result and its epoch rows."""
    from .fit import fit  # fit's module imports this one

    epochs: list[tuple[int, dict[str, float]]] = []
    result = fit(spec, data, settings, work, [lambda epoch, metrics: epochs.append((epoch, metrics))], final)
    return result, epochs
