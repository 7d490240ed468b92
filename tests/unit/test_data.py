"""Preprocessing: merging, validation, determinism, folds (no MLflow)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from frenk.core.errors import ConfigError, DataError
from frenk.data import PreprocessOptions, load_prepared, prepare, write_prepared


def _rows(topic: str, n: int, split: str, offset: int = 0, labels=("Acceptable speech", "Other offensive")):
    return [
        {
            "text": f"{topic} comment number {i + offset} about things",
            "label": labels[i % len(labels)],
            "topic": topic,
            "split": split,
            "thread": f"{topic}-{split}-{(i + offset) // 3}",
        }
        for i in range(n)
    ]


def _write_csv(path, rows, **kwargs):
    pd.DataFrame(rows).to_csv(path, index=False, **kwargs)
    return path


@pytest.fixture
def good_folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for topic in ("lgbt", "migrants"):
        _write_csv(src / f"{topic}.csv", _rows(topic, 60, "train") + _rows(topic, 30, "test", offset=100))
    return src


def test_sample_prepares_all_splits():
    data = prepare(PreprocessOptions(lang="sl", source="sample"))
    rows = data.manifest["rows"]
    assert rows["train"] > rows["validation"] > 0 and rows["test"] > 0
    for frame in data.splits.values():
        assert frame["label"].notna().all() and set(frame["label"]) == {0, 1}
        assert frame["id"].is_unique
    assert data.manifest["validation_split"].startswith("0.1 of the training threads")
    # no thread is split between train and validation
    assert not set(data.splits["train"]["thread"]) & set(data.splits["validation"]["thread"])


def test_merge_of_topic_files_with_mismatched_columns(tmp_path):
    """The bug that started the project: two topic files whose columns differ in order, case
    and dtype gave NaN labels after a naive merge, and training ran on them."""
    src = tmp_path / "src"
    src.mkdir()
    lgbt = pd.DataFrame(_rows("lgbt", 40, "train") + _rows("lgbt", 20, "test", offset=100))
    lgbt["label"] = [0 if lab.startswith("Acceptable") else 1 for lab in lgbt["label"]]  # integer dtype
    lgbt.to_csv(src / "lgbt.csv", index=False)
    migrants = pd.DataFrame(_rows("migrants", 40, "train") + _rows("migrants", 20, "test", offset=100))
    migrants = migrants[["split", "thread", "topic", "label", "text"]]  # other order
    migrants.columns = ["Split", "THREAD", "Topic", "Label", " Text "]  # other case and spacing
    migrants.to_csv(src / "migrants.csv", index=False)

    naive = pd.concat([pd.read_csv(src / "lgbt.csv"), pd.read_csv(src / "migrants.csv")])
    assert naive["label"].isna().any(), "the naive merge reproduces the NaN labels"

    data = prepare(PreprocessOptions(source=str(src), folds=3))
    merged = pd.concat(data.splits.values())
    assert merged["label"].notna().all()
    assert len(merged) == 120
    expected = {text: int(not lab.startswith("Acceptable")) for text, lab in
                ((r["text"], r["label"]) for r in _rows("migrants", 40, "train") + _rows("migrants", 20, "test", offset=100))}
    got = dict(zip(merged.loc[merged.topic == "migrants", "text"], merged.loc[merged.topic == "migrants", "label"], strict=False))
    assert got == expected
    assert data.manifest["counts"]["test"]["lgbt"] == {"Acceptable": 10, "Offensive": 10}


def test_formats_and_split_from_file_names(tmp_path):
    src = tmp_path / "frenk"
    src.mkdir()
    rows = _rows("lgbt", 30, "train")
    pd.DataFrame(rows).drop(columns="split").to_json(src / "lgbt_train.jsonl", orient="records", lines=True, force_ascii=False)
    pd.DataFrame(_rows("lgbt", 30, "x", offset=50)).drop(columns="split").to_csv(src / "lgbt_test.tsv", sep="\t", index=False)
    pd.DataFrame(_rows("migrants", 30, "train", offset=200)).to_parquet(src / "migrants.parquet")
    pd.DataFrame(_rows("migrants", 30, "test", offset=300)).to_parquet(src / "more_migrants.parquet")
    data = prepare(PreprocessOptions(source=str(src), folds=3))
    assert data.manifest["rows"]["test"] == 60
    assert sum(data.manifest["rows"].values()) == 120


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda rows: [{k: v for k, v in r.items() if k != "label"} for r in rows], "missing column(s) label"),
        (lambda rows: [{**r, "text": "   "} if i == 4 else r for i, r in enumerate(rows)], "row 5: text is empty"),
        (lambda rows: [{**r, "text": None} if i == 2 else r for i, r in enumerate(rows)], "row 3: text is empty"),
        (lambda rows: [{**r, "label": None} if i == 7 else r for i, r in enumerate(rows)], "row 8: label is missing"),
        (lambda rows: [{**r, "label": "hateful"} if i == 0 else r for i, r in enumerate(rows)], "row 1: unknown label "
                                                                                                "'hateful'"),
    ],
)
def test_bad_input_names_file_and_row(tmp_path, good_folder, mutate, fragment):
    bad = good_folder / "lgbt.csv"
    rows = pd.read_csv(bad, dtype=object).to_dict("records")
    _write_csv(bad, mutate(rows))
    with pytest.raises(DataError) as info:
        prepare(PreprocessOptions(source=str(good_folder), folds=3))
    assert "lgbt.csv" in str(info.value)
    assert fragment in str(info.value)


def test_unreadable_encoding(tmp_path, good_folder):
    path = good_folder / "lgbt.csv"
    path.write_bytes(path.read_bytes() + "lgbt,\"ne\u010dega\",Acceptable speech,train,t\n".encode("cp1250"))
    with pytest.raises(DataError, match=r"lgbt.csv: cannot be read as UTF-8 .*line 92"):
        prepare(PreprocessOptions(source=str(good_folder), folds=3))


def test_duplicates_dropped_and_counted(good_folder):
    path = good_folder / "lgbt.csv"
    frame = pd.read_csv(path)
    pd.concat([frame, frame.iloc[:3]]).to_csv(path, index=False)
    data = prepare(PreprocessOptions(source=str(good_folder), folds=3))
    assert data.manifest["duplicates_dropped"]["train"] == 3


def test_train_test_overlap_is_an_error_unless_allowed(good_folder):
    path = good_folder / "lgbt.csv"
    frame = pd.read_csv(path)
    leak = frame.iloc[[0]].assign(split="test")
    pd.concat([frame, leak]).to_csv(path, index=False)
    with pytest.raises(DataError, match="appear in both train/validation and test.*allow_overlap=true"):
        prepare(PreprocessOptions(source=str(good_folder), folds=3))
    data = prepare(PreprocessOptions(source=str(good_folder), folds=3, allow_overlap=True))
    assert data.manifest["overlapping_texts"] == 1


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_order(tmp_path):
    a = write_prepared(prepare(PreprocessOptions(source="sample", seed=1)), tmp_path / "a")
    b = write_prepared(prepare(PreprocessOptions(source="sample", seed=1)), tmp_path / "b")
    c = write_prepared(prepare(PreprocessOptions(source="sample", seed=2)), tmp_path / "c")
    for name in ("train.parquet", "validation.parquet", "test.parquet", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    ma, mc = (json.loads((p / "manifest.json").read_text()) for p in (a, c))
    assert ma["digests"]["test"] != mc["digests"]["test"]
    test_a, test_c = pd.read_parquet(a / "test.parquet"), pd.read_parquet(c / "test.parquet")
    assert set(test_a["id"]) == set(test_c["id"]) and list(test_a["id"]) != list(test_c["id"])


def test_input_order_does_not_matter(good_folder, tmp_path):
    first = prepare(PreprocessOptions(source=str(good_folder), folds=3))
    path = good_folder / "lgbt.csv"
    pd.read_csv(path).iloc[::-1].to_csv(path, index=False)
    assert prepare(PreprocessOptions(source=str(good_folder), folds=3)).data_digest == first.data_digest


def test_folds_partition_the_test_split_by_thread():
    data = prepare(PreprocessOptions(source="sample", folds=5))
    test = data.splits["test"]
    assert set(test["fold"]) == {0, 1, 2, 3, 4}
    assert (test.groupby("fold").size() > 0).all()
    assert test["fold"].between(0, 4).all() and len(test) == test["id"].nunique()
    # a thread never spans two folds
    assert (test.groupby("thread")["fold"].nunique() == 1).all()


def test_multiclass_keeps_frenk_order():
    data = prepare(PreprocessOptions(source="sample", labels="multiclass"))
    assert list(data.manifest["label_map"].values())[0] == "Acceptable speech"
    assert set(pd.concat(data.splits.values())["label"]) == set(range(6))


def test_prepared_folder_round_trip_and_tamper_check(tmp_path):
    out = write_prepared(prepare(PreprocessOptions(source="sample")), tmp_path / "p")
    loaded = load_prepared(out)
    assert loaded.manifest["rows"]["test"] == len(loaded.splits["test"])
    frame = pd.read_parquet(out / "train.parquet")
    frame.loc[0, "label"] = 1 - frame.loc[0, "label"]
    frame.to_parquet(out / "train.parquet", index=False)
    with pytest.raises(DataError, match="does not match the digest"):
        load_prepared(out)


def test_output_that_is_not_ours_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="non-empty folder"):
        write_prepared(prepare(PreprocessOptions(source="sample")), other)
    assert (other / "notes.txt").read_text() == "mine"


def test_config_validation():
    with pytest.raises(ConfigError, match="lang"):
        PreprocessOptions(lang="de")
    with pytest.raises(ConfigError, match="topics"):
        PreprocessOptions(topics="lgbt,sports")
    with pytest.raises(ConfigError, match="folds"):
        PreprocessOptions(folds=1)


def test_hub_source_reads_the_parquet_conversion_layout(tmp_path, monkeypatch):
    """The Hub reader on a local stand-in of the Hub's parquet conversion (the layout of
    classla/FRENK-hate-*: multiclass/<split>/0000.parquet with FRENK class ids)."""
    import fsspec
    import huggingface_hub

    root = tmp_path / "datasets" / "classla" / "FRENK-hate-hr@refs%2Fconvert%2Fparquet" / "multiclass"
    for split, offset in (("train", 0), ("validation", 500), ("test", 1000)):
        (root / split).mkdir(parents=True)
        rows = _rows("lgbt", 30, split, offset=offset) + _rows("migrants", 30, split, offset=offset)
        frame = pd.DataFrame(rows).drop(columns=["split", "thread"])
        frame["label"] = [i % 6 for i in range(len(frame))]  # ClassLabel ids in FRENK order
        frame.to_parquet(root / split / "0000.parquet")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub, "HfFileSystem", lambda: fsspec.filesystem("file"))
    monkeypatch.setattr("frenk.hub.access", lambda: "online")  # the stand-in answers
    data = prepare(PreprocessOptions(source="hub", labels="multiclass", folds=3))
    assert data.manifest["rows"] == {"train": 60, "validation": 60, "test": 60}
    assert data.manifest["validation_split"] == "source"
    assert set(data.splits["test"]["label"]) == set(range(6))
    assert data.manifest["source"].startswith("hf://datasets/classla/FRENK-hate-hr")
    binary = prepare(PreprocessOptions(source="hub", folds=3))
    assert binary.manifest["counts"]["train"]["lgbt"] == {"Acceptable": 5, "Offensive": 25}


def test_hub_source_offline_says_what_to_do(monkeypatch):
    with pytest.raises(DataError, match=r"cannot read classla/FRENK-hate-hr from the Hugging Face Hub: HF_HUB_OFFLINE "
                                        r"is set \(the Hub was not asked\).*source=sample"):
        prepare(PreprocessOptions(source="hub"))


def test_messages_name_the_steps_own_parameter(tmp_path):
    """preprocess's parameter is source=, train's, tune's and main's is data= (load_or_prepare):
    each message says the one the user typed."""
    from frenk.data.splits import load_or_prepare

    missing = str(tmp_path / "nope")
    with pytest.raises(DataError, match=r"Use source=hub, source=sample or a path"):
        prepare(PreprocessOptions(source=missing))
    with pytest.raises(DataError, match=r"Use data=hub, data=sample, a preprocessed folder or a path") as caught:
        load_or_prepare(missing, PreprocessOptions())
    assert "source=" not in str(caught.value)
    with pytest.raises(DataError, match=r"as data=<path>, or use data=sample") as caught:
        load_or_prepare("hub", PreprocessOptions())
    assert "source=" not in str(caught.value)
