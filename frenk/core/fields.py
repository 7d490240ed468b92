"""Dataclass fields that carry their command-line help (read by :mod:`frenk.cli`)."""

from __future__ import annotations

from dataclasses import field


def option(default, help: str, choices: tuple | None = None):
    """A dataclass field with a default, its help text and (optionally) its allowed values."""
    return field(default=default, metadata={"help": help, "choices": choices})
