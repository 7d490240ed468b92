"""The two sources of randomness of a training and which of them its repeats vary.

Each repeat ``r`` of a training (``r = 0 .. repeats-1``) is known by its seed ``seed + r`` (the
``frenk.seed`` tag, its run's name, its work folder) and trains with two seeds of its own:

* the **init seed**: the model's own randomness (the classification head's initialisation, the tiny
  model's weights, dropout during training; the TF-IDF baseline's ``random_state``);
* the **data seed**: the order in which the training examples are seen (the sampler's shuffle and
  its groups of similar length, reshuffled every epoch).

``vary`` says which of them the repeats change: ``both`` (each repeat ``seed + r`` for both: the one
seed of trainings before the two were separated), ``init`` (the data seed stays ``seed``), ``data``
(the init seed stays ``seed``) or ``cross`` (``repeats = k * k``: every pair of ``k`` init seeds and
``k`` data seeds once, init ``seed + r // k`` and data ``seed + r % k``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..core.choices import VARY
from ..core.errors import ConfigError


class SeedSources(NamedTuple):
    """The seeds of one training: of its initialisation (and dropout) and of its data order."""

    init: int
    data: int


def cross_size(repeats: int) -> int:
    """``k`` of a crossed design of ``repeats = k * k`` runs (k init seeds x k data seeds); a
    :class:`ConfigError` when ``repeats`` is no square of at least 2."""
    k = math.isqrt(max(repeats, 0))
    if k < 2 or k * k != repeats:
        squares = ", ".join(str(n * n) for n in range(2, 6))
        raise ConfigError(f"repeats={repeats} with vary=cross: the crossed design trains every pair of k init seeds "
                          f"and k data seeds once, so repeats must be k * k with k at least 2 ({squares}, ...)")
    return k


def seed_sources(seed: int, repeats: int, vary: str = "both") -> dict[int, SeedSources]:
    """Each repeat's seed (``seed + r``) -> its init and data seeds, for ``vary`` (see the module)."""
    if vary not in VARY:
        raise ConfigError(f"vary={vary!r}: use one of {', '.join(VARY)}")
    k = cross_size(repeats) if vary == "cross" else 0
    out = {}
    for r in range(repeats):
        if vary == "both":
            pair = SeedSources(seed + r, seed + r)
        elif vary == "init":
            pair = SeedSources(seed + r, seed)
        elif vary == "data":
            pair = SeedSources(seed, seed + r)
        else:
            pair = SeedSources(seed + r // k, seed + r % k)
        out[seed + r] = pair
    return out


def check_vary(vary: str, repeats: int, engine: str) -> None:
    """``vary`` is a choice, ``cross`` has a square number of repeats, and only the frenk engine
    varies the two seeds apart."""
    if vary not in VARY:
        raise ConfigError(f"vary={vary!r}: use one of {', '.join(VARY)}")
    if vary == "cross":
        cross_size(repeats)
    if vary != "both" and engine == "simpletransformers":
        raise ConfigError(f"vary={vary}: simpletransformers has one seed (manual_seed) for the "
                          "initialisation and the data order; use engine=frenk to vary them apart")
