"""Writing a folder all or nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import FrenkError


@contextlib.contextmanager
def replace_folder(output: str | os.PathLike, marker: str, what: str, error: type[FrenkError] = FrenkError) -> Iterator[Path]:
    """Yield an empty staging folder next to ``output``; when the block succeeds, it replaces
    ``output``. On failure nothing at ``output`` changes and the staging folder is removed.

    An existing ``output`` is replaced only when it holds ``marker`` (an earlier result of the
    same kind, ``what``); any other non-empty folder is refused.
    """
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise error(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).exists():
        raise error(f"output {out} is a non-empty folder that holds no {what}; choose another output")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
