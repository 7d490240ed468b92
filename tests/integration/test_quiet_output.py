"""Normal runs are quiet: no CloudPickle notice and no "input example was not provided" warning on
every logged model and no per-file "Downloading artifacts" bars; FRENK_VERBOSE=1 brings MLflow's
detail back."""

from __future__ import annotations

import logging

import pytest

from frenk.config import CompareConfig, TrainConfig

pytestmark = pytest.mark.slow


def test_train_and_compare_print_no_cloudpickle_notice_or_download_bars(mlflow_store, prepared_sample, caplog, capfd,
                                                                         monkeypatch, recwarn):
    from frenk.steps import compare, train

    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    monkeypatch.delenv("FRENK_VERBOSE", raising=False)
    caplog.set_level(logging.INFO)
    train(TrainConfig(model="tfidf", data=str(prepared_sample), repeats=2))
    train(TrainConfig(model="tiny", data=str(prepared_sample), repeats=2,
                      args='{"num_train_epochs": 1, "max_seq_length": 32}'))
    compare(CompareConfig(group="hr-binary"))
    printed = capfd.readouterr()
    assert "CloudPickle" not in caplog.text + printed.err + printed.out
    assert "Downloading artifacts" not in printed.err + printed.out
    assert not [w for w in recwarn if "input example" in str(w.message) or "type hints" in str(w.message)]


def test_frenk_verbose_brings_the_notice_back(mlflow_store, prepared_sample, caplog, monkeypatch):
    from frenk.steps import train

    monkeypatch.setenv("FRENK_VERBOSE", "1")
    caplog.set_level(logging.INFO)
    with pytest.warns(UserWarning, match="input example was not provided"):  # the model is logged as code: no pickle
        train(TrainConfig(model="tfidf", data=str(prepared_sample)))
