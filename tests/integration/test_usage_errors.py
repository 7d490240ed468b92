"""#23.7: a parameter click refuses (a typo'd option, a bad choice, a non-integer) is one line
``frenk: error: ...`` and exit status 2, called directly and through ``mlflow run``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT, mlflow_run, subprocess_env

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("args", "says"), [
    (["--lang", "de"], "Invalid value for '--lang': 'de' is not one of"),
    (["--lnag", "hr"], "Did you mean"),
    (["--repeats", "x"], "Invalid value for '--repeats': 'x' is not a whole number"),
], ids=["choice", "typo", "integer"])
def test_a_refused_parameter_is_one_line(args, says, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "entrypoints" / "train.py"), *args], cwd=tmp_path,
                          env=subprocess_env(f"sqlite:///{tmp_path}/mlflow.db"), capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("frenk: error: ") and says in lines[0], done.stderr
    assert "Usage:" not in done.stderr + done.stdout


def test_through_mlflow_run(mlflow_store, tmp_path):
    done = mlflow_run("train", {"lang": "de", "model": "tfidf"}, mlflow_store, tmp_path)
    assert done.returncode != 0
    assert "frenk: error: Invalid value for '--lang': 'de' is not one of" in done.stderr, done.stderr
    assert "Usage:" not in done.stderr
