"""Counting looks at a test set: a compare of the same systems on the same deciding metric and
test data as an earlier compare is a later look, unless it compares the very same runs (then
it is that look again: the same data give the same answer, nothing is spent). Look k spends
``alpha / 2**k`` (:func:`~.twolevel.look_alpha`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

#: past this many decisions on one test set a warning says the test set is being worn out
DECISIONS_WARNING = 10


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def look_key(systems: Iterable[str], metric: str, data_digests: Iterable[str | None]) -> str:
    """What makes two compares looks at the same question: systems, deciding metric, test data."""
    return _digest([sorted(systems), metric, sorted(d or "" for d in data_digests)])


def runs_key(run_ids: Iterable[str]) -> str:
    return _digest(sorted(run_ids))


def next_look(earlier: list[tuple[int, str]], runs: str) -> int:
    """This compare's look number, from the earlier looks' (look, runs key): the look of the
    same runs if there was one, else one more than the latest."""
    for look, key in earlier:
        if key == runs:
            return look
    return max((look for look, _ in earlier), default=0) + 1


def decisions_warning(digest: str, n: int) -> str | None:
    if n <= DECISIONS_WARNING:
        return None
    return (f"{n} decisions have been taken on test data {digest[:12]} (more than {DECISIONS_WARNING}): every look "
            "adapts the choices to this test set, so its verdicts describe it less and less; keep a fresh test set "
            "for the final verdict")
