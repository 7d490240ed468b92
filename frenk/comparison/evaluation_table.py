"""The results table of one evaluate run (a registered model scored on other data), in the shape
of a compare run's (:mod:`.tables`): one row, the model; a column per metric; one run, so no sd."""

from __future__ import annotations

import math

from .tables import Cell, ResultsTable


def evaluation_table(system: str, metrics: dict[str, float], n_comments: int, data: str, run_ids: tuple[str, ...],
                     mapping: str) -> ResultsTable:
    """``metrics``: {name: value} (``macro_f1``, ``accuracy``) of ``system`` on ``data``."""
    names = tuple(metrics)
    cells = {system: {m: Cell(float(v), math.nan, 1, run_ids, False) for m, v in metrics.items()}}
    caption = (f"{system} evaluated out of domain on {data}: {n_comments} comments, gold labels mapped: {mapping}. "
               "One trained model, so no sd (n/a) and no test; the model's own test scores are in its train run.")
    return ResultsTable(names, (system,), system, cells, caption, ())
