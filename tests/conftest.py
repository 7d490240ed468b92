"""Shared fixtures: an isolated MLflow store, tiny models, and no network."""

from __future__ import annotations

import os

import pytest

# Tests never touch the network: the Hugging Face libraries stay offline.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
# One thread per process: the suite runs servers, workers and trainings side by side on few cores,
# where several threads per process thrash (bench/results/tiny_threads.md); subprocesses inherit it
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def frenk_logging():
    """frenk's messages as the CLI prints them (frenk.core.log), for the steps the tests call."""
    from frenk.core.log import configure

    configure()


@pytest.fixture(scope="session")
def empty_store_database(tmp_path_factory):
    """An MLflow SQLite database with its tables made and no experiment: MLflow's migrations take
    seconds per new database, a copy of this one a fraction of a second. Opened, it gets its default
    experiment (and that experiment's artifact folder) where it is opened, as a new database does."""
    import sqlite3

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("store-template")
    SqlAlchemyStore(f"sqlite:///{folder}/mlflow.db", str(folder / "mlruns")).engine.dispose()
    db = sqlite3.connect(folder / "mlflow.db")
    db.execute("DELETE FROM experiments WHERE experiment_id = 0")
    db.commit()
    db.close()
    return folder / "mlflow.db"


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch, empty_store_database):
    """A fresh MLflow SQLite store (and artifact folder) in a temporary working directory (a copy
    of ``empty_store_database``)."""
    import shutil

    import mlflow

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    shutil.copyfile(empty_store_database, work / "mlflow.db")
    uri = f"sqlite:///{work}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def sample_texts():
    from frenk.data.sample import generate_sample

    return generate_sample("hr")["text"].tolist()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, sample_texts):
    """A tiny random ELECTRA and a tiny random BERT binary classifier with a tokenizer trained
    on the synthetic corpus, saved as Hugging Face folders (no download)."""
    from frenk.data.labels import scheme
    from frenk.training import build_tiny

    id2label = scheme("binary").id2label
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        arch: build_tiny(sample_texts, id2label, root / arch, seed=0, architecture=arch)
        for arch in ("electra", "bert")
    }


@pytest.fixture(scope="session")
def prepared_sample(tmp_path_factory):
    """The Croatian synthetic sample, preprocessed once into a folder."""
    from frenk.data import PreprocessOptions, prepare, write_prepared

    return write_prepared(prepare(PreprocessOptions(source="sample")), tmp_path_factory.mktemp("data") / "hr")


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Route tempfile's folders into a private folder, so tests can see what is left there."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder

