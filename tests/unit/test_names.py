"""One home for every name: the ``frenk.*`` tags and attributes live in ``frenk.core.names``, the
closed sets in ``frenk.core.choices``, and the README's parameter tables agree with the configs."""

from __future__ import annotations

import ast
import dataclasses
import re

import pytest

from frenk import config
from frenk.core import choices, names

from ..helpers import ROOT

PACKAGE = ROOT / "frenk"
#: frenk's own modules, which prose may name (``frenk.tracking``, ``frenk.core.names``)
MODULES = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if p.is_dir()}
#: the documentation: the README and its reference pages under docs/ (the parameter tables are in
#: docs/parameters.md)
README = "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _all_names() -> set[str]:
    found = {v for cls in (names.Tag, names.Attr) for k, v in vars(cls).items() if k.isupper()}
    return found | {names.META_FILE}


def test_every_name_is_namespaced_and_spelled_once():
    values = [v for cls in (names.Tag, names.Attr) for k, v in vars(cls).items() if k.isupper()]
    assert all(v.startswith(names.PREFIX) for v in values)
    assert all(re.fullmatch(r"frenk\.[a-z0-9_]+", v) for v in values)
    # a value may be both a run tag and an Optuna attribute (duplicate_of), never two tags
    tags = [v for k, v in vars(names.Tag).items() if k.isupper()]
    assert len(tags) == len(set(tags))


def _frenk_literals(path, root=ROOT) -> list[str]:
    """``frenk.<name>`` spelled in a string (not a docstring) of ``path``, frenk's module paths aside."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [f"{path.relative_to(root)}:{node.lineno}: {m.group(0)}"
                      for m in re.finditer(r"frenk\.([a-z0-9_]*)", node.value)
                      if m.group(1) not in MODULES or node.value in _all_names()]
    return found


def test_no_frenk_name_is_spelled_outside_the_names_module():
    offending = [hit for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "core" / "names.py"
                 for hit in _frenk_literals(path)]
    assert not offending, "use frenk.core.names (Tag, Attr, META_FILE) instead of:\n" + "\n".join(offending)


def test_the_scan_sees_a_tag_in_a_message_and_in_a_filter(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('"""frenk.step in a docstring is prose."""\n'
                     'X = "frenk.step"\nY = f"tags.`frenk.group` = {1}"\n'
                     'Z = "see frenk.tracking.runs"\nS = "frenk.steps"\n')
    hits = _frenk_literals(probe, root=tmp_path)
    assert sorted(h.rsplit(": ", 1)[1] for h in hits) == ["frenk.group", "frenk.step", "frenk.steps"]


def test_every_name_is_in_the_readme():
    missing = sorted(n for n in _all_names() if f"`{n}" not in README)
    assert not missing, f"README.md does not name {missing}"


def _table(step: str) -> dict[str, str]:
    """The README's parameter table of ``step``: parameter name -> its whole row."""
    section = re.split(rf"^#+ {step} parameters$", README, maxsplit=1, flags=re.M)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines():
        cells = line.split(" | ")
        if not line.startswith("| `"):
            continue
        for name in re.findall(r"`(\w+)`", cells[0]):
            rows[name] = line
    return rows


CONFIGS = {"preprocess": config.PreprocessConfig, "train": config.TrainConfig, "tune": config.TuneConfig,
           "compare": config.CompareConfig, "publish": config.PublishConfig, "evaluate": config.EvaluateConfig}
#: the closed sets behind parameters the library checks (not click choices)
CLOSED = {"lang": choices.LANGS, "labels": choices.SCHEMES, "precision": choices.PRECISIONS,
          "engine": choices.ENGINES, "keep_models": choices.KEEP_CHOICES, "sampler": choices.SAMPLERS,
          "pruner": choices.PRUNERS, "metric": tuple(choices.TUNE_METRICS)}


def _shown(default) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


@pytest.mark.parametrize("step", sorted(CONFIGS))
def test_the_readme_parameter_table_matches_the_config(step):
    rows = _table(step)
    for field in dataclasses.fields(CONFIGS[step]):
        assert field.name in rows, f"README's {step} table lacks {field.name}"
        row = rows[field.name]
        default_cell = row.split(" | ")[1]
        if field.default not in ("", 0, {}) and default_cell != "as train":
            assert f"`{_shown(field.default)}`" in default_cell, f"{step}.{field.name}: README says {default_cell}"
        allowed = field.metadata.get("choices") or CLOSED.get(field.name)
        for value in allowed or ():
            assert f"`{value}`" in row, f"README's {step} row {field.name} does not offer {value}"


def test_the_config_choices_come_from_the_core():
    assert dict(config.TrainConfig.__dataclass_fields__["lang"].metadata)["choices"] is choices.LANGS
    assert dict(config.TrainConfig.__dataclass_fields__["precision"].metadata)["choices"] is choices.PRECISIONS
    from frenk.tuning.space import HYPERPARAMETERS

    assert tuple(HYPERPARAMETERS) == choices.TUNABLE


def test_main_names_every_parameter():
    prose = re.split(r"^#+ main parameters$", README, maxsplit=1, flags=re.M)[1].split("\n#", 1)[0]
    missing = [f.name for f in dataclasses.fields(config.MainConfig) if f"`{f.name}`" not in prose]
    assert not missing, f"README's main section does not name {missing}"
