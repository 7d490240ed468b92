"""The one home of the helpers the test layers share: the repository root, the environment of a
subprocess, the quick training settings, the search over every experiment, `mlflow run`, and a
store after train and compare."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: train's ``args`` for a quick tiny training: one epoch, 64 tokens
FAST = '{"num_train_epochs": 1, "max_seq_length": 64}'


def fast_args(**overrides: object) -> str:
    """``FAST`` with some of its values changed (or others added), as train's ``args``."""
    return json.dumps({**json.loads(FAST), **overrides})


def without_mlflow_vars() -> dict[str, str]:
    """This process's environment without its MLFLOW_* variables: no store, run or experiment of
    the test process leaks into a subprocess."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}


def subprocess_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    """The environment of a step run as a subprocess: no MLFLOW_* variables but
    MLFLOW_TRACKING_URI=``tracking_uri``, this checkout on PYTHONPATH, the Hugging Face libraries
    offline, and ``extra`` on top."""
    env = without_mlflow_vars()
    env.update(MLFLOW_TRACKING_URI=tracking_uri, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.update(extra)
    return env


def all_runs(**filters) -> list:
    """Every run of the current tracking store, in every experiment (``filters``: more arguments of
    ``mlflow.search_runs``, such as ``filter_string``)."""
    import mlflow

    return mlflow.search_runs(search_all_experiments=True, output_format="list", **filters)


def mlflow_run(entry_point: str, params: dict[str, object], tracking_uri: str, cwd: Path, timeout: int = 900,
               env_vars: dict[str, str] | None = None):
    """`mlflow run <project> -e <entry_point> -P k=v ... --env-manager local` in a subprocess,
    against ``tracking_uri``, with this interpreter as the project's `python` (and ``env_vars``,
    such as credentials, in its environment)."""
    env = without_mlflow_vars()
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env.update(env_vars or {})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    cmd = [sys.executable, "-m", "mlflow", "run", str(ROOT), "-e", entry_point, "--env-manager", "local"]
    for key, value in params.items():
        cmd += ["-P", f"{key}={value}"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def compared_store(root: Path, prepared: Path, repeats: int, env: dict[str, str] | None = None):
    """A fresh SQLite MLflow store in ``root`` (the working directory meanwhile) holding tfidf and
    tiny, ``repeats`` seeds each, and a compare run of the group hr-binary: the state after train
    and compare. Yields ``{"root", "tiny", "compare"}``; ``env``: more environment variables."""
    import mlflow
    import pytest

    from frenk.config import CompareConfig, TrainConfig
    from frenk.steps import compare, train

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            mp.delenv(var, raising=False)
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        train(TrainConfig(model="tfidf", data=str(prepared), repeats=repeats))
        tiny = train(TrainConfig(model="tiny", data=str(prepared), repeats=repeats, args=FAST))
        yield {"root": root, "tiny": tiny, "compare": compare(CompareConfig(group="hr-binary"))}
