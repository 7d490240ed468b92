"""Pieces of the model card that are computed, not said: the comparison rows (each pair's effects
for its leader over the other, as the compare report's texts give them), the replay command, and
numbers written as the parameter's type reads them (``3``, not ``3.0``, for a whole number)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ..comparison.direction import oriented
from ..comparison.verdict import fmt
from ..config import TrainConfig

if TYPE_CHECKING:
    from ..comparison import ComparisonReport


@dataclass
class ComparisonRow:
    """One comparison of the published system, its effects for ``direction`` (the leader over the other)."""

    metric: str
    other: str
    design: str
    n: int
    test: str
    p: float
    p_holm: float | None
    direction: str
    cohens_d: float
    cliffs_delta: float
    aso_eps_min: float
    verdict: str
    full_verdict: str

    # written as the compare report's verdict texts write them, so that table and text agree digit for digit
    @property
    def d_text(self) -> str:
        return fmt(self.cohens_d, 3)

    @property
    def cliffs_text(self) -> str:
        return fmt(self.cliffs_delta, 3)

    @property
    def aso_text(self) -> str:
        return f"{self.aso_eps_min:.3f}"


#: the effect sizes and eps_min in a verdict text (with or without the direction that this frenk writes)
EFFECTS_IN_TEXT = re.compile(r", (?:[^,()]+ over [^,()]+: )?Cohen's (d_z|d)=[^,]+, Cliff's delta=[^);]+")
ASO_IN_TEXT = re.compile(r"eps_min\([^)]*\) = [^,]+")


def one_direction(text: str, row: ComparisonRow) -> str:
    """A verdict text with its effect sizes and eps_min written as the row gives them: a report of an
    older frenk wrote Cohen's d and Cliff's delta of a over b, whichever led, and no direction."""
    text = EFFECTS_IN_TEXT.sub(lambda m: f", {row.direction}: Cohen's {m.group(1)}={row.d_text}, "
                                         f"Cliff's delta={row.cliffs_text}", text)
    return ASO_IN_TEXT.sub(lambda m: f"eps_min({row.direction}) = {row.aso_text}", text)


def comparison_rows(report: ComparisonReport, system: str) -> list[ComparisonRow]:
    """The report's comparisons of ``system``: its verdict from its side, the effects from the leader's."""
    rows = []
    for c in report.pairs_of(system):
        r, e = c.verdict, oriented(c)
        verdict = ("better" if r.better == system else "worse" if r.better
                   else r.call or "no significant difference")
        rows.append(ComparisonRow(
            metric=c.metric, other=c.other(system), design=c.design, n=c.n_a, test=r.name, p=r.p_value,
            p_holm=r.p_holm, direction=e.direction, cohens_d=e.cohens_d, cliffs_delta=e.cliffs_delta,
            aso_eps_min=e.aso_eps_min, verdict=verdict, full_verdict=r.text))
        rows[-1].full_verdict = one_direction(r.text, rows[-1])
    return rows


def plain_number(value: str) -> str:
    """A logged number as a person writes it: ``3.0`` as ``3``; anything else as it is."""
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() and "e" not in value.lower() else value


def replay_command(params: dict[str, str], seeds: list[int]) -> str:
    """The ``mlflow run . -e train`` line that repeats a training: the model, then every train
    parameter of the run that differs from :class:`~frenk.config.TrainConfig`'s default (the
    first of ``seeds`` as seed, their number as repeats), shell-quoted."""
    lang, labels = params.get("lang", "hr"), params.get("labels", "binary")
    # fields whose default the configuration expands (group, register), as it expands them for this run
    plain, expanded = TrainConfig(), TrainConfig(lang=lang, labels=labels)
    derived = {f.name: getattr(expanded, f.name) for f in fields(TrainConfig) if getattr(plain, f.name) != f.default}
    values = {**params, "seed": str(min(seeds)) if seeds else params.get("seed", "42"),
              "repeats": str(len(seeds) or params.get("repeats", "1"))}
    parts = ["mlflow", "run", ".", "-e", "train", "-P", f"model={shlex.quote(values.get('model', 'bertic'))}"]
    for f in fields(TrainConfig):
        value = values.get(f.name)
        if f.name == "model" or value is None or _is_default(value, f.default, derived.get(f.name)):
            continue
        if isinstance(f.default, (int, float)) and not isinstance(f.default, bool):
            number = float(value)  # an int field, or a float field at a whole number: 3, never 3.0
            value = str(int(number)) if isinstance(f.default, int) or number.is_integer() else repr(number)
        parts += ["-P", f"{f.name}={shlex.quote(value)}"]
    return " ".join(parts)


def _is_default(value: str, default, expanded) -> bool:
    """Whether a logged parameter (a string) equals the field's default, as given or as expanded."""
    if isinstance(default, bool):  # logged as "false" by mlflow run, "False" by a direct call
        return value.strip().lower() == str(default).lower()
    if isinstance(default, (int, float)):
        try:
            return float(value) == float(default)
        except ValueError:
            return False
    if default == "{}":
        try:
            return json.loads(value) == {}
        except json.JSONDecodeError:
            return False
    return value == str(default) or (expanded is not None and value == str(expanded))


