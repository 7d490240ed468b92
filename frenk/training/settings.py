"""The hyperparameters of one training, resolved from the preset table and the user's values."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import ConfigError
from .presets import ModelSpec
from .seeds import SeedSources


@dataclass
class TrainSettings:
    epochs: float
    learning_rate: float
    batch_size: int  # effective batch size
    max_length: int = 128
    seed: int = 42
    precision: str = "auto"
    device_batch_size: int = 0  # 0: fit automatically; else an upper bound per device
    eval_batch_size: int = 64
    warmup_ratio: float = 0.0  # share of the optimisation steps with a linearly rising learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    engine: str = "frenk"  # one of ENGINES
    #: batches of comments of similar length (less padding; the quality guard is bench/length_grouping.py);
    #: False: uniformly random batches
    group_by_length: bool = True
    #: the seed of the model's own randomness (head initialisation, dropout) and of the data order
    #: (:mod:`.seeds`); None: ``seed``
    init_seed: int | None = None
    data_seed: int | None = None

    @property
    def sources(self) -> SeedSources:
        """The init and data seeds this training uses."""
        return SeedSources(self.seed if self.init_seed is None else self.init_seed,
                           self.seed if self.data_seed is None else self.data_seed)


def settings_for(spec: ModelSpec, *, epochs: float = 0, learning_rate: float = 0, batch_size: int = 0,
                 **rest) -> TrainSettings:
    """The settings of ``spec``: the given values, and for each that is 0 the preset's value
    (or the common defaults for a model that is no preset). ``rest``: the other fields."""
    default_epochs, default_rate, default_batch = spec.defaults()
    return TrainSettings(epochs=epochs or default_epochs, learning_rate=learning_rate or default_rate,
                         batch_size=batch_size or default_batch, **rest)


def parse_parallel(value: str | int) -> int | str:
    """``parallel``: a whole number of seeds at once (at least 1), or ``auto``."""
    if str(value).strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except ValueError:
        number = 0.5
    if number != int(number) or number < 1:
        raise ConfigError(f"parallel={value!r}: give a whole number of seeds to train at once (1: one after "
                          "another), or auto")
    return int(number)
