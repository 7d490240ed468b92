"""Metric names: what the MLflow UI shows, and the library's names that frenk reads.

A train run logs few metrics, named ``<section>/<name>`` so that the UI draws them in sections
(``val``: the per-epoch curves and the final validation score, ``test``, ``train``, ``check``);
the per-class, per-topic and per-fold results go to one table, ``results.json``
(``mlflow.log_table``: the UI shows it in the artifacts and in the evaluation view). A parent logs
the mean and sd of test accuracy and macro-F1, and the rest of its summary as a table too.

The library (training results, the comparison, the model card) keeps its own names
(``test_macro_f1``, ``final_val_macro_f1``, ``test_topic.lgbt.macro_f1``); :func:`library_names`
turns what a run logged, in this layout or the flat one of runs logged before it, into those.
"""

from __future__ import annotations

import json
import re

from ..core.names import Metric, Tag

#: the table of a train run's remaining results (and of a parent's remaining summary)
RESULTS_TABLE = "results.json"

#: top-level metrics, library name -> logged name
TOP = {
    Metric.TEST_ACCURACY: "test/accuracy",
    Metric.TEST_MACRO_F1: "test/macro_f1",
    Metric.FINAL_VAL_ACCURACY: "val/final_accuracy",
    Metric.FINAL_VAL_MACRO_F1: "val/final_macro_f1",
    Metric.TRAIN_SECONDS: "train/seconds",
    Metric.TRAIN_LOSS_DROP: "train/loss_drop",
    Metric.PEAK_GPU_MEMORY_MB: "train/peak_gpu_memory_mb",
    Metric.RELOAD_MAX_PROB_DIFF: "check/reload_max_prob_diff",
    Metric.TEST_ACCURACY_MEAN: "test/accuracy_mean",
    Metric.TEST_ACCURACY_STD: "test/accuracy_std",
    Metric.TEST_MACRO_F1_MEAN: "test/macro_f1_mean",
    Metric.TEST_MACRO_F1_STD: "test/macro_f1_std",
}
_BACK = {v: k for k, v in TOP.items()}
#: the training loss logged several times an epoch, by optimizer step
STEP_LOSS = "train/step_loss"
_SLICE = re.compile(r"^(test|final_val|val)_(topic|fold)\.(.+)\.([^.]+)$")
_CLASS = re.compile(r"^(test|final_val|val)_(precision|recall|f1)\.(.+?)(_mean|_std)?$")


def epoch_name(name: str) -> str:
    """A per-epoch metric's logged name: ``val_macro_f1`` -> ``val/macro_f1``, ``train_loss`` -> ``train/loss``."""
    for section in ("val", "train"):
        if name.startswith(section + "_"):
            return f"{section}/{name[len(section) + 1:]}"
    return name


def split(metrics: dict[str, float]) -> tuple[dict[str, float], list[dict]]:
    """The top-level metrics (logged names) and the table rows of the rest."""
    top, rows = {}, []
    for key, value in metrics.items():
        if key in TOP:
            top[TOP[key]] = value
        else:
            rows.append({**describe(key), "value": value, "metric": key})
    return top, rows


def describe(key: str) -> dict[str, str]:
    """The table columns of a library metric name: split, slice kind, slice, measure."""
    split_name = "validation" if key.startswith(("final_val_", "val_")) else "test" if key.startswith("test_") else ""
    if match := _SLICE.match(key):
        return {"split": split_name, "by": match.group(2), "slice": match.group(3), "measure": match.group(4)}
    if match := _CLASS.match(key):
        return {"split": split_name, "by": "class", "slice": match.group(3),
                "measure": match.group(2) + (match.group(4) or "")}
    measure = re.sub(r"^(test|final_val|val)_", "", key)
    return {"split": split_name, "by": "all", "slice": "", "measure": measure}


def library_names(metrics: dict[str, float]) -> dict[str, float]:
    """A run's metrics under the library's names, whatever layout it was logged in."""
    out = {}
    for key, value in metrics.items():
        if key in _BACK:
            out[_BACK[key]] = value
        elif key.startswith(("val/", "train/")):
            out[key.replace("/", "_", 1)] = value
        else:
            out[key] = value
    return out


def scored_classes_tag(classes) -> dict[str, str]:
    """The tag that records the classes a run was scored over (none when they are not known)."""
    return {Tag.SCORED_CLASSES: json.dumps(list(classes), ensure_ascii=False)} if classes else {}


def scored_classes(tags: dict[str, str]) -> tuple[str, ...] | None:
    """The classes a train run's macro-F1 averages over: its :data:`Tag.SCORED_CLASSES`, else (a
    run logged before the tag) every class of its label scheme, as the code then scored it; None
    when neither is known."""
    from ..data import scheme

    if Tag.SCORED_CLASSES in tags:  # a value that is not a list of names (edited by hand): not known
        try:
            value = json.loads(tags[Tag.SCORED_CLASSES])
        except json.JSONDecodeError:
            return None
        return tuple(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    try:
        return scheme(tags.get(Tag.LABELS, "")).classes
    except ValueError:
        return None
