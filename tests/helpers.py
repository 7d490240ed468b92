"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mlflow_run(entry_point: str, params: dict[str, object], tracking_uri: str, cwd: Path, timeout: int = 900,
               env_vars: dict[str, str] | None = None):
    """`mlflow run <project> -e <entry_point> -P k=v ... --env-manager local` in a subprocess,
    against ``tracking_uri``, with this interpreter as the project's `python` (and ``env_vars``,
    such as credentials, in its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
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
        tiny = train(TrainConfig(model="tiny", data=str(prepared), repeats=repeats,
                                 args='{"num_train_epochs": 1, "max_seq_length": 64}'))
        yield {"root": root, "tiny": tiny, "compare": compare(CompareConfig(group="hr-binary"))}
