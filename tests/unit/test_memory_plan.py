"""GPU planning decisions, tested on the CPU with the device described by hand (every device
query is made in frenk.training.memory.accelerator, which these tests do not call)."""

from __future__ import annotations

import pytest

from frenk.core.errors import ConfigError
from frenk.training import Accelerator, load_classifier, plan_batches, resolve_precision
from frenk.training.memory import MEMORY_SHARE, fits_in_memory, worst_case_step

AMPERE = Accelerator("cuda", count=1, bf16_native=True, free_bytes=40 * 2**30)
V100 = Accelerator("cuda", count=1, bf16_native=False, free_bytes=30 * 2**30)  # bf16 only emulated


def test_auto_precision_uses_bf16_only_where_the_hardware_has_it():
    assert resolve_precision("auto", AMPERE) == "bf16"
    assert resolve_precision("auto", V100) == "fp16"  # emulated bf16 is slow: fp16 with a loss scaler
    assert resolve_precision("auto", Accelerator("cpu")) == "fp32"
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        resolve_precision("fp16", Accelerator("cpu"))


def test_several_gpus_keep_the_effective_batch():
    per_device, steps = plan_batches(32, devices=4)
    assert (per_device, steps) == (8, 1) and per_device * steps * 4 == 32
    per_device, steps = plan_batches(96, fits=lambda size: size <= 6, devices=4)
    assert per_device * steps * 4 == 96 and per_device <= 6
    with pytest.raises(ConfigError, match="cannot be divided among 3 GPUs"):
        plan_batches(32, devices=3)


def test_the_budget_is_the_free_memory_not_the_total():
    gib = 2**30
    # a step needing 5 GiB above the model plus 2 GiB of optimizer state, with 8 GiB free: fits
    assert fits_in_memory(peak_bytes=6 * gib, baseline_bytes=1 * gib, optimizer_bytes=2 * gib, free_bytes=8 * gib)
    # the same step when another process holds most of the card: only 6 GiB free
    assert not fits_in_memory(peak_bytes=6 * gib, baseline_bytes=1 * gib, optimizer_bytes=2 * gib, free_bytes=6 * gib)
    assert MEMORY_SHARE < 1


def test_the_probe_step_runs_in_training_mode(tiny_models):
    model = load_classifier(str(tiny_models["electra"]), fine_tuned=True)
    model.eval()
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append(module.training))
    worst_case_step(model, size=2, max_length=16, device="cpu")
    assert seen == [True]  # dropout active, as in training
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_seeds_at_once_fit_the_free_memory_with_each_process_overhead():
    from frenk.training.memory import MEMORY_SHARE, PROCESS_OVERHEAD_BYTES, seeds_at_once

    gib = 2**30
    # 139 GiB free, 5 GiB peak per seed + 1 GiB per process: 0.9 * 139 // 6 = 20 at most, 9 pending
    assert seeds_at_once(5 * gib, 139 * gib, 9) == 9
    assert seeds_at_once(5 * gib, 139 * gib, 40) == int(MEMORY_SHARE * 139 * gib // (5 * gib + PROCESS_OVERHEAD_BYTES)) == 20
    assert seeds_at_once(30 * gib, 40 * gib, 4) == 1  # one does not fit twice: one after another
    assert seeds_at_once(0, 0, 3) == 1


@pytest.mark.parametrize("value, parsed", [("1", 1), ("3", 3), ("2.0", 2), (4, 4), ("auto", "auto"), ("AUTO", "auto")])
def test_parallel_accepts_a_whole_number_or_auto(value, parsed):
    from frenk.training import parse_parallel

    assert parse_parallel(value) == parsed


@pytest.mark.parametrize("step", ["train", "tune"])
@pytest.mark.parametrize("value", ["0", "1.5", "-2", "many", ""])
def test_parallel_refuses_anything_else_with_what_to_give(value, step):
    from frenk.config import TrainConfig, TuneConfig

    with pytest.raises(ConfigError, match="whole number of seeds to train at once"):
        {"train": TrainConfig, "tune": TuneConfig}[step](model="tiny", parallel=value)
    assert TuneConfig(model="tiny", parallel="AUTO").parallel == "auto" and TuneConfig(model="tiny").parallel == "1"
