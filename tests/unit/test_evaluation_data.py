"""Issue 22 point 3: what evaluate scores: a prepared folder's split, its gold labels mapped onto the
model's scheme (six classes -> binary as FRENK does; binary -> six classes refused), or a user's file
(labels by name, or none: predictions only); the card's Out of domain table."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from frenk.core.errors import ConfigError, DataError
from frenk.data import PreprocessOptions, load_prepared, prepare, write_prepared
from frenk.data.evaluation_data import load_eval_data, mapping_between
from frenk.publishing.out_of_domain import OutOfDomainRow
from frenk.training.scoring import predictions_only, scheme_of


def test_label_mappings_between_schemes():
    assert mapping_between("binary", "binary") == "none"
    assert mapping_between("multiclass", "multiclass") == "none"
    assert mapping_between("multiclass", "binary") == "multiclass->binary"
    with pytest.raises(ConfigError, match="binary labels but the model predicts the multiclass.*no mapping"):
        mapping_between("binary", "multiclass")


def test_a_prepared_split_and_all_splits(prepared_sample):
    data = load_prepared(prepared_sample)
    test = load_eval_data(str(prepared_sample), "test", "binary")
    assert len(test.frame) == len(data.splits["test"]) and "fold" in test.frame.columns
    assert test.digest == data.data_digest and test.split_digest == data.manifest["digests"]["test"]
    assert test.lang == "hr" and test.topics == ["lgbt", "migrants"] and test.mapping == "none"
    every = load_eval_data(str(prepared_sample), "all", "binary")
    assert len(every.frame) == sum(len(p) for p in data.splits.values()) and "fold" not in every.frame.columns
    with pytest.raises(ConfigError, match="binary labels but the model predicts the multiclass"):
        load_eval_data(str(prepared_sample), "test", "multiclass")


def test_six_class_gold_labels_become_binary_as_frenk_does(tmp_path):
    folder = write_prepared(prepare(PreprocessOptions(lang="sl", source="sample", labels="multiclass")),
                            tmp_path / "sl6")
    six = load_prepared(folder).splits["validation"]["label"].to_numpy()
    got = load_eval_data(str(folder), "validation", "binary")
    assert got.mapping == "multiclass->binary"
    np.testing.assert_array_equal(got.frame["label"].to_numpy(), [0 if label == 0 else 1 for label in six])
    assert {0, 1} == set(got.frame["label"])


def test_a_users_file_with_labels_by_name_and_without(tmp_path):
    labelled = tmp_path / "mine.csv"
    labelled.write_text("text,label,topic\nVan s njima,Other offensive,migrants\nLijepo,Acceptable speech,lgbt\n"
                        "Gamad,Offensive,\n", encoding="utf-8")
    got = load_eval_data(str(labelled), "test", "binary")
    assert got.split == "file" and got.mapping == "by name" and got.lang is None
    assert got.frame["label"].tolist() == [1, 0, 1] and got.frame["topic"].tolist() == ["migrants", "lgbt", "unknown"]
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"text": "jedan", "id": "a"}\n{"text": "dva", "id": "b"}\n', encoding="utf-8")
    unlabelled = load_eval_data(str(bare), "test", "binary")
    assert not unlabelled.labelled and unlabelled.mapping == "no labels"
    assert unlabelled.frame["id"].tolist() == ["a", "b"]
    out = predictions_only(unlabelled.frame, np.array([[0.8, 0.2], [0.3, 0.7]]), ["Acceptable", "Offensive"])
    assert out["pred_name"].tolist() == ["Acceptable", "Offensive"] and out["text"].tolist() == ["jedan", "dva"]
    assert out["prob.Offensive"].tolist() == [0.2, 0.7]


@pytest.mark.parametrize(("content", "scheme", "words"), [
    ("text,label\njedan,Offensive\ndva,\n", "binary", "row 2: no label, while other rows have one"),
    ("comment,label\njedan,Offensive\n", "binary", "no 'text' column"),
    ("text,label\njedan,Offensive\n", "multiclass", "row 1: label 'Offensive' is a binary label"),
    ("text,label\njedan,Hateful\n", "binary", "row 1: unknown label 'Hateful'"),
    ("text,label\n,Offensive\n", "binary", "row 1: text is empty"),
])
def test_a_users_file_is_refused_in_one_line(tmp_path, content, scheme, words):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=words):
        load_eval_data(str(path), "test", scheme)


def test_missing_data_is_refused(tmp_path):
    with pytest.raises(DataError, match="no such folder or file"):
        load_eval_data(str(tmp_path / "nope"), "test", "binary")
    with pytest.raises(DataError, match="not a preprocessed folder"):
        load_eval_data(str(tmp_path), "test", "binary")


def test_the_model_scheme_comes_from_its_labels():
    assert scheme_of(["Acceptable", "Offensive"]) == "binary"
    with pytest.raises(Exception, match="neither"):
        scheme_of(["yes", "no"])


def _facts():
    from frenk.comparison import ComparisonReport
    from frenk.publishing import RunFacts, card_facts

    tags = {"frenk.model": "tiny", "frenk.model_id": "tiny", "frenk.lang": "hr", "frenk.labels": "binary",
            "frenk.data_digest": "d" * 64, "frenk.data_source": "synthetic sample (hr)"}
    metrics = {"test_accuracy": 0.7, "test_macro_f1": 0.6, "final_val_macro_f1": 0.65}
    seed = RunFacts("run42", {**tags, "frenk.seed": "42"}, {"model": "tiny", "data": "sample", "seed": "42"}, metrics)
    report = ComparisonReport.from_dict({"alpha": 0.05, "comparisons": [], "runs": {"tiny": ["run42"]}})
    return card_facts("frenk-hr", "1", seed, [seed], report, "cmp", {0: "Acceptable", 1: "Offensive"})


def test_the_card_lists_out_of_domain_results():
    from frenk.publishing import render_card

    facts = _facts()
    assert "## Out of domain" not in render_card(facts)
    row = OutOfDomainRow("r" * 32, "evaluate-frenk-hr-v1-sl", "data/sl (test split, sl/binary)", "e" * 64, "sl",
                         "lgbt,migrants", "none", 471, 0.41234, 0.5)
    other = OutOfDomainRow("s" * 32, "evaluate-frenk-hr-v1-en", "data/en6", "f" * 64, "en", "lgbt",
                           "multiclass->binary", 10, math.nan, 0.25, "http://host:5000/#/x")
    card = render_card(dataclasses.replace(facts, out_of_domain=(row, other)))
    table = card.split("## Out of domain", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| `")]
    assert lines[0] == ("| `data/sl (test split, sl/binary)` (digest `eeeeeeeeeeee`) | sl / lgbt,migrants | none | "
                        f"0.4123 | 0.5000 | 471 | evaluate-frenk-hr-v1-sl (`{'r' * 32}`) |")
    assert "| multiclass->binary | n/a | 0.2500 | 10 | [evaluate-frenk-hr-v1-en](http://host:5000/#/x)" in lines[1]


def test_main_evaluates_other_languages_prepared_from_hub_or_sample():
    from frenk.config import MainConfig

    assert MainConfig(evaluate="sl,en", data="sample").evaluate == "sl,en"
    for bad in ("hr", "sl,de", "hr,sl"):
        with pytest.raises(ConfigError, match=f"evaluate={bad!r}: give a comma list of other languages than hr"):
            MainConfig(evaluate=bad)
    with pytest.raises(ConfigError, match="from data=hub or data=sample"):
        MainConfig(evaluate="sl", data="my/files")


def test_the_tfidf_baseline_is_refused_before_anything_is_unpickled(tmp_path):
    import json

    from frenk.core.errors import ModelError
    from frenk.training.scoring import load_scorer

    (tmp_path / "frenk.json").write_text(json.dumps({"kind": "tfidf", "max_length": 128}))
    (tmp_path / "model.joblib").write_bytes(b"not to be unpickled")
    with pytest.raises(ModelError, match="TF-IDF baseline.*never unpickling"):
        load_scorer(tmp_path, "frenk-hr version 1")
