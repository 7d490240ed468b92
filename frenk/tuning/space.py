"""The search space of a tuning run: a YAML mapping from a train hyperparameter to a list of
values (categorical; a grid when every dimension is a list) or a range ``{low, high}`` with
optional ``step`` and ``log: true``.

    learning_rate: [1.0e-5, 2.0e-5, 4.0e-5]
    epochs: [3, 6, 12]
    warmup_ratio: {low: 0.0, high: 0.2, step: 0.05}
    weight_decay: {low: 1.0e-4, high: 0.1, log: true}

Hyperparameters not in the file take the preset's values.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import MAX_EPOCHS, ConfigError, check_limit

#: tunable hyperparameter -> (type, smallest allowed value, largest allowed value or None)
HYPERPARAMETERS: dict[str, tuple[type, float, float | None]] = {
    "learning_rate": (float, 0.0, None),
    "epochs": (int, 1, None),
    "batch_size": (int, 1, None),
    "warmup_ratio": (float, 0.0, 0.999),
    "weight_decay": (float, 0.0, None),
    "max_length": (int, 8, None),
}
SPACES_DIR = Path(__file__).resolve().parent / "spaces"


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    step: float | None = None
    log: bool = False


@dataclass(frozen=True)
class SearchSpace:
    """Dimensions by hyperparameter name: a tuple of values or a :class:`Range`."""

    dimensions: dict[str, tuple | Range]
    source: str

    @property
    def is_grid(self) -> bool:
        return all(isinstance(d, tuple) for d in self.dimensions.values())

    @property
    def grid(self) -> dict[str, list]:
        if not self.is_grid:
            raise ConfigError(f"{self.source}: a grid needs a list of values for every hyperparameter")
        return {name: list(values) for name, values in self.dimensions.items() if isinstance(values, tuple)}

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid.values())

    def grid_points(self) -> list[dict]:
        names = sorted(self.grid)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(self.grid[n] for n in names))]

    @property
    def digest(self) -> str:
        """A short digest of the dimensions (names the default study)."""
        canonical = {k: (list(v) if isinstance(v, tuple) else vars(v)) for k, v in sorted(self.dimensions.items())}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:8]

    def suggest(self, trial) -> dict:
        """The trial's values, through Optuna's ``suggest_*`` API."""
        values = {}
        for name, dim in sorted(self.dimensions.items()):
            kind = HYPERPARAMETERS[name][0]
            if isinstance(dim, tuple):
                values[name] = trial.suggest_categorical(name, list(dim))
            elif kind is int:
                values[name] = trial.suggest_int(name, int(dim.low), int(dim.high), step=int(dim.step or 1),
                                                 log=dim.log)
            else:
                values[name] = trial.suggest_float(name, dim.low, dim.high, step=dim.step, log=dim.log)
        return values


def _value(source: str, name: str, value, what: str):
    kind, low, high = HYPERPARAMETERS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: {name}: {what} {value!r} is not a number")
    if kind is int and float(value) != int(value):
        raise ConfigError(f"{source}: {name}: {what} {value!r} must be a whole number")
    if value < low or (high is not None and value > high):
        bounds = f"at least {low}" + (f" and at most {high}" if high is not None else "")
        raise ConfigError(f"{source}: {name}: {what} {value!r} must be {bounds}")
    if name == "epochs":
        check_limit(f"{source}: epochs", value, MAX_EPOCHS, "epochs")
    return kind(value)


def _range(source: str, name: str, spec: dict) -> Range:
    unknown = sorted(set(spec) - {"low", "high", "step", "log"})
    if unknown or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{source}: {name}: a range is {{low, high}} with optional step and log; got keys "
                          f"{sorted(spec)}")
    low, high = _value(source, name, spec["low"], "low"), _value(source, name, spec["high"], "high")
    if low > high:
        raise ConfigError(f"{source}: {name}: low {low} > high {high}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{source}: {name}: log must be true or false, not {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{source}: {name}: log: true needs positive bounds (low is {low})")
    step = spec.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
        raise ConfigError(f"{source}: {name}: step must be a positive number, not {step!r}")
    if step is not None and log:
        raise ConfigError(f"{source}: {name}: step and log: true cannot be combined (Optuna's rule)")
    return Range(low, high, step, log)


def _dimension(source: str, name: str, spec) -> tuple | Range:
    if name not in HYPERPARAMETERS:
        raise ConfigError(f"{source}: unknown hyperparameter {name!r}; tunable: {', '.join(HYPERPARAMETERS)}")
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{source}: {name}: the list of values is empty")
        if any(isinstance(v, (dict, list)) for v in spec):
            raise ConfigError(f"{source}: {name}: a list mixed with a range; give either a list of values or "
                              f"{{low, high}}")
        values = tuple(_value(source, name, v, "value") for v in spec)
        if len(set(values)) != len(values):
            raise ConfigError(f"{source}: {name}: the list repeats a value")
        return values
    if isinstance(spec, dict):
        return _range(source, name, spec)
    raise ConfigError(f"{source}: {name}: give a list of values or a range {{low, high}}, not {spec!r}")


def parse_space(text: str, source: str = "space") -> SearchSpace:
    """Parse the YAML text of a search space; every mistake is a ConfigError naming the key."""
    import yaml

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: a search space is a YAML mapping of hyperparameter: values, "
                          "e.g. 'epochs: [3, 6]'")
    return SearchSpace({str(name): _dimension(source, str(name), spec) for name, spec in raw.items()}, source)


def load_space(path: str, preset: str | None) -> SearchSpace:
    """The space in the YAML file ``path``; empty: the bundled default of the preset."""
    if path:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"space={path}: no such file; write a YAML search space (see the README) or leave it "
                              "empty")
        return parse_space(file.read_text(encoding="utf-8"), str(path))
    bundled = SPACES_DIR / f"{preset}.yaml"
    if preset is None or not bundled.is_file():
        available = ", ".join(sorted(p.stem for p in SPACES_DIR.glob("*.yaml")))
        raise ConfigError(f"no bundled search space for model {preset!r} (bundled: {available}); "
                          "pass space=<file.yaml>")
    return parse_space(bundled.read_text(encoding="utf-8"), f"bundled space {bundled.name}")
