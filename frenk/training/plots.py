"""Charts of a trained model's evaluation (figures only; the tracking package logs them)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def confusion_matrix(matrix: np.ndarray, labels: list[str], title: str = "Confusion matrix (test)") -> Figure:
    fig = Figure(figsize=(1.2 * len(labels) + 3, 1.2 * len(labels) + 2), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = matrix.max() if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > peak / 2 else "black")
    ax.set_title(title)
    return fig
