"""Cleaning raw rows: normalised text, labels mapped one by one onto the scheme (never a NaN
label after a merge), canonical topic and split names, stable example ids."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import pandas as pd

from ..core.errors import DataError
from .labels import LabelMappingError, map_label, scheme
from .options import PreprocessOptions
from .sources import SPLIT_NAMES, TOPIC_NAMES

#: the columns of a prepared split (test adds ``fold``)
OUTPUT_COLUMNS = ["id", "text", "label", "label_name", "topic", "target", "thread"]


def rows_error(path: str, row: int | None, message: str) -> DataError:
    where = f"{path}, row {row}" if row is not None else path
    return DataError(f"{where}: {message}")


def normalise_text(value: object) -> str | None:
    """Unicode NFC and single spaces; ``None`` for missing or blank text."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def example_id(text: str, topic: str) -> str:
    """A stable id: the first 16 hex digits of SHA-256 over topic and text."""
    return hashlib.sha256(f"{topic}\x1f{text}".encode()).hexdigest()[:16]


def lookup(value: object, table: dict[str, str]) -> str | None:
    """A topic or split name in its canonical spelling, or None when missing or unknown."""
    return table.get(value.strip().lower()) if isinstance(value, str) else None


def _optional(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _canonical(rec: dict, column: str, table: dict[str, str], hint: str) -> str:
    value = lookup(rec.get(column), table)
    if value is None:
        raise rows_error(rec["_file"], int(rec["_row"]), f"{column} {rec.get(column)!r} is missing or unknown; {hint}")
    return value


def clean_row(rec: dict, opts: PreprocessOptions) -> dict:
    """One raw row as a clean row, or a :class:`DataError` naming its file and row."""
    file, row = rec["_file"], int(rec["_row"])
    text = normalise_text(rec.get("text"))
    if text is None:
        raise rows_error(file, row, "text is empty or missing; remove the row or fill it in")
    try:
        label = map_label(rec.get("label"), opts.labels)
    except LabelMappingError as exc:
        raise rows_error(file, row, f"{exc}") from None
    topic = _canonical(rec, "topic", TOPIC_NAMES,
                       "add a 'topic' column (lgbt or migrants) or put lgbt/migrants in the file name")
    split = _canonical(rec, "split", SPLIT_NAMES,
                       "add a 'split' column (train, dev/validation, test) or put train/test in the file name")
    return {
        "id": example_id(text, topic), "text": text, "label": label, "label_name": scheme(opts.labels).classes[label],
        "topic": topic, "target": _optional(rec.get("target")), "thread": _optional(rec.get("thread")), "split": split,
    }


def clean(raw: pd.DataFrame, opts: PreprocessOptions) -> pd.DataFrame:
    """Every raw row cleaned (see :func:`clean_row`), with a ``split`` column."""
    return pd.DataFrame([clean_row(rec, opts) for rec in raw.to_dict("records")], columns=OUTPUT_COLUMNS + ["split"])
