"""Prepared data: the splits and their manifest, written all or nothing and read back with
their digests checked."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.errors import ConfigError, DataError
from .labels import scheme
from .sources import MANIFEST

SPLITS = ("train", "validation", "test")
#: every file that preprocess writes into its output folder
PREPARED_FILES = (*(f"{split}.parquet" for split in SPLITS), MANIFEST)


@dataclass
class PreparedData:
    """The prepared splits and their manifest."""

    splits: dict[str, pd.DataFrame]
    manifest: dict = field(default_factory=dict)
    folder: Path | None = None  # where the splits were read from, if from a prepared folder

    @property
    def data_digest(self) -> str:
        return self.manifest["data_digest"]


def canonical_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a split's content: every row, in order, as canonical JSON."""
    h = hashlib.sha256()
    h.update(json.dumps(list(frame.columns)).encode())
    for row in frame.itertuples(index=False):
        h.update(json.dumps([None if pd.isna(v) else v for v in row], ensure_ascii=False, default=int).encode())
        h.update(b"\n")
    return h.hexdigest()


def check_output(output: str | os.PathLike) -> None:
    """Refuse, before any work, an output that :func:`write_prepared` may not replace or cannot write."""
    from ..core.files import check_replaceable

    check_replaceable(output, MANIFEST, "prepared data", PREPARED_FILES, DataError)


def write_prepared(data: PreparedData, output: str | os.PathLike, on_staging=None) -> Path:
    """Write one Parquet file per split and ``manifest.json``; all or nothing.

    Files are written to a temporary folder next to ``output`` and moved into place at the
    end, so a failure leaves no half-written output. An existing prepared folder is replaced
    only when it holds nothing but the files written here; any other non-empty folder is refused.
    ``on_staging(folder)`` is told the staging folder (so that tracking can record it).
    """
    from ..core.files import replace_folder

    with replace_folder(output, MANIFEST, "prepared data", PREPARED_FILES, DataError, on_staging) as tmp:
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
    manifest = read_manifest(root)
    splits = {}
    for name in SPLITS:
        path = root / f"{name}.parquet"
        if not path.is_file():
            raise DataError(f"{root}: {path.name} is missing; preprocess again")
        part = pd.read_parquet(path)
        if canonical_digest(part) != manifest["digests"].get(name):
            raise DataError(f"{path}: content does not match the digest in {MANIFEST}; "
                            "the file was changed, preprocess again")
        splits[name] = part
    return PreparedData(splits=splits, manifest=manifest, folder=root.resolve())


def is_prepared_folder(path: str) -> bool:
    return (Path(path) / MANIFEST).is_file()


def check_scheme(data: PreparedData, lang: str, labels: str, name: str) -> None:
    """Refuse prepared data whose language or label scheme is not the one asked for."""
    params = data.manifest["parameters"]
    if params["labels"] != labels or params["lang"] != lang:
        raise ConfigError(
            f"{name} was prepared for lang={params['lang']} labels={params['labels']}, but the run asks for "
            f"lang={lang} labels={labels}; pass matching lang/labels or preprocess again"
        )


def missing_classes(data: PreparedData) -> dict[str, list[str]]:
    """For each split that lacks some class of the data's label scheme, those classes (in scheme order)."""
    labels = scheme(data.manifest["parameters"]["labels"])
    missing = {}
    for name in SPLITS:
        part = data.splits.get(name)  # None: a split the data lacks (the test split closed for tuning)
        if part is None:
            continue
        present = set(part["label"].astype(int))
        absent = [cls for i, cls in enumerate(labels.classes) if i not in present]
        if absent:
            missing[name] = absent
    return missing


def missing_class_warnings(data: PreparedData) -> list[str]:
    """One line per split that lacks some class of the scheme: which classes, and what that does to
    macro-F1 (averaged over the classes present or predicted, see ``training.evaluation``)."""
    labels = scheme(data.manifest["parameters"]["labels"])
    lines = []
    for name, absent in missing_classes(data).items():
        which = ("class " if len(absent) == 1 else "classes ") + ", ".join(repr(c) for c in absent)
        present = labels.num_labels - len(absent)
        tail = ("a model trained on it cannot learn " + ("that class" if len(absent) == 1 else "those classes")
                if name == "train" else
                f"macro-F1 on it is averaged over the {present} classes present (and a missing class that a model "
                "predicts, as F1 0)")
        lines.append(f"the {name} split has no example of {which} ({labels.name} scheme, {labels.num_labels} "
                     f"classes); {tail}")
    return lines


class _SplitsWithoutTest(dict):
    def __getitem__(self, name: str) -> pd.DataFrame:
        if name == "test":
            raise DataError("the test split is closed during hyperparameter search: "
                            "tuning reads train and validation only")
        return super().__getitem__(name)

    def items(self):
        raise DataError("the test split is closed during hyperparameter search: tuning reads train and validation only")

    values = items

    def __reduce__(self):  # pickled (a tuning trial's seeds trained in processes): still closed there
        return type(self), (dict(dict.items(self)),)


def without_test(data: PreparedData) -> PreparedData:
    """The same data with the test split closed: reading it raises (a tuning trial must
    select on validation only)."""
    splits = _SplitsWithoutTest({k: v for k, v in dict.items(data.splits) if k != "test"})
    return PreparedData(splits=splits, manifest=data.manifest, folder=data.folder)


def read_manifest(root: Path) -> dict:
    """``manifest.json`` of a prepared folder; a broken one is a :class:`DataError`."""
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({type(exc).__name__}: {str(exc)[:200]}); preprocess again") from None
    required = ("digests", "data_digest", "parameters", "source")
    if (not isinstance(manifest, dict) or not all(k in manifest for k in required)
            or not all(isinstance(manifest[k], dict) for k in ("digests", "parameters"))):
        raise DataError(f"{path} is not a frenk manifest (it needs {', '.join(required)}); preprocess again")
    return manifest
