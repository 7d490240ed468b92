"""The registry of model kinds (#24 point 2): every kind-specific decision is an attribute of a
kind, never a comparison with a kind's or a model's name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from frenk.core.errors import ConfigError
from frenk.publishing import exportable, registry_alias
from frenk.training import BASELINE, CANDIDATE, KINDS, kind_named, kind_of_system

from ..helpers import ROOT

KIND_NAMES = set(KINDS)
#: the only modules that may spell a kind's name: the registry and the preset table
HOMES = {ROOT / "frenk" / "training" / "kinds.py", ROOT / "frenk" / "training" / "presets.py"}


def test_the_kinds_answer_what_differs():
    assert set(KINDS) == {"transformer", "tiny", "tfidf"}
    assert kind_named("tfidf").registry_alias == BASELINE and not kind_named("tfidf").exportable
    assert not kind_named("tfidf").tunable and "engine" in kind_named("tfidf").ignored_params
    for name in ("transformer", "tiny"):
        kind = kind_named(name)
        assert kind.registry_alias == CANDIDATE and kind.exportable and kind.tunable and not kind.ignored_params
    with pytest.raises(ConfigError, match="unknown model kind"):
        kind_named("fasttext")


def test_a_systems_kind_comes_from_its_kind_tag_then_its_preset():
    assert kind_of_system("tfidf").name == "tfidf"
    assert kind_of_system("bertic").name == "transformer" and kind_of_system("tiny").name == "tiny"
    assert kind_of_system("owner/some-model").name == "transformer"  # a Hub id or folder
    # by kind, never by name: a second baseline under another name is a baseline too
    assert kind_of_system("char-ngrams", "tfidf").name == "tfidf"
    assert registry_alias("char-ngrams", "tfidf") == BASELINE and not exportable("char-ngrams", "tfidf")
    assert registry_alias("tfidf") == BASELINE and registry_alias("bertic") == CANDIDATE  # runs logged before frenk.kind


def _kind_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KIND_NAMES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    return found


def test_no_kind_name_is_spelled_outside_the_registry_and_the_presets():
    sources = [p for p in sorted((ROOT / "frenk").rglob("*.py")) if p not in HOMES]
    assert len(sources) > 40
    offending = [hit for path in sources for hit in _kind_literals(path)]
    assert not offending, f"kind names belong in frenk/training/kinds.py (or presets.py): {offending}"


def test_the_simpletransformers_engine_logs_its_loss_a_few_times_an_epoch():
    """Its batch losses become the default engine's points: 4 window means an epoch, by optimizer step."""
    from frenk.training.simpletransformers_engine import loss_windows

    assert loss_windows([1, 2, 3, 4, 5, 6, 7, 8], 0, 1) == [(2, 1.5), (4, 3.5), (6, 5.5), (8, 7.5)]
    assert loss_windows([1, 3, 5], 8, 1) == [(9, 1.0), (10, 3.0), (11, 5.0)]  # after 8 batches of epoch 1
