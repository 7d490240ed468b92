"""From clean rows to prepared splits: de-duplication, the train/test overlap check, the
validation split by thread, deterministic order, test folds, the manifest and its digests."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

from ..core.errors import DataError
from .cleaning import clean
from .labels import scheme
from .options import PreprocessOptions
from .prepared import SPLITS, PreparedData, canonical_digest, is_prepared_folder, load_prepared
from .sources import read_source


def _order(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Sort by id (independent of input order), then shuffle deterministically with ``seed``."""
    frame = frame.sort_values(["id", "label"], kind="stable").reset_index(drop=True)
    perm = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[perm].reset_index(drop=True)


def _groups(frame: pd.DataFrame) -> np.ndarray:
    return np.where(frame["thread"].isna(), "id:" + frame["id"], "thread:" + frame["thread"].astype(str))


def _deduplicated_splits(frame: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    splits, dropped = {}, {}
    for name in SPLITS:
        part = frame[frame["split"] == name].drop(columns="split").sort_values(["id", "label"], kind="stable")
        splits[name] = part.drop_duplicates(subset="text", keep="first")
        dropped[name] = len(part) - len(splits[name])
    return splits, dropped


def _check_overlap(splits: dict[str, pd.DataFrame], opts: PreprocessOptions, description: str) -> int:
    overlap = set(splits["test"]["text"]) & (set(splits["train"]["text"]) | set(splits["validation"]["text"]))
    if overlap and not opts.allow_overlap:
        example = sorted(overlap)[0]
        raise DataError(
            f"{description}: {len(overlap)} text(s) appear in both train/validation and test, e.g. {example[:80]!r}. "
            "Test scores would be inflated; fix the source or pass allow_overlap=true to accept it."
        )
    return len(overlap)


def _split_validation(splits: dict[str, pd.DataFrame], opts: PreprocessOptions) -> str:
    """Hold out ``validation_fraction`` of the training threads when the source has no validation split."""
    if not splits["validation"].empty:
        return "source"
    train = _order(splits["train"], opts.seed)
    splitter = GroupShuffleSplit(n_splits=1, test_size=opts.validation_fraction, random_state=opts.seed)
    tr_idx, va_idx = next(splitter.split(train, groups=_groups(train)))
    splits["train"], splits["validation"] = train.iloc[tr_idx], train.iloc[va_idx]
    return f"{opts.validation_fraction:g} of the training threads (GroupShuffleSplit, seed {opts.seed})"


def _with_folds(test: pd.DataFrame, folds: int, description: str) -> pd.DataFrame:
    groups = _groups(test)
    if len(set(groups)) < folds:
        raise DataError(f"{description}: the test split has {len(set(groups))} thread/example groups, "
                        f"fewer than folds={folds}")
    fold = np.full(len(test), -1, dtype=np.int64)
    for k, (_, idx) in enumerate(GroupKFold(n_splits=folds).split(test, groups=groups)):
        fold[idx] = k
    return test.assign(fold=fold)


def _manifest(splits: dict[str, pd.DataFrame], opts: PreprocessOptions, description: str, **facts) -> dict:
    labels = scheme(opts.labels)
    counts = {
        name: {
            topic: {cls: int(((part["topic"] == topic) & (part["label_name"] == cls)).sum()) for cls in labels.classes}
            for topic in opts.topic_list
        }
        for name, part in splits.items()
    }
    digests = {name: canonical_digest(part) for name, part in splits.items()}
    parameters = {"lang": opts.lang, "source": opts.source, "topics": list(opts.topic_list), "labels": opts.labels,
                  "seed": opts.seed, "folds": opts.folds, "validation_fraction": opts.validation_fraction,
                  "allow_overlap": opts.allow_overlap,
                  **({"sample_size": opts.sample_size} if opts.sample_size else {})}
    return {
        "format": 1, "source": description, "parameters": parameters,
        "label_map": {str(i): name for i, name in labels.id2label.items()},
        "validation_split": facts["validation_split"],
        "rows": {name: len(part) for name, part in splits.items()},
        "duplicates_dropped": facts["duplicates_dropped"], "overlapping_texts": facts["overlapping_texts"],
        "counts": counts, "digests": digests,
        "data_digest": hashlib.sha256("".join(digests[s] for s in SPLITS).encode()).hexdigest(),
    }


def prepare(opts: PreprocessOptions, param: str = "source") -> PreparedData:
    """Read, validate, clean, split and fold the data. Writes nothing. ``param``: the step's
    parameter that named the source (its messages say ``data=`` in train, tune and main)."""
    raw, description = read_source(opts.source, opts.lang, opts.sample_size, param)
    frame = clean(raw, opts)
    frame = frame[frame["topic"].isin(opts.topic_list)]
    if frame.empty:
        raise DataError(f"{description}: no rows for topics {opts.topics}")
    splits, dropped = _deduplicated_splits(frame)
    if splits["train"].empty or splits["test"].empty:
        raise DataError(
            f"{description}: needs both train and test rows (found {len(splits['train'])} train, "
            f"{len(splits['test'])} test)"
        )
    overlapping = _check_overlap(splits, opts, description)
    validation_split = _split_validation(splits, opts)
    splits = {name: _order(part, opts.seed) for name, part in splits.items()}
    splits["test"] = _with_folds(splits["test"], opts.folds, description)
    manifest = _manifest(splits, opts, description, validation_split=validation_split, duplicates_dropped=dropped,
                         overlapping_texts=overlapping)
    return PreparedData(splits=splits, manifest=manifest)


def load_or_prepare(data: str, opts: PreprocessOptions) -> PreparedData:
    """A preprocessed folder is read as it is; any other ``data`` is a source, prepared in-process
    (its messages name the step's parameter, ``data``)."""
    if data not in ("hub", "sample") and Path(data).is_dir() and is_prepared_folder(data):
        return load_prepared(data)
    return prepare(replace(opts, source=data), param="data")
