"""Inputs of the compare report's golden files (``*.json`` beside this module): run records,
options and predictions that reach every part of the report (paired and independent designs,
Holm and Friedman, a baseline, no spread, validation choice, class sets, per-fold and per-example
views). The files were written by the report code before the typed report; the report of these
inputs must stay the same, number for number. A change to the report that is meant (a new key)
rewrites them with ``python -m tests.unit.golden.cases`` (then review the diff)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from frenk.comparison import CompareOptions, RunRecord

A = [0.80, 0.82, 0.81, 0.83, 0.84]
B = [0.79, 0.80, 0.80, 0.81, 0.81]
C = [0.70, 0.71, 0.72, 0.70, 0.69]


#: a crossed design (train -P vary=cross, repeats=9): 3 init seeds x 3 data seeds, init seed + i // 3 and data seed + i % 3
CROSSED = [(i // 3, i % 3) for i in range(9)]
A9 = [0.800, 0.806, 0.809, 0.812, 0.815, 0.821, 0.818, 0.827, 0.829]
B9 = [0.790, 0.792, 0.797, 0.795, 0.801, 0.799, 0.800, 0.806, 0.803]


def _records(system, values, seeds=None, digest="d1", val=None, folds=False, classes=None, sources=None):
    seeds = list(seeds or range(len(values)))
    out = []
    for i, (s, v) in enumerate(zip(seeds, values, strict=True)):
        metrics = {"test_macro_f1": v, "test_accuracy": v + 0.05}
        if val is not None:
            metrics["final_val_macro_f1"] = v + val
        if folds:
            for k in range(3):
                metrics[f"test_fold.{k}.macro_f1"] = v - 0.01 * k + 0.001 * i
        init, data = (str(x) for x in sources[i]) if sources else (None, None)
        out.append(RunRecord(f"{system}-{s}", system, str(s), digest, metrics, start_time=1000 + i,
                             scored_classes=classes, init_seed=init, data_seed=data))
    return out


def _predictions(seed: int, accuracy: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 120)
    right = rng.random(120) < accuracy
    pred = np.where(right, labels, (labels + 1) % 3)
    return pd.DataFrame({"id": range(120), "label": labels, "pred": pred})


def cases() -> dict[str, tuple]:
    """name -> (records, options, predictions, best runs)."""
    extra = [RunRecord("parent", "bertic", None, "d1", {"test_macro_f1_mean": 0.8}, is_parent=True),
             RunRecord("failed", "xlmr", "9", "d1", {}, status="FAILED"),
             RunRecord("nometric", "xlmr", "8", "d1", {"test_accuracy": 0.5}),
             RunRecord("xlmr-2-old", "xlmr", "2", "d1", {"test_macro_f1": 0.5, "test_accuracy": 0.5}, start_time=1)]
    return {
        "paired": (_records("bertic", A, val=0.01) + _records("xlmr", B, val=0.03) + extra,
                   CompareOptions(metrics=("macro_f1", "accuracy"), pairing="seed"), None, None),
        "independent": (_records("a", A, seeds=range(5)) + _records("b", [0.80, 0.80, 0.80, 0.80, 0.70],
                                                                    seeds=range(10, 15)),
                        CompareOptions(metrics=("macro_f1",)), None, None),
        "three": (_records("a", A, val=0.0, folds=True) + _records("b", B, val=0.1, folds=True)
                  + _records("c", C, folds=True),
                  CompareOptions(metrics=("macro_f1", "accuracy"), pairing="seed"),
                  {"a": _predictions(1, 0.8), "b": _predictions(2, 0.7)}, {"a": "a-0", "b": "b-1"}),
        "three_short": (_records("a", A[:3]) + _records("b", B[:3]) + _records("c", C[:3]),
                        CompareOptions(metrics=("macro_f1",)), None, None),
        "baseline": (_records("a", A) + _records("b", B) + _records("tfidf", [0.6] * 5),
                     CompareOptions(metrics=("macro_f1",), baseline="tfidf", alpha=0.1), None, None),
        "no_spread": (_records("tiny", [0.7, 0.7, 0.7]) + _records("tfidf", [0.8, 0.8, 0.8]),
                      CompareOptions(metrics=("macro_f1",)), None, None),
        "two_runs": (_records("a", [0.8, 0.82]) + _records("b", [0.79, 0.78]),
                     CompareOptions(metrics=("macro_f1",)), None, None),
        "equal": (_records("a", [0.8, 0.81, 0.79]) + _records("b", [0.8, 0.81, 0.79], seeds=range(10, 13)),
                  CompareOptions(metrics=("macro_f1",)), None, None),
        "classes": (_records("a", A, classes=("x", "y", "z")) + _records("b", B, classes=("x", "y")),
                    CompareOptions(metrics=("macro_f1",)), None, None),
        "mixed_data": (_records("a", A) + _records("b", B, digest="d2"),
                       CompareOptions(metrics=("macro_f1",), allow_mixed_data=True), None, None),
        "crossed": (_records("a", A9, sources=CROSSED) + _records("b", B9, sources=CROSSED),
                    CompareOptions(metrics=("macro_f1",), pairing="seed"), None, None),
        "mismatched_predictions": (_records("a", A) + _records("b", B), CompareOptions(metrics=("macro_f1",)),
                                   {"a": _predictions(1, 0.8), "b": _predictions(3, 0.8)}, {"a": "a-0", "b": "b-0"}),
    }


def write_golden_files(folder: Path = Path(__file__).parent) -> None:
    """The report.json (without its ``version``) and report.md of every case, as the golden files."""
    from frenk.comparison import build_report, render_markdown

    for name, (records, opts, predictions, best) in cases().items():
        report = build_report(records, opts, predictions, best)
        saved = report.to_dict()
        saved.pop("version")
        (folder / f"{name}.json").write_text(json.dumps(saved, indent=1) + "\n")
        (folder / f"{name}.md").write_text(render_markdown(report))


if __name__ == "__main__":
    write_golden_files()
