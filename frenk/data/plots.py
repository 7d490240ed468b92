"""Charts and tables of prepared data (figures only; the tracking package logs them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def distribution_table(manifest: dict) -> pd.DataFrame:
    rows = [
        {"split": split, "topic": topic, "label": label, "count": n}
        for split, topics in manifest["counts"].items()
        for topic, labels in topics.items()
        for label, n in labels.items()
    ]
    return pd.DataFrame(rows)


def label_distribution(table: pd.DataFrame) -> Figure:
    """Grouped bars: examples per label, one group per split x topic. ``table`` has columns
    split, topic, label, count."""
    pivot = table.pivot_table(index=["split", "topic"], columns="label", values="count", aggfunc="sum", fill_value=0)
    order = {"train": 0, "validation": 1, "test": 2}
    pivot = pivot.loc[sorted(pivot.index, key=lambda key: (order.get(key[0], 3), key))]
    pivot = pivot[list(dict.fromkeys(table["label"]))]  # classes in the scheme's order
    fig = Figure(figsize=(max(6, 1.2 * len(pivot)), 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(pivot))
    width = 0.8 / max(1, pivot.shape[1])
    for i, label in enumerate(pivot.columns):
        ax.bar(x + i * width, pivot[label].to_numpy(), width, label=str(label))
    ax.set_xticks(x + width * (pivot.shape[1] - 1) / 2, [f"{s}\n{t}" for s, t in pivot.index])
    ax.set_ylabel("examples")
    ax.set_title("Label distribution")
    ax.legend(fontsize="small")
    return fig
