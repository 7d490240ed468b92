"""The model card's "Out of domain" table: the evaluate runs of the published version (another
language, topic, label scheme or a user's file), as the tracking layer reads them."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OutOfDomainRow:
    """One evaluate run of the published version."""

    run_id: str
    run_name: str
    data: str  #: what was scored: the folder and split, or the file
    data_digest: str
    lang: str  #: the data's language ("?" for a user's file)
    topics: str  #: comma-separated
    mapping: str  #: how the gold labels became the model's
    n_comments: int
    macro_f1: float = math.nan
    accuracy: float = math.nan
    link: str = ""  #: where the run is (its page in the MLflow UI, relative to the tracking server)

    def number(self, metric: str) -> str:
        value = getattr(self, metric)
        return f"{value:.4f}" if isinstance(value, float) and math.isfinite(value) else "n/a"
