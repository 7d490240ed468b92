"""Writing a folder all or nothing, without ever deleting a file that the step did not write."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import FrenkError

#: the record of a replaceable folder lists the entries the step wrote under this key
FILES_KEY = "files"


def _owned_entries(folder: Path, marker: str, known: Iterable[str]) -> set[str]:
    """The entries a step wrote into ``folder``: those its ``marker`` record lists, else (an
    older record, or one that cannot be read) the names the step always writes, ``known``."""
    try:
        record = json.loads((folder / marker).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        record = None
    listed = record.get(FILES_KEY) if isinstance(record, dict) else None
    return {marker, *(listed if isinstance(listed, list) else known)}


def check_replaceable(output: str | os.PathLike, marker: str, what: str, known: Iterable[str] = (),
                      error: type[FrenkError] = FrenkError) -> None:
    """Refuse an ``output`` that the step may not replace: a file, a symbolic link, or a
    non-empty folder holding anything besides an earlier ``what`` (``marker`` plus the
    entries its record lists, or ``known`` for records that list none)."""
    out = Path(output)
    if out.is_symlink():
        raise error(f"output {out} is a symbolic link; give the real folder ({out.resolve()}) or another output")
    check_writable(out, error)
    if out.exists() and not out.is_dir():
        raise error(f"output {out} exists and is not a folder; choose another output")
    if not out.is_dir():
        return
    entries = sorted(e.name for e in out.iterdir())
    if not entries:
        return
    if not (out / marker).is_file():
        raise error(f"output {out} is a non-empty folder that holds no {what} ({marker}); choose another output")
    foreign = [name for name in entries if name not in _owned_entries(out, marker, known)]
    if foreign:
        shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
        raise error(
            f"output {out} holds an earlier {what}, but also files that frenk did not write there: {shown}. "
            "Nothing was changed; move those files away or choose another output"
        )


def check_writable(out: Path, error: type[FrenkError] = FrenkError) -> None:
    """Refuse an output whose folder (the nearest one that exists) cannot be written, or whose
    way there passes through a file."""
    parent = out.absolute().parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise error(f"output {out}: {parent} is not a folder, so the output cannot be made there; choose another output")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise error(f"output {out}: the folder {parent} is not writable; choose another output or fix its permissions")


def normal_modes(folder: Path) -> None:
    """Give ``folder`` and everything in it the modes a new file gets here (0755 and 0644 under
    the usual umask 022), not the private ones of temporary folders and downloads (0700, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


@contextlib.contextmanager
def replace_folder(output: str | os.PathLike, marker: str, what: str, known: Iterable[str] = (),
                   error: type[FrenkError] = FrenkError,
                   on_staging: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder next to ``output``; when the block succeeds, it replaces
    ``output``. On failure nothing at ``output`` changes and the staging folder is removed.

    An existing ``output`` is replaced only when every entry in it was written by the same
    step (see :func:`check_replaceable`); anything else is refused before the block runs.
    ``on_staging(folder)`` is told the staging folder as soon as it exists.
    """
    check_replaceable(output, marker, what, known, error)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if on_staging is not None:
            on_staging(staging)
        try:
            yield staging
        except OSError as exc:  # a writer that does not say where (pyarrow on a full disk): the folder
            if exc.filename is None:
                exc.filename = str(out.resolve())
            raise
        check_replaceable(output, marker, what, known, error)  # nothing appeared there meanwhile
        normal_modes(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
