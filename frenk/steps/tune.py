"""The tune step (declared in MLproject; not implemented yet)."""

from __future__ import annotations

from ..config import TuneConfig
from ..errors import FrenkError


def tune(cfg: TuneConfig) -> None:
    """Hyperparameter search: declared in MLproject, not implemented yet."""
    raise FrenkError("the tune step is not implemented yet; use the train step with explicit hyperparameters")
