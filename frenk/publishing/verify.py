"""Whether a card's numbers are the store's: the numbers of a card (its text and its model-index),
where they differ from the card the store gives, from the compare report they must come from,
and where a recomputed report differs from the stored one. Pure: the texts and reports come in.

A number is a decimal written on its own (``0.6123``, ``-0.445``, ``3e-05``, ``42``), not part
of a name or an id (``s42``, ``frenk-hr``, a run id's hex digits). Prose edited by hand is no
difference; a number changed, added or removed is."""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .card import CardFacts

NUMBER = re.compile(r"(?<![\w.\-/@])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w/])")
#: differences named in a refusal before "and N more"
SHOWN = 5
#: report.json keys that count looks at a test set (they grow with every later compare, by design)
LOOK_KEYS = ("decisions",)


def numbers(line: str) -> list[str]:
    """The numbers written in ``line``, in order."""
    return NUMBER.findall(line)


def _skeleton(line: str) -> str:
    return NUMBER.sub("#", line).strip()


def card_differences(card: str, expected: str) -> list[str]:
    """Every number of ``card`` that is not the number ``expected`` (the card the store gives) has
    there, line by line; numbers added or removed count too, prose changes do not."""
    got, want = card.splitlines(), expected.splitlines()
    matcher = difflib.SequenceMatcher(None, [_skeleton(x) for x in got], [_skeleton(x) for x in want], autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [f"line {i + 1}: {', '.join(numbers(got[i]))} where the store gives {', '.join(numbers(want[j]))}"
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True) if numbers(got[i]) != numbers(want[j])]
            continue
        extra = Counter(n for x in got[i1:i2] for n in numbers(x))
        missing = Counter(n for x in want[j1:j2] for n in numbers(x))
        if extra - missing or missing - extra:
            where = f"line {i1 + 1}" if i2 > i1 else f"after line {i1}"
            out.append(f"{where}: {' '.join(sorted((extra - missing).elements())) or 'nothing'} where the store gives "
                       f"{' '.join(sorted((missing - extra).elements())) or 'nothing'}")
    return out


def _leaves(value, path: str = ""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, float(value)


def report_differences(stored: dict, recomputed: dict, rel: float = 1e-9) -> list[str]:
    """Every number of report.json (``stored``) that the report recomputed from the same runs
    does not reproduce (to ``rel``; NaN equals NaN), and numbers only one of them has; the look
    counts (:data:`LOOK_KEYS`) are left out."""
    a = {k: v for k, v in _leaves({k: v for k, v in stored.items() if k not in LOOK_KEYS})}
    b = {k: v for k, v in _leaves({k: v for k, v in recomputed.items() if k not in LOOK_KEYS})}
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            out.append(f"report.json {key}: {x if x is not None else 'absent'} where the store gives "
                       f"{y if y is not None else 'nothing'}")
        elif not ((math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rel, abs_tol=1e-12)):
            out.append(f"report.json {key}: {x!r} where the store gives {y!r}")
    return out


def _cells(text: str, start: str) -> list[str] | None:
    line = next((x for x in text.splitlines() if x.startswith(start)), None)
    return [c.strip() for c in line.strip().strip("|").split("|")] if line else None


def report_mismatches(card: str, facts: CardFacts) -> list[str]:
    """The card's results that are not its compare report's (``facts.report``): the mean ± sd row,
    the published seed's scores (table and model-index) and every comparison row."""
    out = []
    spread = _cells(card, "| mean ± sd over ")
    want = [facts.spread(m) for m in ("test_accuracy", "test_macro_f1")]
    if spread is None or spread[1:3] != want:
        out.append(f"mean ± sd: {spread[1:3] if spread else 'absent'} where the report gives {want}")
    published = _cells(card, f"| published seed ({facts.published.seed})")
    scores = [f"{facts.published_score(m):.4f}" for m in ("test_accuracy", "test_macro_f1")]
    if published is None or [c.split(" ")[0] for c in published[1:3]] != scores:
        out.append(f"published seed: {published[1:3] if published else 'absent'} where the store gives {scores}")
    out += _model_index_mismatches(card, facts)
    for row in facts.comparison_rows():
        cells = _cells(card, f"| {row.metric} | {row.other} | {row.design} |")
        expected = [str(row.n), row.test, f"{row.p:.4g}", f"{row.p_holm:.4g}" if row.p_holm is not None else "n/a",
                    row.direction, row.d_text, row.cliffs_text, row.aso_text]
        if cells is None or cells[3:11] != expected:
            out.append(f"comparison with {row.other} on {row.metric}: {cells[3:11] if cells else 'absent'} where the "
                       f"report gives {expected}")
    return out


def _model_index_mismatches(card: str, facts: CardFacts) -> list[str]:
    """The model-index entries: the published seed's score, and mean ± sd over n seeds in the name."""
    from huggingface_hub import ModelCard

    try:
        entries = {r.metric_type: r for r in getattr(ModelCard(card).data, "eval_results", None) or []}
    except Exception as exc:  # a card whose metadata no longer parses
        return [f"model-index cannot be read ({type(exc).__name__})"]
    out = []
    for kind, metric in (("accuracy", "test_accuracy"), ("f1", "test_macro_f1")):
        entry, score = entries.get(kind), round(facts.published_score(metric), 4)
        if entry is None or entry.metric_value != score:
            out.append(f"model-index {kind}: {entry.metric_value if entry else 'absent'} where the store gives {score}")
        elif facts.spread(metric) not in (entry.metric_name or ""):
            out.append(f"model-index {kind}: its name {entry.metric_name!r} lacks mean ± sd {facts.spread(metric)}")
    return out


def refusal(what: str, differences: list[str]) -> str:
    """One line: ``what``'s numbers differ from the store's in these places (the first :data:`SHOWN`)."""
    more = len(differences) - SHOWN
    shown = "; ".join(differences[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
    places = f"{len(differences)} place{'s' if len(differences) > 1 else ''}"
    return f"{what}: its numbers differ from the tracking store's in {places} ({shown})"
