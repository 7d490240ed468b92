"""State that frenk writes to disk and reads back (a stopped training's resume folder, a recovery
folder): JSON for the structure, NumPy ``.npy`` (``allow_pickle=False``) for arrays and Parquet for
tables, so that reading it back can never run code, whoever wrote the files.

Only the dataclasses a caller names are rebuilt (by name, field by field, without running their
``__init__``); anything else in the file is refused. Exceptions are kept as their message.

A state folder is read only when it lies under the working directory and it and its state file
belong to the current user and are no symbolic links (:func:`check_owned`): a folder that a run tag
names could otherwise be anybody's.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import FrenkError

#: the subfolder of a state folder that holds its arrays and tables
DATA_DIR = "state-data"


class StateError(FrenkError):
    """A state file that is not one frenk wrote, or a folder frenk may not read."""


class _Writer:
    def __init__(self, folder: Path):
        self.folder, self.count = folder, 0

    def _file(self, suffix: str) -> tuple[str, Path]:
        self.count += 1
        name = f"{self.count}{suffix}"
        (self.folder / DATA_DIR).mkdir(exist_ok=True)
        return name, self.folder / DATA_DIR / name

    def encode(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Path):
            return {"__path__": str(value)}
        if isinstance(value, (np.ndarray, pd.DataFrame)):
            return self._data_file(value)
        if isinstance(value, BaseException):
            return {"__error__": str(value)}
        return self._composite(value)

    def _data_file(self, value: np.ndarray | pd.DataFrame) -> dict:
        """An array as ``.npy`` (without pickle), a table as Parquet, in the data folder."""
        if isinstance(value, pd.DataFrame):
            name, path = self._file(".parquet")
            value.to_parquet(path, index=False)
            return {"__frame__": name}
        if value.dtype.hasobject:
            raise TypeError("an array of Python objects cannot be kept without pickle")
        name, path = self._file(".npy")
        np.save(path, value, allow_pickle=False)
        return {"__ndarray__": name}

    def _composite(self, value):
        """Containers and dataclasses, their items encoded in turn."""
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if is_dataclass(value) and not isinstance(value, type):
            return {"__type__": type(value).__name__,
                    "fields": {f.name: self.encode(getattr(value, f.name)) for f in fields(value)}}
        raise TypeError(f"cannot keep a {type(value).__name__} in a state file")


class _Reader:
    def __init__(self, folder: Path, types: dict[str, type[Any]]):
        self.folder, self.types = folder, types

    def _data(self, name: object) -> Path:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            raise StateError(f"{self.folder} holds a state file that names a data file {name!r} outside it")
        return self.folder / DATA_DIR / name

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, inner), = value.items()
            tagged = {
                "__path__": Path,
                "__ndarray__": lambda name: np.load(self._data(name), allow_pickle=False),
                "__frame__": lambda name: pd.read_parquet(self._data(name)),
                "__error__": lambda message: RuntimeError(str(message)),
                "__tuple__": lambda items: tuple(self.decode(v) for v in items),
                "__dict__": lambda pairs: {self._key(k): self.decode(v) for k, v in pairs},
            }
            if key in tagged:
                return tagged[key](inner)
        if set(value) == {"__type__", "fields"}:
            return self._dataclass(value["__type__"], value["fields"])
        raise StateError(f"{self.folder} holds a state file with an entry frenk does not write: {sorted(value)[:3]}")

    def _key(self, key):
        key = self.decode(key)
        if isinstance(key, (list, dict)):
            raise StateError(f"{self.folder} holds a state file with an unhashable key")
        return key

    def _dataclass(self, name: str, values: dict):
        cls = self.types.get(name)
        if cls is None:
            raise StateError(f"{self.folder} holds a state file with a {name!r}, which frenk does not keep there")
        known = {f.name for f in fields(cls)}
        if not isinstance(values, dict) or set(values) - known:
            raise StateError(f"{self.folder} holds a {name} with fields frenk does not know: "
                             f"{sorted(set(values) - known)[:3] if isinstance(values, dict) else values!r}")
        obj = object.__new__(cls)  # no __init__/__post_init__: the state as it was written
        for f in fields(cls):
            if f.name in values:
                object.__setattr__(obj, f.name, self.decode(values[f.name]))
        return obj


def write_state(value, folder: Path, file: str) -> None:
    """Write ``value`` (dataclasses, containers, paths, arrays, frames) as ``folder/file`` (JSON)
    and ``folder/state-data/``; ``folder`` must exist."""
    text = json.dumps({"frenk_state": 1, "value": _Writer(folder).encode(value)}, indent=1)
    (folder / file).write_text(text + "\n", encoding="utf-8")


def check_owned(folder: Path, file: str, what: str) -> Path:
    """``folder`` resolved, if it may be read: under the working directory, no link, and owned (it
    and ``folder/file``) by the current user. Raises :class:`StateError` otherwise."""
    folder = Path(folder)
    resolved = folder.resolve()
    cwd = Path.cwd().resolve()
    if resolved != cwd and cwd not in resolved.parents:
        raise StateError(f"{folder} is not under the working directory {cwd}: frenk reads a {what} only from a "
                         "folder under the directory it runs in; run the command from the folder that holds it")
    uid = os.getuid() if hasattr(os, "getuid") else None
    for path in (folder, folder / file):
        if path.is_symlink():
            raise StateError(f"{path} is a symbolic link: frenk does not read a {what} through one")
        if uid is not None and path.exists() and path.stat().st_uid != uid:
            raise StateError(f"{path} belongs to another user (uid {path.stat().st_uid}): frenk reads only a {what} "
                             "that the current user wrote")
    return resolved


def read_state(folder: Path, file: str, types: dict[str, type[Any]], what: str):
    """The value :func:`write_state` wrote, after :func:`check_owned`; only ``types`` are rebuilt."""
    folder = check_owned(folder, file, what)
    try:
        data = json.loads((folder / file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{folder / file} is not a {what} that frenk wrote ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("frenk_state") != 1 or "value" not in data:
        raise StateError(f"{folder / file} is not a {what} that frenk wrote")
    return _Reader(folder, types).decode(data["value"])


def types_of(*classes: type[Any]) -> dict[str, type[Any]]:
    """The ``types`` argument of :func:`read_state`: dataclasses by name."""
    return {cls.__name__: cls for cls in classes}
