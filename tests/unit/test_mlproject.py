"""MLproject: every declared parameter reaches its command and its command's options."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest
import yaml

from ..helpers import ROOT

SPEC = yaml.safe_load((ROOT / "MLproject").read_text())
STEPS = ["preprocess", "tune", "train", "compare", "publish", "evaluate", "main"]


def test_every_step_is_declared():
    assert sorted(SPEC["entry_points"]) == sorted(STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_parameters_reach_the_command(step):
    entry = SPEC["entry_points"][step]
    params = set(entry.get("parameters", {}))
    placeholders = set(re.findall(r"\{(\w+)\}", entry["command"]))
    assert params - placeholders == set(), "declared but dropped from the command"
    assert placeholders - params == set(), "used in the command but not declared"
    script = re.match(r"python (\S+)", entry["command"]).group(1)
    assert (ROOT / script).is_file()


def _command(script: Path):
    spec = importlib.util.spec_from_file_location(f"entry_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "main", None)


@pytest.mark.parametrize("step", STEPS)
def test_command_options_exist(step):
    entry = SPEC["entry_points"][step]
    script = ROOT / re.match(r"python (\S+)", entry["command"]).group(1)
    command = _command(script)
    assert isinstance(command, click.Command), f"{script} has no click command `main`"
    options = {opt for p in command.params for opt in p.opts}
    used = set(re.findall(r"(--[\w-]+) \{", entry["command"]))
    assert used <= options
    # and each option is fed by the parameter of the same name
    for flag, param in re.findall(r"(--[\w-]+) \{(\w+)\}", entry["command"]):
        assert flag == "--" + param.replace("_", "-")


def test_the_help_of_every_model_step_lists_every_preset():
    """train, tune and main --help name each preset of the preset table (minilm was missing)."""
    from click.testing import CliRunner

    from frenk.cli import command
    from frenk.config import MainConfig, TrainConfig, TuneConfig
    from frenk.training.presets import PRESETS

    for config in (TrainConfig, TuneConfig, MainConfig):
        text = " ".join(CliRunner().invoke(command(config, lambda cfg: None), ["--help"], terminal_width=400).output.split())
        missing = [name for name in PRESETS if name not in text]
        assert not missing, (config.__name__, missing)
