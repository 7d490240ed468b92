"""Checks of single values that the configs share: numbers from MLproject's floats, MLflow's rules
for registered model names and aliases, comma lists of languages, JSON of hyperparameters."""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from .errors import ConfigError


def coerce(name: str, value, kind: type):
    """``value`` as ``kind``: an int accepts 42 and 42.0 (MLproject passes floats) but refuses
    42.5 and "abc"; a float accepts any number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{name}={value!r}: expected a number")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected a number") from None
    if kind is int:
        if not number.is_integer():
            raise ConfigError(f"{name}={value!r}: expected a whole number")
        return int(number)
    return kind(number)


#: MLflow's rules for alias names: letters, digits, _ and -, at most 255 characters (the
#: previous holder gets ``previous-<alias>``), and neither ``latest`` nor ``v<number>``
ALIAS_PATTERN = re.compile(r"[\w\-]+")
ALIAS_MAX = 255 - len("previous-")
RESERVED_ALIAS = re.compile(r"latest|[vV]\d+", re.IGNORECASE)


#: the ending of publish's promotion lock (a registered model ``<name>.frenk-lock``), never a model's name
PROMOTION_LOCK_SUFFIX = ".frenk-lock"


def check_model_name(option_name: str, name: str) -> None:
    """MLflow's rules for registered model names, checked before any work: not empty, no ``/``
    or ``:``, and a plain relative name (no ``..``, no leading ``/``, nothing that normalises away)."""
    if not name.strip():
        raise ConfigError(f"{option_name} is empty: give a registered model name such as frenk-hr")
    if any(c in name for c in "/:") or posixpath.normpath(name) != name or name.startswith((".", "/")):
        raise ConfigError(
            f"{option_name}={name!r} is not a valid registered model name: MLflow names may not contain '/' "
            "or ':' or be a path ('..', '.'); use letters, digits, '-', '_' and '.', e.g. frenk-hr"
        )
    if name.endswith(PROMOTION_LOCK_SUFFIX):
        raise ConfigError(f"{option_name}={name!r} ends in {PROMOTION_LOCK_SUFFIX}, the name of publish's promotion "
                          "lock: choose a registered model name without it, e.g. frenk-hr")


def check_alias(alias: str) -> None:
    """MLflow's rules for model aliases (``latest`` and ``v1``, ``v2``... are reserved)."""
    if not ALIAS_PATTERN.fullmatch(alias) or len(alias) > ALIAS_MAX:
        raise ConfigError(f"alias={alias!r}: an alias is at most {ALIAS_MAX} letters, digits, '_' or '-' (e.g. "
                          "champion)")
    if RESERVED_ALIAS.fullmatch(alias):
        raise ConfigError(f"alias={alias!r} is reserved by MLflow ('latest' and v<number> name versions); "
                          "choose another alias, e.g. champion")


def comma_list(text: str) -> list[str]:
    """The non-empty items of a comma list."""
    return [x.strip() for x in text.split(",") if x.strip()]


def check_languages(option_name: str, text: str, langs: tuple[str, ...], own: str) -> None:
    """A comma list of languages of ``langs`` other than ``own``."""
    if not set(comma_list(text)) <= set(langs) - {own}:
        raise ConfigError(f"{option_name}={text!r}: give a comma list of other languages than {own}, of "
                          f"{', '.join(langs)} (e.g. {option_name}=sl,en)")


def json_object(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"args is not valid JSON ({exc}); example: args='{{\"num_train_epochs\": 12}}'") from None
    if not isinstance(value, dict):
        raise ConfigError("args must be a JSON object, e.g. {\"learning_rate\": 1e-5}")
    return value


def read_params_file(path: str) -> dict:
    """Hyperparameters from a tune run's ``best_params.json`` (its ``params``) or a flat JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"params={path}: not a readable JSON file ({type(exc).__name__})") from None
    values = data.get("params", data) if isinstance(data, dict) else None
    if not isinstance(values, dict) or not values:
        raise ConfigError(f"params={path}: expected best_params.json of a tune run, or a JSON object of "
                          "hyperparameters")
    return values
