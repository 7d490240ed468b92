"""Metrics of a classifier's test predictions: overall, per class, per topic and per fold.

Pure code: arrays and frames in, a flat ``{name: value}`` dict out (names are MLflow-safe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def _safe(name: str) -> str:
    return name.replace(" ", "_")


def scored_classes(labels: np.ndarray, preds: np.ndarray, num_labels: int) -> list[int]:
    """The classes a macro average counts: those of the scheme's ``num_labels`` that occur in the
    gold labels or in the predictions. A class neither present nor predicted has no F1 (0/0);
    counting it as 0 would deflate the average."""
    present = np.union1d(np.asarray(labels, dtype=int), np.asarray(preds, dtype=int))
    return [int(c) for c in present if 0 <= c < num_labels]


def core_metrics(labels: np.ndarray, preds: np.ndarray, num_labels: int) -> dict[str, float]:
    """Accuracy and macro-F1 over the classes present in ``labels`` or predicted in ``preds``
    (:func:`scored_classes`): a class absent from the gold labels counts, as F1 0, only if it was
    predicted (sklearn's zero_division=0)."""
    classes = scored_classes(labels, preds, num_labels) or list(range(num_labels))
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "macro_f1": float(f1_score(labels, preds, labels=classes, average="macro", zero_division=0)),
    }


@dataclass
class Evaluation:
    metrics: dict[str, float]
    confusion: np.ndarray
    predictions: pd.DataFrame
    class_names: list[str]
    #: the classes the test macro-F1 averages over (present in the gold labels or predicted), in scheme
    #: order; empty in an evaluation made before it was recorded: every class of the scheme then
    scored_classes: tuple[str, ...] = ()


def evaluate(frame: pd.DataFrame, probs: np.ndarray, class_names: list[str], prefix: str = "test_") -> Evaluation:
    """Evaluate probabilities ``probs`` (rows aligned with ``frame``) against ``frame.label``.

    Metrics: ``{prefix}accuracy``, ``{prefix}macro_f1`` (over :func:`scored_classes`, also per
    topic and per fold: over the classes present or predicted in that slice), per class
    ``{prefix}precision.<class>``/``recall``/``f1``, per topic
    ``{prefix}topic.<topic>.accuracy|macro_f1``, per fold ``{prefix}fold.<k>.accuracy|macro_f1``.
    """
    labels = frame["label"].to_numpy()
    preds = probs.argmax(axis=1)
    k = len(class_names)
    metrics = {f"{prefix}{name}": v for name, v in core_metrics(labels, preds, k).items()}
    p, r, f, _ = precision_recall_fscore_support(labels, preds, labels=list(range(k)), zero_division=0)
    for i, cls in enumerate(class_names):
        metrics[f"{prefix}precision.{_safe(cls)}"] = float(p[i])
        metrics[f"{prefix}recall.{_safe(cls)}"] = float(r[i])
        metrics[f"{prefix}f1.{_safe(cls)}"] = float(f[i])
    for column, tag in (("topic", "topic"), ("fold", "fold")):
        if column not in frame.columns:
            continue
        for value in sorted(frame[column].unique()):
            mask = (frame[column] == value).to_numpy()
            for name, v in core_metrics(labels[mask], preds[mask], k).items():
                metrics[f"{prefix}{tag}.{value}.{name}"] = v
    predictions = pd.DataFrame(
        {
            "id": frame["id"].to_numpy(),
            "topic": frame["topic"].to_numpy(),
            "label": labels,
            "pred": preds,
            "pred_name": [class_names[i] for i in preds],
        }
    )
    if "fold" in frame.columns:
        predictions["fold"] = frame["fold"].to_numpy()
    for i, cls in enumerate(class_names):
        predictions[f"prob.{_safe(cls)}"] = probs[:, i]
    scored = tuple(class_names[i] for i in scored_classes(labels, preds, k))
    return Evaluation(metrics, confusion_matrix(labels, preds, labels=list(range(k))), predictions, list(class_names),
                      scored)
