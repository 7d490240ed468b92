"""#23.7: no weights-loading or download bars from frenk's steps or a registered model's code, unless
FRENK_VERBOSE=1."""

from __future__ import annotations

import importlib.util

import pytest
from transformers.utils import logging as hf_logging

from frenk.core import log
from frenk.tracking import registry


@pytest.fixture
def bars_on(monkeypatch):
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.delenv(log.VERBOSE_ENV, raising=False)
    hf_logging.enable_progress_bar()
    yield
    hf_logging.enable_progress_bar()


def _model_code():
    spec = importlib.util.spec_from_file_location("code_model_quiet_test", registry.MODEL_CODE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frenk_steps_turn_the_bars_off(bars_on):
    log.quiet_progress_bars()
    assert not hf_logging.is_progress_bar_enabled()
    import os

    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"


def test_frenk_verbose_keeps_them(bars_on, monkeypatch):
    monkeypatch.setenv(log.VERBOSE_ENV, "1")
    log.quiet_progress_bars()
    _model_code().quiet_progress_bars()
    assert hf_logging.is_progress_bar_enabled()


def test_the_model_code_turns_them_off_with_the_same_switch(bars_on):
    code = _model_code()
    assert code.VERBOSE_ENV == log.VERBOSE_ENV
    code.quiet_progress_bars()
    assert not hf_logging.is_progress_bar_enabled()
