"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

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
