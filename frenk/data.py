"""Reading FRENK-shaped data from any source and preparing the splits every step uses.

Pure data code: no MLflow here (tracking lives in :mod:`frenk.tracking`).

Accepted sources (see the README for the layouts):

* ``hub``: the Hugging Face dataset ``classla/FRENK-hate-{lang}``, read from its parquet
  conversion (needs internet access);
* ``sample``: the bundled synthetic sample (:mod:`frenk.sample`), not FRENK data;
* a path: one file, or a folder (searched recursively) of ``.csv``, ``.tsv``, ``.jsonl``
  or ``.parquet`` files with at least ``text`` and ``label`` columns and optionally
  ``topic``, ``target``, ``split`` and ``thread``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

from .errors import DataError
from .labels import LabelMappingError, map_label, scheme
from .sample import TOPICS, generate_sample

SPLITS = ("train", "validation", "test")
LANGS = ("hr", "sl", "en")
FORMATS = (".csv", ".tsv", ".jsonl", ".parquet")
MANIFEST = "manifest.json"
#: every file that preprocess writes into its output folder
PREPARED_FILES = (*(f"{split}.parquet" for split in SPLITS), MANIFEST)
HUB_DATASET = "classla/FRENK-hate-{lang}"
#: fraction of the training threads set aside for validation when a source has none
DEFAULT_VALIDATION_FRACTION = 0.1

_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "dev": "validation",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}
_TOPIC_NAMES = {"lgbt": "lgbt", "lgbtq": "lgbt", "migrant": "migrants", "migrants": "migrants"}
_OUTPUT_COLUMNS = ["id", "text", "label", "label_name", "topic", "target", "thread"]


def option(default, help: str, choices: tuple | None = None):
    """A dataclass field that carries its command-line help (see :mod:`frenk.cli`)."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class PreprocessOptions:
    """What :func:`prepare` needs: the preprocess step's parameters minus where to write."""

    lang: str = option("hr", "language of the FRENK subset", LANGS)
    source: str = option("hub", "hub (classla/FRENK-hate-{lang}), sample (synthetic) or a path to CSV/TSV/JSONL/Parquet files")
    topics: str = option("lgbt,migrants", "comma-separated topics to keep (lgbt, migrants)")
    labels: str = option("binary", "label scheme: binary (Acceptable/Offensive) or multiclass (six FRENK classes)", ("binary", "multiclass"))
    seed: int = option(42, "seed of the deterministic shuffle and of the validation split")
    folds: int = option(5, "number of test folds (GroupKFold by thread) for per-fold metrics")
    validation_fraction: float = option(DEFAULT_VALIDATION_FRACTION, "fraction of training threads held out for validation when the source has no validation split")
    allow_overlap: bool = option(False, "accept texts that occur in both train/validation and test")

    def __post_init__(self) -> None:
        from .errors import ConfigError

        if self.lang not in LANGS:
            raise ConfigError(f"lang={self.lang!r} is not supported; use one of {', '.join(LANGS)}")
        if self.labels not in ("binary", "multiclass"):
            raise ConfigError(f"labels={self.labels!r}: use binary or multiclass")
        topics = [t.strip().lower() for t in self.topics.split(",") if t.strip()]
        unknown = [t for t in topics if t not in TOPICS]
        if not topics or unknown:
            raise ConfigError(f"topics={self.topics!r}: give a comma list of {', '.join(TOPICS)}")
        self.topics = ",".join(topics)
        if self.folds < 2:
            raise ConfigError(f"folds={self.folds}: need at least 2")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction={self.validation_fraction}: must be between 0 and 1")

    @property
    def topic_list(self) -> tuple[str, ...]:
        return tuple(self.topics.split(","))


@dataclass
class PreparedData:
    """The prepared splits and their manifest."""

    splits: dict[str, pd.DataFrame]
    manifest: dict = field(default_factory=dict)
    folder: Path | None = None  # where the splits were read from, if from a prepared folder

    @property
    def data_digest(self) -> str:
        return self.manifest["data_digest"]


# ---------------------------------------------------------------- reading sources


def _rows_error(path: str, row: int | None, message: str) -> DataError:
    where = f"{path}, row {row}" if row is not None else path
    return DataError(f"{where}: {message}")


def _read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: cannot be read as UTF-8 (byte {exc.start}, line {line}: {exc.reason}); "
            "re-save the file as UTF-8"
        ) from None


def _read_file(path: Path) -> pd.DataFrame:
    """Read one file into a frame of strings/objects, with its original row numbers."""
    import io

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv"):
            frame = pd.read_csv(
                io.StringIO(_read_text_file(path)),
                sep="\t" if suffix == ".tsv" else ",",
                dtype=object,
                keep_default_na=False,
                na_values=[""],
            )
        elif suffix == ".jsonl":
            frame = pd.read_json(io.StringIO(_read_text_file(path)), lines=True, dtype=False)
        else:
            raise DataError(f"{path}: unsupported format {suffix!r}; use one of {', '.join(FORMATS)}")
    except DataError:
        raise
    except Exception as exc:  # parser errors from pandas/pyarrow: say which file
        raise DataError(f"{path}: cannot be parsed as {suffix[1:]}: {exc}") from exc
    # column names differing in case or spaces between files must not split columns
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"{path}: columns {dup} appear more than once (names are compared case-insensitively)")
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


def _hint_from_name(path: Path, table: dict[str, str]) -> str | None:
    tokens = re.split(r"[^a-z]+", path.stem.lower())
    hits = {table[t] for t in tokens if t in table}
    return hits.pop() if len(hits) == 1 else None


def read_path(path: str | os.PathLike) -> pd.DataFrame:
    """Read a file or a folder of files into one frame (columns aligned by name)."""
    root = Path(path)
    if not root.exists():
        raise DataError(
            f"{root}: no such file or folder. Use source=hub, source=sample or a path to FRENK files."
        )
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in FORMATS) if root.is_dir() else [root]
    if not files:
        raise DataError(
            f"{root}: neither a preprocessed folder ({MANIFEST} missing) nor a folder of "
            f"{', '.join(FORMATS)} files; run the preprocess step or point to the data files"
        )
    frames = []
    for f in files:
        frame = _read_file(f)
        if "split" not in frame.columns:
            frame["split"] = _hint_from_name(f, _SPLIT_NAMES)
        if "topic" not in frame.columns:
            frame["topic"] = _hint_from_name(f, _TOPIC_NAMES)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True, sort=False)


def read_hub(lang: str) -> pd.DataFrame:
    """Read ``classla/FRENK-hate-{lang}`` from the Hub's parquet conversion (needs internet)."""
    from huggingface_hub import HfFileSystem

    from .labels import FRENK_CLASSES

    repo = HUB_DATASET.format(lang=lang)
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
            frame["split"] = _hint_from_name(Path(below.replace("/", "_")), _SPLIT_NAMES)
            frame["_file"] = f"hf://{name}"
            frame["_row"] = np.arange(1, len(frame) + 1)
            frames.append(frame)
    except Exception as exc:
        raise DataError(
            f"cannot read {repo} from the Hugging Face Hub ({type(exc).__name__}: {exc}). Without internet "
            "access, download FRENK from CLARIN.SI and pass its folder as source=<path>, or use source=sample."
        ) from exc
    return pd.concat(frames, ignore_index=True, sort=False)


def read_source(source: str, lang: str) -> tuple[pd.DataFrame, str]:
    """Return the raw rows of ``source`` and a description of where they came from."""
    if source == "hub":
        return read_hub(lang), f"hf://datasets/{HUB_DATASET.format(lang=lang)} (parquet conversion, multiclass)"
    if source == "sample":
        frame = generate_sample(lang).astype(object)
        frame["_file"] = f"<synthetic sample {lang}>"
        frame["_row"] = np.arange(1, len(frame) + 1)
        return frame, f"synthetic sample ({lang}), generated by frenk.sample; NOT FRENK data"
    return read_path(source), str(source)


# ---------------------------------------------------------------- cleaning


def normalise_text(value: object) -> str | None:
    """Unicode NFC and single spaces; ``None`` for missing or blank text."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def example_id(text: str, topic: str) -> str:
    """A stable id: the first 16 hex digits of SHA-256 over topic and text."""
    return hashlib.sha256(f"{topic}\x1f{text}".encode("utf-8")).hexdigest()[:16]


def _lookup(value: object, table: dict[str, str]) -> str | None:
    """A topic or split name in its canonical spelling, or None when missing or unknown."""
    return table.get(value.strip().lower()) if isinstance(value, str) else None


def _clean(raw: pd.DataFrame, opts: PreprocessOptions) -> pd.DataFrame:
    labels = scheme(opts.labels)
    out = []
    for rec in raw.to_dict("records"):
        file, row = rec["_file"], int(rec["_row"])
        text = normalise_text(rec.get("text"))
        if text is None:
            raise _rows_error(file, row, "text is empty or missing; remove the row or fill it in")
        try:
            label = map_label(rec.get("label"), opts.labels)
        except LabelMappingError as exc:
            raise _rows_error(file, row, f"{exc}") from None
        topic = _lookup(rec.get("topic"), _TOPIC_NAMES)
        if topic is None:
            raise _rows_error(
                file,
                row,
                f"topic {rec.get('topic')!r} is missing or unknown; add a 'topic' column (lgbt or migrants) "
                "or put lgbt/migrants in the file name",
            )
        split = _lookup(rec.get("split"), _SPLIT_NAMES)
        if split is None:
            raise _rows_error(
                file,
                row,
                f"split {rec.get('split')!r} is missing or unknown; add a 'split' column (train, dev/validation, test) "
                "or put train/test in the file name",
            )
        thread = rec.get("thread")
        target = rec.get("target")
        out.append(
            {
                "id": example_id(text, topic),
                "text": text,
                "label": label,
                "label_name": labels.classes[label],
                "topic": topic,
                "target": None if target is None or (isinstance(target, float) and np.isnan(target)) else str(target),
                "thread": None if thread is None or (isinstance(thread, float) and np.isnan(thread)) else str(thread),
                "split": split,
            }
        )
    return pd.DataFrame(out, columns=_OUTPUT_COLUMNS + ["split"])


def _order(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Sort by id (independent of input order), then shuffle deterministically with ``seed``."""
    frame = frame.sort_values(["id", "label"], kind="stable").reset_index(drop=True)
    perm = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[perm].reset_index(drop=True)


def _groups(frame: pd.DataFrame) -> np.ndarray:
    return np.where(frame["thread"].isna(), "id:" + frame["id"], "thread:" + frame["thread"].astype(str))


def canonical_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a split's content: every row, in order, as canonical JSON."""
    h = hashlib.sha256()
    h.update(json.dumps(list(frame.columns)).encode())
    for row in frame.itertuples(index=False):
        h.update(json.dumps([None if pd.isna(v) else v for v in row], ensure_ascii=False, default=int).encode())
        h.update(b"\n")
    return h.hexdigest()


def prepare(opts: PreprocessOptions) -> PreparedData:
    """Read, validate, clean, split and fold the data. Writes nothing."""
    raw, description = read_source(opts.source, opts.lang)
    frame = _clean(raw, opts)
    frame = frame[frame["topic"].isin(opts.topic_list)]
    if frame.empty:
        raise DataError(f"{description}: no rows for topics {opts.topics}")

    splits: dict[str, pd.DataFrame] = {}
    dropped: dict[str, int] = {}
    for name in SPLITS:
        part = frame[frame["split"] == name].drop(columns="split")
        part = part.sort_values(["id", "label"], kind="stable")
        before = len(part)
        part = part.drop_duplicates(subset="text", keep="first")
        dropped[name] = before - len(part)
        splits[name] = part
    if splits["train"].empty or splits["test"].empty:
        raise DataError(
            f"{description}: needs both train and test rows (found {len(splits['train'])} train, "
            f"{len(splits['test'])} test)"
        )

    overlap = set(splits["test"]["text"]) & (set(splits["train"]["text"]) | set(splits["validation"]["text"]))
    if overlap and not opts.allow_overlap:
        example = sorted(overlap)[0]
        raise DataError(
            f"{description}: {len(overlap)} text(s) appear in both train/validation and test, e.g. {example[:80]!r}. "
            "Test scores would be inflated; fix the source or pass allow_overlap=true to accept it."
        )

    validation_source = "source"
    if splits["validation"].empty:
        validation_source = f"{opts.validation_fraction:g} of the training threads (GroupShuffleSplit, seed {opts.seed})"
        train = _order(splits["train"], opts.seed)
        splitter = GroupShuffleSplit(n_splits=1, test_size=opts.validation_fraction, random_state=opts.seed)
        tr_idx, va_idx = next(splitter.split(train, groups=_groups(train)))
        splits["train"], splits["validation"] = train.iloc[tr_idx], train.iloc[va_idx]

    splits = {name: _order(part, opts.seed) for name, part in splits.items()}

    test = splits["test"]
    groups = _groups(test)
    if len(set(groups)) < opts.folds:
        raise DataError(
            f"{description}: the test split has {len(set(groups))} thread/example groups, fewer than folds={opts.folds}"
        )
    fold = np.full(len(test), -1, dtype=np.int64)
    for k, (_, idx) in enumerate(GroupKFold(n_splits=opts.folds).split(test, groups=groups)):
        fold[idx] = k
    splits["test"] = test.assign(fold=fold)

    labels = scheme(opts.labels)
    counts = {
        name: {
            topic: {cls: int(((part["topic"] == topic) & (part["label_name"] == cls)).sum()) for cls in labels.classes}
            for topic in opts.topic_list
        }
        for name, part in splits.items()
    }
    digests = {name: canonical_digest(part) for name, part in splits.items()}
    manifest = {
        "format": 1,
        "source": description,
        "parameters": {
            "lang": opts.lang,
            "source": opts.source,
            "topics": list(opts.topic_list),
            "labels": opts.labels,
            "seed": opts.seed,
            "folds": opts.folds,
            "validation_fraction": opts.validation_fraction,
            "allow_overlap": opts.allow_overlap,
        },
        "label_map": {str(i): name for i, name in labels.id2label.items()},
        "validation_split": validation_source,
        "rows": {name: len(part) for name, part in splits.items()},
        "duplicates_dropped": dropped,
        "overlapping_texts": len(overlap),
        "counts": counts,
        "digests": digests,
        "data_digest": hashlib.sha256("".join(digests[s] for s in SPLITS).encode()).hexdigest(),
    }
    return PreparedData(splits=splits, manifest=manifest)


# ---------------------------------------------------------------- writing and reading prepared data


def write_prepared(data: PreparedData, output: str | os.PathLike) -> Path:
    """Write one Parquet file per split and ``manifest.json``; all or nothing.

    Files are written to a temporary folder next to ``output`` and moved into place at the
    end, so a failure leaves no half-written output. An existing prepared folder is replaced
    only when it holds nothing but the files written here; any other non-empty folder is refused.
    """
    from .files import replace_folder

    with replace_folder(output, MANIFEST, "prepared data", PREPARED_FILES, DataError) as tmp:
        for name, part in data.splits.items():
            part.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / MANIFEST).write_text(json.dumps(data.manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(output)


def load_prepared(folder: str | os.PathLike) -> PreparedData:
    """Read a folder written by :func:`write_prepared`, checking the digests."""
    root = Path(folder)
    if not (root / MANIFEST).is_file():
        raise DataError(
            f"{root}: no {MANIFEST} here, so this is not a preprocessed folder; run "
            "`mlflow run . -e preprocess -P output=<folder>` first or pass a source (hub, sample or a path)"
        )
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    splits = {}
    for name in SPLITS:
        path = root / f"{name}.parquet"
        if not path.is_file():
            raise DataError(f"{root}: {path.name} is missing; preprocess again")
        part = pd.read_parquet(path)
        if canonical_digest(part) != manifest["digests"][name]:
            raise DataError(f"{path}: content does not match the digest in {MANIFEST}; the file was changed, preprocess again")
        splits[name] = part
    return PreparedData(splits=splits, manifest=manifest, folder=root.resolve())


def is_prepared_folder(path: str) -> bool:
    return (Path(path) / MANIFEST).is_file()


def load_or_prepare(data: str, opts: PreprocessOptions) -> PreparedData:
    """A preprocessed folder is read as it is; any other ``data`` is a source, prepared in-process."""
    if data not in ("hub", "sample") and Path(data).is_dir() and is_prepared_folder(data):
        return load_prepared(data)
    from dataclasses import replace

    return prepare(replace(opts, source=data))
