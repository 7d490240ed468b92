"""Which init and data seed each repeat trains with, for every ``vary`` (known answers), and the
checks of the train config."""

from __future__ import annotations

import pytest

from frenk.config import TrainConfig
from frenk.core.errors import ConfigError
from frenk.training import SeedSources, TrainSettings, seed_settings, seed_sources


def _pairs(seed: int, repeats: int, vary: str) -> list[tuple[int, int, int]]:
    return [(s, p.init, p.data) for s, p in seed_sources(seed, repeats, vary).items()]


def test_both_is_the_one_seed_of_before():
    assert _pairs(42, 3, "both") == [(42, 42, 42), (43, 43, 43), (44, 44, 44)]
    assert seed_sources(42, 3) == seed_sources(42, 3, "both")


def test_init_and_data_hold_the_other_seed_fixed():
    assert _pairs(42, 3, "init") == [(42, 42, 42), (43, 43, 42), (44, 44, 42)]
    assert _pairs(42, 3, "data") == [(42, 42, 42), (43, 42, 43), (44, 42, 44)]


def test_cross_fills_the_k_by_k_grid_once():
    assert _pairs(10, 4, "cross") == [(10, 10, 10), (11, 10, 11), (12, 11, 10), (13, 11, 11)]
    grid = seed_sources(42, 9, "cross")
    assert list(grid) == list(range(42, 51))  # the repeats' own seeds, as with every vary
    assert sorted(grid.values()) == [SeedSources(i, d) for i in range(42, 45) for d in range(42, 45)]
    assert grid[45] == SeedSources(43, 42)  # repeat 3: init seed + 3 // 3, data seed + 3 % 3


@pytest.mark.parametrize("repeats", [1, 2, 3, 5, 8, 10])
def test_cross_needs_a_square_of_at_least_two(repeats):
    with pytest.raises(ConfigError, match="k \\* k"):
        seed_sources(42, repeats, "cross")
    with pytest.raises(ConfigError, match="k \\* k"):
        TrainConfig(model="tiny", repeats=repeats, vary="cross")


def test_an_unknown_vary_is_refused():
    with pytest.raises(ConfigError, match="vary='seeds'"):
        seed_sources(42, 2, "seeds")
    with pytest.raises(ConfigError, match="vary='seeds'"):
        TrainConfig(model="tiny", repeats=2, vary="seeds")


def test_simpletransformers_has_one_seed():
    TrainConfig(model="tiny", repeats=2, engine="simpletransformers")
    with pytest.raises(ConfigError, match="one seed"):
        TrainConfig(model="tiny", repeats=2, vary="init", engine="simpletransformers")


def test_a_repeats_settings_carry_its_two_seeds():
    base = TrainSettings(epochs=1, learning_rate=1e-3, batch_size=8, seed=42)
    assert base.sources == SeedSources(42, 42)  # a training outside the step (tune's trials): one seed
    settings = seed_settings(base, 44, seed_sources(42, 3, "init"))
    assert (settings.seed, settings.sources) == (44, SeedSources(44, 42))
    assert seed_settings(base, 7).sources == SeedSources(7, 7)  # a seed without an entry


def test_a_stopped_training_is_resumed_only_by_the_same_vary():
    """The resume digest holds the parameters: a vary=init training's seed 43 (init 43, data 42) is
    never continued as vary=both's seed 43 (init 43, data 43)."""
    from frenk.steps.train import used_params
    from frenk.tracking.resume import train_digest

    def digest(vary: str) -> str:
        cfg = TrainConfig(model="tiny", repeats=4, vary=vary)
        return train_digest(used_params(cfg, (), TrainSettings(epochs=1, learning_rate=1e-3, batch_size=8)))

    assert len({digest(v) for v in ("both", "init", "data", "cross")}) == 4


def test_a_recovery_keeps_each_seeds_sources():
    """The seeds' runs logged after an outage (frenk-recover) carry the same tags: the sources are
    in the listener's state; a recovery folder written before them reads as one seed each."""
    from frenk.tracking.listeners import SeedRuns

    runs = SeedRuns(None, {}, "tiny-hr-s{seed}", True, seed_sources(42, 4, "cross"))  # type: ignore[arg-type]
    again = SeedRuns.from_state(None, runs.state())  # type: ignore[arg-type]
    assert again.sources == {42: (42, 42), 43: (42, 43), 44: (43, 42), 45: (43, 43)}
    older = {k: v for k, v in runs.state().items() if k != "sources"}
    assert SeedRuns.from_state(None, older).sources == {}  # type: ignore[arg-type]
