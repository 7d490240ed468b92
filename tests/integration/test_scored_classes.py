"""Issue #19 point 5: no metric is silently deflated. Macro-F1 (and every macro average) is over
the classes present in the gold labels or the predictions; a class that a split lacks is warned
of; compare notes runs scored over different class sets."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from frenk.comparison import CompareOptions, RunRecord, build_report, render_markdown
from frenk.config import CompareConfig, PreprocessConfig, TrainConfig
from frenk.data import PreprocessOptions, missing_class_warnings, prepare
from frenk.data.labels import FRENK_CLASSES
from frenk.data.sample import generate_sample
from frenk.steps import compare, preprocess, train
from frenk.training import core_metrics, evaluate

ABSENT = "Background violence"
FIVE = tuple(c for c in FRENK_CLASSES if c != ABSENT)


# ---------------------------------------------------------------- the averaging, known answers


def test_a_class_neither_present_nor_predicted_is_not_averaged():
    labels, preds = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])  # class 2 of 3: absent, never predicted
    # class 0: P 1, R 1/2, F1 2/3; class 1: P 2/3, R 1, F1 4/5 -> (2/3 + 4/5) / 2, not / 3
    assert core_metrics(labels, preds, 3)["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert core_metrics(labels, preds, 3)["accuracy"] == pytest.approx(0.75)


def test_a_class_absent_but_predicted_counts_as_f1_zero():
    labels, preds = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])  # class 2 predicted once, never true
    # class 0: F1 2/3; class 1: F1 1; class 2: F1 0 -> (2/3 + 1 + 0) / 3
    assert core_metrics(labels, preds, 3)["macro_f1"] == pytest.approx((2 / 3 + 1) / 3)


def test_evaluate_records_the_scored_classes_and_averages_each_slice_over_its_own():
    frame = pd.DataFrame({"id": list("abcdef"), "topic": ["lgbt"] * 4 + ["migrants"] * 2,
                          "label": [0, 0, 1, 1, 0, 0], "fold": [0, 0, 0, 0, 1, 1]})
    preds = np.array([0, 1, 1, 1, 0, 0])
    probs = np.eye(3)[preds]
    ev = evaluate(frame, probs, ["A", "B", "C"])
    assert ev.scored_classes == ("A", "B")
    assert ev.metrics["test_macro_f1"] == pytest.approx(f1_score(frame["label"], preds, labels=[0, 1], average="macro"))
    assert ev.metrics["test_topic.lgbt.macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert ev.metrics["test_topic.migrants.macro_f1"] == pytest.approx(1.0)  # class 0 only: all right
    assert ev.metrics["test_fold.1.macro_f1"] == pytest.approx(1.0)


# ---------------------------------------------------------------- a scheme class missing from the data


@pytest.fixture(scope="module")
def five_class_source(tmp_path_factory):
    """The synthetic sample without its 'Background violence' rows, as a CSV source."""
    frame = generate_sample("hr")
    path = tmp_path_factory.mktemp("five") / "frenk.csv"
    frame[frame["label"] != ABSENT].to_csv(path, index=False)
    return path


def _warning(split: str) -> str:
    return (f"frenk: warning: the {split} split has no example of class '{ABSENT}' (multiclass scheme, 6 classes); "
            "macro-F1 on it is averaged over the 5 classes present")


def test_missing_classes_are_warned_of_once_per_split(five_class_source):
    lines = missing_class_warnings(prepare(PreprocessOptions(source=str(five_class_source), labels="multiclass")))
    assert [line.split(" split ")[0] for line in lines] == ["the train", "the validation", "the test"]
    assert missing_class_warnings(prepare(PreprocessOptions(source="sample", labels="multiclass"))) == []


def test_preprocess_warns_of_a_class_without_examples(mlflow_store, five_class_source, tmp_path, capsys):
    preprocess(PreprocessConfig(source=str(five_class_source), labels="multiclass", output=str(tmp_path / "out")))
    err = capsys.readouterr().err.splitlines()
    assert sum(line.startswith("frenk: warning:") for line in err) == 3
    assert any(line.startswith(_warning("test")) for line in err), err


@pytest.mark.slow
def test_tfidf_logs_the_macro_f1_of_the_classes_present_and_warns(mlflow_store, five_class_source, capsys):
    outcome = train(TrainConfig(model="tfidf", data=str(five_class_source), labels="multiclass"))
    err = capsys.readouterr().err
    assert _warning("test") in err and _warning("validation") in err
    run = mlflow.get_run(outcome.best.run_id)
    predictions = pd.read_parquet(mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                                                       artifact_path="predictions.parquet"))
    present = sorted(set(predictions["label"]) | set(predictions["pred"]))
    assert FRENK_CLASSES.index(ABSENT) not in present
    expected = f1_score(predictions["label"], predictions["pred"], labels=present, average="macro")
    deflated = f1_score(predictions["label"], predictions["pred"], labels=list(range(6)), average="macro", zero_division=0)
    assert run.data.metrics["test/macro_f1"] == pytest.approx(expected) and expected > deflated
    assert json.loads(run.data.tags["frenk.scored_classes"]) == [FRENK_CLASSES[i] for i in present]


# ---------------------------------------------------------------- compare


def _records(system, values, classes):
    return [RunRecord(f"{system}-{s}", system, str(s), "d1", {"test_macro_f1": v, "test_accuracy": v},
                      scored_classes=classes) for s, v in enumerate(values)]


def test_compare_notes_a_pair_scored_over_different_class_sets():
    records = _records("bertic", [0.30, 0.31, 0.32], FIVE) + _records("xlmr", [0.25, 0.26, 0.26], FRENK_CLASSES)
    report = build_report(records, CompareOptions(metrics=("macro_f1", "accuracy")))
    by_metric = {c.metric: c for c in report.comparisons}
    note = by_metric["macro_f1"].class_note
    assert note.startswith("bertic vs xlmr: the runs were scored over different class sets (bertic: 5 classes "
                           f"(without '{ABSENT}'); xlmr: 6 classes)")
    assert by_metric["accuracy"].class_note is None  # accuracy averages no classes
    assert f"- Note: {note}." in render_markdown(report)
    same = build_report(_records("bertic", [0.30, 0.31, 0.32], FIVE) + _records("xlmr", [0.25, 0.26, 0.26], FIVE),
                        CompareOptions(metrics=("macro_f1",)))
    assert same.comparisons[0].class_note is None and "Note:" not in render_markdown(same)


def test_compare_counts_an_old_run_without_the_tag_as_scored_over_its_whole_scheme(mlflow_store):
    for system, values, classes in (("bertic", [0.30, 0.31, 0.32], FIVE), ("xlmr", [0.25, 0.26, 0.26], None)):
        for seed, v in enumerate(values):
            tags = {"frenk.step": "train", "frenk.group": "hr-multiclass", "frenk.model": system, "frenk.seed": str(seed),
                    "frenk.data_digest": "d1", "frenk.labels": "multiclass"}
            if classes:  # xlmr: logged before frenk recorded the class set
                tags["frenk.scored_classes"] = json.dumps(list(classes))
            with mlflow.start_run(tags=tags):
                mlflow.log_metrics({"test_macro_f1": v, "test_accuracy": v, "final_val_macro_f1": v})
    outcome = compare(CompareConfig(group="hr-multiclass"))
    (c,) = [c for c in outcome.report.comparisons if c.metric == "macro_f1"]
    assert "(bertic: 5 classes (without 'Background violence'); xlmr: 6 classes)" in c.class_note
    assert "different class sets" in outcome.markdown


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["frenk", "simpletransformers"])
def test_both_engines_average_validation_over_the_classes_present(engine, five_class_source, tmp_path):
    """Per epoch and after training, the validation macro-F1 of either engine is over the classes
    present in the validation labels or the predictions (five here), not the scheme's six."""
    from frenk.training import fit, load_saved, predict_proba, resolve, settings_for

    data = prepare(PreprocessOptions(source=str(five_class_source), labels="multiclass"))
    spec = resolve("tiny")
    settings = settings_for(spec, epochs=1, max_length=64, engine=engine)
    rows = []
    result = fit(spec, data, settings, tmp_path, [lambda epoch, metrics: rows.append(metrics)])
    val = data.splits["validation"]
    model, tokenizer = load_saved(result.model_dir)
    preds = predict_proba(model, tokenizer, val["text"].tolist(), settings.max_length).argmax(1)
    present = sorted(set(val["label"]) | set(preds))
    assert FRENK_CLASSES.index(ABSENT) not in present
    expected = f1_score(val["label"], preds, labels=present, average="macro", zero_division=0)
    assert result.validation["val_macro_f1"] == pytest.approx(expected)
    assert rows[-1]["val_macro_f1"] == pytest.approx(expected)  # the epoch's row: the same model, the same average
    assert expected > f1_score(val["label"], preds, labels=list(range(6)), average="macro", zero_division=0)
