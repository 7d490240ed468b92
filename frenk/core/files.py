"""Writing a folder all or nothing, without ever deleting a file that the step did not write."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import FrenkError

log = logging.getLogger(__name__)

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
        raise error(f"output {out}: {parent} is not a folder, so the output cannot be made there; "
                    "choose another output")
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


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def staging_prefix(out: Path) -> str:
    """The name every staging entry of ``out`` starts with: ``.<name>.<host>.<pid>.``, so that the
    next writer can tell a dead process's leftovers from a live one's."""
    return f".{out.name}.{_host()}.{os.getpid()}."


def remove_stale_staging(output: str | os.PathLike, what: str) -> list[Path]:
    """Remove the staging entries beside ``output`` that a process of this host left when it was
    killed (``.<name>.<host>.<pid>.*`` whose process is gone); one line says so."""
    out = Path(output)
    pattern = re.compile(re.escape(f".{out.name}.{_host()}.") + r"(\d+)\.[^.]+$")
    removed = []
    for entry in (out.parent.iterdir() if out.parent.is_dir() else ()):
        found = pattern.match(entry.name)
        if not found or int(found.group(1)) == os.getpid() or process_alive(int(found.group(1))):
            continue
        if not out.exists() and (entry / "old").is_dir() and not entry.is_symlink():
            (entry / "old").rename(out)  # killed while replacing: the earlier output, moved aside, goes back
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    if removed:
        log.info(f"removed what a stopped {what} left beside {out} (its process is gone): "
              + ", ".join(e.name for e in removed))
    return removed


class Staging:
    """A staging folder beside ``output`` (``path``); :meth:`commit` moves it into place."""

    def __init__(self, output: Path, path: Path, check: Callable[[], None]):
        self.output, self.path, self._check, self.committed = output, path, check, False

    def commit(self) -> None:
        """Replace ``output`` by the staging folder: the old one is moved aside first and removed
        after, so that a kill leaves either folder whole, never a half-deleted one."""
        self._check()  # nothing appeared there meanwhile
        normal_modes(self.path)
        old = None
        if self.output.exists():
            old = Path(tempfile.mkdtemp(prefix=staging_prefix(self.output), dir=self.output.parent)) / "old"
            self.output.rename(old)
        self.path.rename(self.output)
        self.committed = True
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(output: str | os.PathLike, marker: str, what: str, known: Iterable[str] = (),
                  error: type[FrenkError] = FrenkError,
                  on_staging: Callable[[Path], None] | None = None) -> Iterator[Staging]:
    """Yield a :class:`Staging` whose empty folder lies next to ``output``; the block calls its
    ``commit()`` to replace ``output`` (a block that does not, or fails, changes nothing at
    ``output``); the staging folder is removed in any case.

    An existing ``output`` is replaced only when every entry in it was written by the same
    step (see :func:`check_replaceable`); anything else is refused before the block runs.
    A dead process's staging entries beside it are removed first. ``on_staging(folder)`` is
    told the staging folder as soon as it exists.
    """
    check_replaceable(output, marker, what, known, error)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out, what)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(out), dir=out.parent))
    try:
        if on_staging is not None:
            on_staging(staging)
        yield Staging(out, staging, lambda: check_replaceable(out, marker, what, known, error))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def replace_folder(output: str | os.PathLike, marker: str, what: str, known: Iterable[str] = (),
                   error: type[FrenkError] = FrenkError,
                   on_staging: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder next to ``output``; when the block succeeds, it replaces
    ``output``. On failure nothing at ``output`` changes and the staging folder is removed.
    (:func:`staged_folder`, committed at the end of the block.)
    """
    with staged_folder(output, marker, what, known, error, on_staging) as staging:
        try:
            yield staging.path
        except OSError as exc:  # a writer that does not say where (pyarrow on a full disk): the folder
            if exc.filename is None:
                exc.filename = str(Path(output).resolve())
            raise
        staging.commit()


def rewrite_file(path: Path, text: str) -> None:
    """Replace the file ``path`` by ``text`` at once (a new file renamed over it): a kill leaves the
    old or the new text, and a half-written file only under a staging name beside its folder."""
    fd, tmp = tempfile.mkstemp(prefix=staging_prefix(path.parent), dir=path.parent.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
