"""Listeners: how the tracking layer (or a tuner) follows a training without the training code
knowing about it, in the style of Lightning's loggers and Optuna's callbacks.

A listener may implement any of the hooks; plain callables ``(epoch, metrics)`` are epoch
listeners. An exception raised by a hook stops the training (a pruner uses this).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .result import TrainResult

EpochListener = Callable[[int, dict[str, float]], None]


class TrainListener:
    """Hooks around the seeds of a training; each does nothing unless overridden."""

    def on_seed_start(self, seed: int) -> None:
        """A seed's training starts."""

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Validation metrics after an epoch (``val_loss``, ``val_accuracy``, ``val_macro_f1``, ``train_loss``)."""

    def on_seed_result(self, seed: int, result: TrainResult, keep_weights: bool) -> None:
        """A seed finished training and evaluation; ``keep_weights``: store ``result.model_dir`` now."""

    def on_seed_end(self, seed: int, error: BaseException | None) -> None:
        """A seed ended, successfully (``error`` is None) or not."""


class _EpochRelay(TrainListener):
    def __init__(self, function: EpochListener):
        self.function = function

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.function(epoch, metrics)


def as_listeners(items: Iterable[TrainListener | EpochListener]) -> list[TrainListener]:
    """Listener objects; a plain callable becomes an epoch listener."""
    return [item if isinstance(item, TrainListener) else _EpochRelay(item) for item in items]


def epoch_hooks(listeners: Iterable[TrainListener]) -> list[EpochListener]:
    """The ``on_epoch`` hooks of ``listeners``, as the engine calls them."""
    return [listener.on_epoch for listener in listeners]
