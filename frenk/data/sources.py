"""Reading raw FRENK-shaped rows from a source: the Hugging Face Hub, the synthetic sample, or
CSV/TSV/JSONL/Parquet files (see the README for the layouts)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import DataError
from .labels import FRENK_CLASSES
from .sample import generate_sample

FORMATS = (".csv", ".tsv", ".jsonl", ".parquet")
HUB_DATASET = "classla/FRENK-hate-{lang}"
#: the marker file of a preprocessed folder
MANIFEST = "manifest.json"

#: spellings of split names in columns and file names -> the canonical name
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "dev": "validation",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}
#: spellings of topic names -> the canonical name
TOPIC_NAMES = {"lgbt": "lgbt", "lgbtq": "lgbt", "migrant": "migrants", "migrants": "migrants"}


def read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: cannot be read as UTF-8 (byte {exc.start}, line {line}: {exc.reason}); "
            "re-save the file as UTF-8"
        ) from None


def parse_file(path: Path) -> pd.DataFrame:
    """One CSV/TSV/JSONL/Parquet file as a frame, its column names lower-cased and stripped (names
    differing in case or spaces between files must not split columns); a one-line DataError for an
    unknown format, a parser's error or a repeated column."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv"):
            frame = pd.read_csv(
                io.StringIO(read_text_file(path)),
                sep="\t" if suffix == ".tsv" else ",",
                dtype=object,
                keep_default_na=False,
                na_values=[""],
            )
        elif suffix == ".jsonl":
            frame = pd.read_json(io.StringIO(read_text_file(path)), lines=True, dtype=False)
        else:
            raise DataError(f"{path}: unsupported format {suffix!r}; use one of {', '.join(FORMATS)}")
    except DataError:
        raise
    except Exception as exc:  # parser errors from pandas/pyarrow: say which file
        raise DataError(f"{path}: cannot be parsed as {suffix[1:]}: {str(exc)[:300]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"{path}: columns {dup} appear more than once (names are compared case-insensitively)")
    return frame


def read_file(path: Path) -> pd.DataFrame:
    """Read one file into a frame of strings/objects, with its original row numbers."""
    frame = parse_file(path)
    missing = [c for c in ("text", "label") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns) or 'none'}. "
            "Every file needs a 'text' and a 'label' column."
        )
    frame = frame.astype(object)
    frame["_file"] = str(path)
    # row numbers as a person counts them in the file: 1 = first data row
    frame["_row"] = np.arange(1, len(frame) + 1)
    return frame


def hint_from_name(path: Path, table: dict[str, str]) -> str | None:
    tokens = re.split(r"[^a-z]+", path.stem.lower())
    hits = {table[t] for t in tokens if t in table}
    return hits.pop() if len(hits) == 1 else None


def read_path(path: str | os.PathLike, param: str = "source") -> pd.DataFrame:
    """Read a file or a folder of files into one frame (columns aligned by name); ``param``: the
    step's parameter that named it (``source`` in preprocess, ``data`` in train, tune and main),
    which the messages use."""
    root = Path(path)
    if not root.exists():
        prepared = ", a preprocessed folder" if param != "source" else ""
        raise DataError(
            f"{root}: no such file or folder. Use {param}=hub, {param}=sample{prepared} or a path to FRENK files."
        )
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in FORMATS) if root.is_dir() else [root]
    if not files:
        raise DataError(
            f"{root}: neither a preprocessed folder ({MANIFEST} missing) nor a folder of "
            f"{', '.join(FORMATS)} files; run the preprocess step or point to the data files"
        )
    frames = []
    for f in files:
        frame = read_file(f)
        if "split" not in frame.columns:
            frame["split"] = hint_from_name(f, SPLIT_NAMES)
        if "topic" not in frame.columns:
            frame["topic"] = hint_from_name(f, TOPIC_NAMES)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True, sort=False)


def read_hub(lang: str, param: str = "source") -> pd.DataFrame:
    """Read ``classla/FRENK-hate-{lang}`` from the Hub's parquet conversion (needs internet);
    ``param`` as in :func:`read_path`."""
    from huggingface_hub import HfFileSystem

    from .. import hub

    repo = HUB_DATASET.format(lang=lang)
    if hub.offline_reason():
        raise DataError(
            f"cannot read {repo} from the Hugging Face Hub: {hub.offline_reason()}. Download FRENK from CLARIN.SI "
            f"(or the Hub's parquet files where there is internet) and pass its folder as {param}=<path>, or use "
            f"{param}=sample."
        )
    root = f"datasets/{repo}@refs%2Fconvert%2Fparquet/multiclass"
    try:
        fs = HfFileSystem()
        files = sorted(fs.glob(root + "/**/*.parquet"))
        if not files:
            raise FileNotFoundError(root)
        frames = []
        for name in files:
            with fs.open(name, "rb") as fh:
                frame = pd.read_parquet(fh)
            frame.columns = [str(c).strip().lower() for c in frame.columns]
            frame = frame.astype(object)
            # the multiclass configuration stores FRENK's class ids: name them, so that
            # the label scheme is applied by name below
            frame["label"] = [
                FRENK_CLASSES[int(v)] if isinstance(v, (int, np.integer)) else v for v in frame["label"]
            ]
            # the split is named by the path below the configuration: <split>/0000.parquet
            # (or, in older conversions, frenk-hate-<lang>-<split>.parquet)
            below = name[name.rfind("/multiclass/") + len("/multiclass/"):]
            frame["split"] = hint_from_name(Path(below.replace("/", "_")), SPLIT_NAMES)
            frame["_file"] = f"hf://{name}"
            frame["_row"] = np.arange(1, len(frame) + 1)
            frames.append(frame)
    except Exception as exc:
        raise DataError(
            f"cannot read {repo} from the Hugging Face Hub ({type(exc).__name__}: {exc}). Without internet "
            f"access, download FRENK from CLARIN.SI and pass its folder as {param}=<path>, or use {param}=sample."
        ) from exc
    return pd.concat(frames, ignore_index=True, sort=False)


def threads_for(training_comments: int) -> int:
    """Threads per topic of the synthetic sample for about ``training_comments`` training
    comments (10 comments a thread on average, 4 of 5 threads in train, two topics)."""
    return max(5, round(training_comments / 16))


def read_source(source: str, lang: str, sample_size: int = 0, param: str = "source") -> tuple[pd.DataFrame, str]:
    """Return the raw rows of ``source`` and a description of where they came from
    (``sample_size``: about that many training comments of the synthetic sample; ``param``: the
    step's parameter that named the source, for the messages)."""
    if source == "hub":
        return read_hub(lang, param), f"hf://datasets/{HUB_DATASET.format(lang=lang)} (parquet conversion, multiclass)"
    if source == "sample":
        sample = generate_sample(lang, threads_for(sample_size)) if sample_size else generate_sample(lang)
        frame = sample.astype(object)
        frame["_file"] = f"<synthetic sample {lang}>"
        frame["_row"] = np.arange(1, len(frame) + 1)
        return frame, f"synthetic sample ({lang}), generated by frenk.data.sample; NOT FRENK data"
    return read_path(source, param), str(source)
