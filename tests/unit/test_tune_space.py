"""The search-space parser: valid files, every kind of mistake named by its key, and the
bundled spaces of the presets."""

from __future__ import annotations

import pytest

from frenk.core.errors import ConfigError
from frenk.training import PRESETS
from frenk.tuning import load_space, parse_space, sampler_name
from frenk.tuning.space import Range

GRID = """
learning_rate: [1.0e-5, 2.0e-5, 4.0e-5]
epochs: [2, 3, 4]
"""


def test_a_grid_and_its_points():
    space = parse_space(GRID)
    assert space.is_grid and space.grid_size == 9
    assert space.grid == {"learning_rate": [1e-5, 2e-5, 4e-5], "epochs": [2, 3, 4]}
    assert len({tuple(sorted(p.items())) for p in space.grid_points()}) == 9
    assert sampler_name("auto", space) == "grid"
    assert parse_space(GRID).digest == space.digest != parse_space("epochs: [2, 3]").digest


def test_ranges_with_step_and_log():
    space = parse_space("warmup_ratio: {low: 0.0, high: 0.2, step: 0.05}\nweight_decay: {low: 1.0e-4, high: 0.1, log: "
                        "true}")
    assert space.dimensions["warmup_ratio"] == Range(0.0, 0.2, 0.05, False)
    assert space.dimensions["weight_decay"] == Range(1e-4, 0.1, None, True)
    assert not space.is_grid and sampler_name("auto", space) == "tpe"
    with pytest.raises(ConfigError, match="sampler=grid needs a list"):
        sampler_name("grid", space)


@pytest.mark.parametrize("text, message", [
    ("dropout: [0.1, 0.2]", "unknown hyperparameter 'dropout'; tunable: learning_rate"),
    ("learning_rate: {low: 0.1, high: 0.01}", "learning_rate: low 0.1 > high 0.01"),
    ("epochs: []", "epochs: the list of values is empty"),
    ("epochs: [2, {low: 3, high: 5}]", "epochs: a list mixed with a range"),
    ("learning_rate: {low: 0.0, high: 0.01, log: true}", "learning_rate: log: true needs positive bounds"),
    ("epochs: [2, 3\nlearning_rate: [", "not valid YAML"),
    ("- epochs", "a search space is a YAML mapping"),
    ("epochs: [2.5]", "epochs: value 2.5 must be a whole number"),
    ("learning_rate: [abc]", "learning_rate: value 'abc' is not a number"),
    ("warmup_ratio: [1.5]", "warmup_ratio: value 1.5 must be at least 0.0 and at most 0.999"),
    ("epochs: {low: 1, high: 3, by: 1}", "epochs: a range is {low, high} with optional step and log"),
    ("epochs: [2, 2]", "epochs: the list repeats a value"),
    ("epochs: 3", "epochs: give a list of values or a range"),
])
def test_bad_files_name_the_key(text, message):
    with pytest.raises(ConfigError) as info:
        parse_space(text, "space.yaml")
    assert str(info.value).startswith("space.yaml: ") and message in str(info.value)


def test_every_transformer_preset_has_a_bundled_space(tmp_path):
    for name, preset in PRESETS.items():
        if preset.kind == "tfidf":
            with pytest.raises(ConfigError, match="no bundled search space for model 'tfidf'"):
                load_space("", name)
        else:
            assert load_space("", name).is_grid
    with pytest.raises(ConfigError, match="no such file"):
        load_space(str(tmp_path / "missing.yaml"), "tiny")
    (tmp_path / "s.yaml").write_text(GRID)
    assert load_space(str(tmp_path / "s.yaml"), None).grid_size == 9
