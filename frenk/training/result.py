"""What one training returns, and the metadata file written beside the weights."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.names import META_FILE
from .evaluation import Evaluation

#: probabilities of the reloaded model may differ from the in-process ones by at most this
RELOAD_TOLERANCE = 1e-5


@dataclass
class TrainResult:
    model_dir: Path | None  # None when nothing was saved (a tuning trial)
    evaluation: Evaluation | None  # None when the test split was not evaluated (a tuning trial)
    validation: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    per_device_batch: int = 0
    accumulation_steps: int = 1
    precision: str = "fp32"
    device: str = "cpu"
    peak_gpu_memory_mb: float | None = None
    reload_identical: bool = False
    reload_max_prob_diff: float = 0.0
    train_seconds: float = 0.0
    test_probabilities: np.ndarray | None = field(default=None, repr=False)
    #: what loading the base checkpoint created new or left unused (transformers only)
    load_report: dict[str, list[str]] = field(default_factory=dict)
    #: the training loss as logged, several times an epoch: (optimizer step, mean loss since the last log)
    loss_curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def loss_drop(self) -> float | None:
        """The curve's first value minus its last (<= 0: the loss did not fall); None below two points."""
        return self.loss_curve[0][1] - self.loss_curve[-1][1] if len(self.loss_curve) > 1 else None

    @property
    def test_evaluation(self) -> Evaluation:
        """The test split's evaluation of a final training (a tuning trial has none)."""
        if self.evaluation is None:
            raise ValueError("this training was a tuning trial: the test split was not evaluated")
        return self.evaluation

    @property
    def saved_model_dir(self) -> Path:
        """Where a final training saved the model (a tuning trial saves none)."""
        if self.model_dir is None:
            raise ValueError("this training saved no model (a tuning trial)")
        return self.model_dir

    @property
    def weights_digest(self) -> str | None:
        """SHA-256 of the saved weights (``model.safetensors``), or None when none were saved."""
        return weights_digest(self.model_dir) if self.model_dir else None


def weights_digest(model_dir: Path) -> str | None:
    """SHA-256 of ``model_dir/model.safetensors`` (None for other kinds of model)."""
    import hashlib

    path = Path(model_dir) / "model.safetensors"
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_model_meta(model_dir: Path, kind: str, max_length: int, id2label: dict[int, str]) -> None:
    """``frenk.json`` beside the weights: what a reloading wrapper needs besides them."""
    meta = {"kind": kind, "max_length": max_length, "id2label": {str(k): v for k, v in id2label.items()}}
    (model_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
