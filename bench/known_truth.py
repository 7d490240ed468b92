"""A model kind of known truth, for tests and benchmarks of tuning: its validation macro-F1 is a
fixed quality per configuration (learning rate x epochs) plus seed noise of a chosen sd, drawn
afresh for each (configuration, seed, replicate). It trains nothing, in microseconds, so that a
whole study runs through frenk's real search loop (the grid sampler, the budget, racing).

    from bench.known_truth import KNOWN_TRUTH, Truth, use
    use(Truth(quality={(1e-5, 1): 0.70, ...}, sd=0.02, replicate=0))   # registers the kind
    search(resolve(KNOWN_TRUTH), data, plan, work_root)

Registering adds one :class:`~frenk.training.kinds.ModelKind` and one preset of that name to
frenk's registries (only in the process that imports this module: it is never a user's model).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from frenk.core.names import Metric
from frenk.training import kinds, presets
from frenk.training.result import TrainResult

KNOWN_TRUTH = "known-truth"
#: the grid of the benchmark: the learning rates and epochs of the bundled 3 x 3 spaces
LEARNING_RATES = (1e-5, 2e-5, 4e-5)
EPOCHS = (1, 2, 3)
GRID_YAML = "learning_rate: [1.0e-5, 2.0e-5, 4.0e-5]\nepochs: [1, 2, 3]\n"


@dataclass
class Truth:
    """Quality per (learning_rate, epochs), the seed sd, and the replicate (a fresh noise draw)."""

    quality: dict[tuple[float, int], float]
    sd: float
    replicate: int = 0
    #: the trainings asked for so far, as (learning_rate, epochs, seed)
    trained: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def best(self) -> tuple[float, int]:
        return max(self.quality, key=lambda c: self.quality[c])

    def noise(self, learning_rate: float, epochs: int, seed: int) -> float:
        key = f"{learning_rate!r}|{epochs}|{seed}|{self.replicate}".encode()
        stream = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
        return float(np.random.default_rng(stream).normal(0.0, self.sd))


_TRUTH: list[Truth] = []


def _learn(spec, data, settings, work_dir, listeners, final) -> TrainResult:
    truth = _TRUTH[-1]
    config = (float(settings.learning_rate), int(settings.epochs))
    truth.trained.append((*config, settings.seed))
    value = truth.quality[config] + truth.noise(*config, settings.seed)
    return TrainResult(model_dir=None, evaluation=None, validation={Metric.VAL_MACRO_F1: value})


def use(truth: Truth) -> Truth:
    """Make ``model=known-truth`` train with this truth (registering the kind once)."""
    if KNOWN_TRUTH not in kinds.KINDS:
        kinds.KINDS[KNOWN_TRUTH] = kinds.ModelKind(KNOWN_TRUTH, _learn, has_base_model=False, exportable=False,
                                                   title="the known-truth learner")
        presets.PRESETS[KNOWN_TRUTH] = presets.Preset(KNOWN_TRUTH, None, KNOWN_TRUTH, ("hr", "sl", "en"), 1, 2e-5,
                                                      32, "bench/known_truth.py")
    _TRUTH.append(truth)
    return truth


def forget() -> None:
    """Remove the kind and its preset again (a test's teardown: other tests list every preset)."""
    kinds.KINDS.pop(KNOWN_TRUTH, None)
    presets.PRESETS.pop(KNOWN_TRUTH, None)
    _TRUTH.clear()


def graded(best: float = 0.78, gaps: tuple[float, ...] = (0.0, 0.015, 0.02, 0.03, 0.05, 0.07, 0.10, 0.14, 0.20),
           sd: float = 0.02, replicate: int = 0, seed: int = 0) -> Truth:
    """A grid whose nine configurations trail the best by ``gaps`` (macro-F1), placed on the grid in
    an order drawn with ``seed``: a few close to the best, most clearly worse, as in a real grid."""
    configs = [(lr, ep) for lr in LEARNING_RATES for ep in EPOCHS]
    order = np.random.default_rng(seed).permutation(len(configs))
    return Truth({configs[i]: best - gap for i, gap in zip(order, gaps, strict=True)}, sd, replicate)
