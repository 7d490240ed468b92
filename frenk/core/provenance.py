"""The code version a run was made with: a digest of the project's own source files, so that
a rerun can tell whether a finished run was made by the same code (works without git)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 (first 16 hex digits) of the package's .py files, and of entrypoints/*.py and
    MLproject when the package sits in a checkout of the project."""
    root = _PACKAGE.parent
    files = sorted(_PACKAGE.rglob("*.py"))
    if (root / "MLproject").is_file():
        files += sorted((root / "entrypoints").glob("*.py")) + [root / "MLproject"]
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
