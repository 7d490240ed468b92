"""The Slurm options of a fan-out, from a small TOML file (docs/slurm.md) or the cluster's defaults.

```toml
partition = "gpu"          # empty: the cluster's default partition
account = "my-project"
gpus_per_task = 1
cpus_per_task = 4
time = "02:00:00"          # each task's limit; it is signalled `signal_grace` seconds before it
memory = "16G"
parallelism = 4            # at most this many tasks at once (the array's %k; 0: no limit)
modules = ["python/3.11", "cuda/12.4"]
signal_grace = 120
extra = ["--qos=normal"]   # more sbatch options, as they are written on its command line
```
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..core.errors import ConfigError

_TIME = re.compile(r"(\d+-)?\d+(:\d{1,2}){0,2}")
_MEMORY = re.compile(r"\d+[KMGT]?")


@dataclass(frozen=True)
class SlurmOptions:
    partition: str = ""
    account: str = ""
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    time: str = ""
    memory: str = ""
    parallelism: int = 0
    modules: tuple[str, ...] = ()
    signal_grace: int = 120
    extra: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if min(self.gpus_per_task, self.parallelism, self.signal_grace) < 0 or self.cpus_per_task < 1:
            raise ConfigError("slurm: gpus_per_task, parallelism and signal_grace must not be negative, "
                              "cpus_per_task at least 1")
        if self.time and not _TIME.fullmatch(self.time):
            raise ConfigError(f"slurm: time={self.time!r} is not a Slurm time limit (minutes, HH:MM:SS or D-HH:MM:SS)")
        if self.memory and not _MEMORY.fullmatch(self.memory):
            raise ConfigError(f"slurm: memory={self.memory!r} is not a Slurm memory size (such as 16G or 8000M)")
        for text in (self.partition, self.account, *self.modules):
            if not re.fullmatch(r"[\w./+@-]*", text):
                raise ConfigError(f"slurm: {text!r} is not a partition, account or module name")

    def sbatch_args(self) -> list[str]:
        """The options every task of the fan-out is submitted with (requeued on preemption, signalled
        before its time limit)."""
        args = ["--requeue", f"--cpus-per-task={self.cpus_per_task}", f"--signal=B:USR1@{self.signal_grace}"]
        args += [f"--partition={self.partition}"] if self.partition else []
        args += [f"--account={self.account}"] if self.account else []
        args += [f"--gpus-per-task={self.gpus_per_task}"] if self.gpus_per_task else []
        args += [f"--time={self.time}"] if self.time else []
        args += [f"--mem={self.memory}"] if self.memory else []
        return [*args, *self.extra]


def read_options(value: str) -> SlurmOptions:
    """``true``: the cluster's defaults; else the TOML file ``value``. Unknown keys are refused."""
    if value.lower() == "true":
        return SlurmOptions()
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"slurm={value!r}: no such file; give a TOML file of Slurm options (docs/slurm.md) or true")
    try:
        tomllib = importlib.import_module("tomllib")  # Python 3.11 and newer
    except ImportError:
        raise ConfigError(f"slurm={value}: reading a TOML file needs Python 3.11 or newer; give slurm=true") from None
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        raise ConfigError(f"slurm={value}: not a TOML file ({exc})") from None
    known = {f.name for f in fields(SlurmOptions)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"slurm={value}: unknown keys {unknown}; accepted: {', '.join(sorted(known))}")
    try:
        values: dict = {k: tuple(v) if k in ("modules", "extra") else v for k, v in table.items()}
        return SlurmOptions(**values)
    except (TypeError, ConfigError) as exc:
        raise ConfigError(f"slurm={value}: {str(exc).removeprefix('slurm: ')}") from None
