"""Earlier looks at a test set, read from the compare runs of an experiment (see
:mod:`frenk.comparison.looks`). Compare runs logged before looks were counted carry no look
tags and count as no look."""

from __future__ import annotations

from mlflow import MlflowClient

from ..comparison.looks import look_key, next_look, runs_key
from ..core.names import Tag, search_tag


def _compare_runs(experiment_id: str, condition: str) -> list:
    return MlflowClient().search_runs(
        [experiment_id], f"{search_tag(Tag.STEP)} = 'compare' AND {condition} AND attributes.status = 'FINISHED'",
        max_results=5000)


def count(experiment_id: str, systems, metric: str, digests, run_ids) -> tuple[int, dict[str, str], dict[str, int]]:
    """(this compare's look, the look tags to set on its run, the decisions on each test digest
    so far with this one)."""
    key, runs = look_key(systems, metric, digests), runs_key(run_ids)
    earlier = [(int(r.data.tags[Tag.LOOK]), r.data.tags.get(Tag.LOOK_RUNS, ""))
               for r in _compare_runs(experiment_id, f"{search_tag(Tag.LOOK_KEY)} = '{key}'")
               if r.data.tags.get(Tag.LOOK, "").isdigit()]
    look = next_look(earlier, runs)
    decisions = {}
    for digest in sorted(d for d in digests if d):
        seen = {(r.data.tags.get(Tag.LOOK_KEY), r.data.tags.get(Tag.LOOK))
                for r in _compare_runs(experiment_id, f"{search_tag(Tag.DATA_DIGEST)} = '{digest}'")
                if Tag.LOOK in r.data.tags}
        decisions[digest] = len(seen | {(key, str(look))})
    return look, {Tag.LOOK: str(look), Tag.LOOK_KEY: key, Tag.LOOK_RUNS: runs}, decisions
