"""Issue 23 point 1: a registered model loads and predicts from any folder, in the project's
environment and in one without frenk, because it ships its code (MLflow "models from code",
frenk/tracking/model_code.py) and imports no frenk; MLflow's scoring server answers every input
format it documents with the label and the probabilities; versions registered before keep loading."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import mlflow
import pytest

from frenk.core.names import META_FILE
from frenk.tracking import registry
from frenk.tracking.pyfunc import ARTIFACT, FrenkTextClassifier
from frenk.training.result import write_model_meta

from ..helpers import without_mlflow_vars

pytestmark = pytest.mark.slow

TEXTS = ["Migranti su smeće i gamad, van s njima", "Podrška i poštovanje za sve obitelji"]
CLASSES = ["Acceptable", "Offensive"]
#: loads the champion, predicts TEXTS, prints the rows and which frenk (if any) was imported
SCRIPT = f"""
import inspect, json, sys
import mlflow
model = mlflow.pyfunc.load_model("models:/frenk-hr@champion")
rows = model.predict({TEXTS!r}).to_dict(orient="records")
frenk = sys.modules.get("frenk")
print("RESULT " + json.dumps({{"rows": rows, "frenk": frenk and [str(p) for p in getattr(frenk, "__path__", [])],
                               "code": inspect.getfile(type(model.unwrap_python_model()))}}))
"""


@pytest.fixture(scope="module")
def champion(tmp_path_factory, empty_store_database, tiny_models):
    """A store in a folder of its own holding frenk-hr version 1, the tiny BERT logged by
    ``registry.log_model`` as train logs it, with the alias ``champion``."""
    root = tmp_path_factory.mktemp("use-the-model")
    shutil.copyfile(empty_store_database, root / "mlflow.db")
    uri = f"sqlite:///{root}/mlflow.db"
    folder = shutil.copytree(tiny_models["bert"], root / "weights")
    write_model_meta(folder, "tiny", 64, dict(enumerate(CLASSES)))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            patch.delenv(var, raising=False)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        with mlflow.start_run():
            info = registry.log_model(folder, "frenk-hr")
        mlflow.MlflowClient().set_registered_model_alias("frenk-hr", "champion", info.registered_model_version)
        yield {"uri": uri, "root": root, "folder": folder}


def _check_rows(rows: list[dict]) -> None:
    assert len(rows) == len(TEXTS)
    for row in rows:
        assert row["label"] in CLASSES and sorted(row["probabilities"]) == CLASSES
        assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-5)
        assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)


def _bare_env() -> dict[str, str]:
    """This environment without MLFLOW_* variables and without PYTHONPATH (the tests run with this
    checkout on it), offline."""
    env = {k: v for k, v in without_mlflow_vars().items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "HF_HUB_OFFLINE": "1"}


def _run_script(python: str, cwd: Path, uri: str) -> dict:
    """SCRIPT, as ``python script.py`` from ``cwd`` (the script's folder comes first on sys.path, as
    for a user's script), with no PYTHONPATH: frenk is whatever that environment installs."""
    (cwd / "use_model.py").write_text(SCRIPT)
    proc = subprocess.run([python, "use_model.py"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**_bare_env(), "MLFLOW_TRACKING_URI": uri})
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _clone_shaped(folder: Path) -> Path:
    """A clone of the project beside the script: ``frenk/`` with its prepared ``data/hr/`` (no
    ``__init__.py``: Python imports it as a namespace package ``frenk``, its ``data/`` as ``frenk.data``)."""
    clone = folder / "frenk"
    (clone / "data" / "hr").mkdir(parents=True)
    (clone / "data" / "hr" / "manifest.json").write_text("{}")
    (clone / "README.md").write_text("# frenk\n")
    (clone / "MLproject").write_text("name: frenk\n")
    return folder


def test_the_champion_predicts_from_a_folder_beside_a_clone(champion, tmp_path):
    result = _run_script(sys.executable, _clone_shaped(tmp_path / "home"), champion["uri"])
    _check_rows(result["rows"])
    assert _the_models_own(result["code"])


def _the_models_own(code: str) -> bool:
    """Whether the code that ran is the model's own copy (not this checkout's file, not an installed frenk's)."""
    return (Path(code).name == registry.MODEL_CODE.name and Path(code).resolve() != registry.MODEL_CODE
            and "site-packages" not in code and Path(code).parent.name != "tracking")


def _venv_without_frenk(where: Path) -> Path:
    """A virtualenv whose site-packages holds links to every package of this one except frenk (its
    dist-info and its editable finder): mlflow, transformers, torch and the rest, no frenk."""
    venv.EnvBuilder(symlinks=True, with_pip=False).create(where)
    ours = Path(mlflow.__file__).resolve().parents[1]
    site = next(where.glob("lib/python*/site-packages"))
    for entry in ours.iterdir():
        if "frenk" not in entry.name.lower():
            (site / entry.name).symlink_to(entry)
    return where / "bin" / "python"


def test_the_champion_predicts_in_an_environment_without_frenk(champion, tmp_path):
    python = _venv_without_frenk(tmp_path / "venv")
    code = ("import importlib.metadata as m, importlib.util as u, mlflow, torch, transformers; "
            "print(u.find_spec('frenk') is None, [d.name for d in m.distributions() if 'frenk' in d.name.lower()])")
    probe = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env=_bare_env())
    assert probe.stdout.split() == ["True", "[]"], probe.stdout + probe.stderr[-2000:]
    (tmp_path / "elsewhere").mkdir()
    result = _run_script(str(python), tmp_path / "elsewhere", champion["uri"])
    _check_rows(result["rows"])
    assert result["frenk"] is None and _the_models_own(result["code"])  # nothing imported a frenk


BODIES = {
    "inputs": {"inputs": TEXTS},
    "instances": {"instances": TEXTS},
    "dataframe_split": {"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS]}},
    "dataframe_records": {"dataframe_records": [{"text": t} for t in TEXTS]},
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_the_scoring_server_answers_every_input_format(champion, served, body):
    response = served.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    _check_rows(response.json()["predictions"])


@pytest.fixture(scope="module")
def served(champion):
    """MLflow's scoring server (the app behind `mlflow models serve`) for the champion, in-process."""
    from fastapi.testclient import TestClient
    from mlflow.pyfunc import scoring_server

    return TestClient(scoring_server.init(mlflow.pyfunc.load_model("models:/frenk-hr@champion")))


def test_a_text_column_of_another_name_and_a_csv_are_taken(served):
    response = served.post("/invocations", json={"dataframe_split": {"columns": ["comment"], "data": [[TEXTS[0]]]}})
    assert response.status_code == 200 and response.json()["predictions"][0]["label"] in CLASSES
    csv = "text\n" + "\n".join(f'"{t}"' for t in TEXTS) + "\n"
    response = served.post("/invocations", content=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    _check_rows(response.json()["predictions"])


def test_the_model_predicts_what_frenk_predicted_and_ships_no_frenk(champion):
    from frenk.training import load_saved, predict_proba

    uri = "models:/frenk-hr@champion"
    rows = mlflow.pyfunc.load_model(uri).predict(TEXTS)
    model, tokenizer = load_saved(champion["folder"])
    expected = predict_proba(model, tokenizer, TEXTS, 64)
    got = [row[c] for row in rows["probabilities"] for c in CLASSES]
    assert got == pytest.approx(expected.ravel().tolist(), abs=1e-5)
    local = Path(mlflow.artifacts.download_artifacts(uri))
    assert not (local / "code").exists() and not list(local.rglob("*.pkl"))  # no frenk copy, no pickle


def test_a_version_registered_before_keeps_loading(champion, monkeypatch):
    """Versions logged before pickled FrenkTextClassifier and shipped the package folder: they load
    and predict label names as they did."""
    monkeypatch.chdir(champion["root"])
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="old", python_model=FrenkTextClassifier(),
                                       artifacts={ARTIFACT: str(champion["folder"])},
                                       code_paths=[str(Path(registry.__file__).parents[1])])
    assert (champion["folder"] / META_FILE).is_file()
    assert set(mlflow.pyfunc.load_model(info.model_uri).predict(TEXTS)) <= set(CLASSES)
