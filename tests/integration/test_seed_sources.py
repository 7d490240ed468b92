"""The engine keeps the two sources of randomness apart: the init seed alone decides the head's
first weights, the data seed alone the order of the training batches (no training: the model as
built before training and the Trainer's first epochs of batches)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from frenk.data import load_prepared
from frenk.training import TrainSettings
from frenk.training.engine import build_trainer, load_and_plan, training_arguments

pytestmark = pytest.mark.slow

BASE = TrainSettings(epochs=1, learning_rate=1e-3, batch_size=16, max_length=64)


def _settings(init: int, data: int) -> TrainSettings:
    return replace(BASE, seed=42, init_seed=init, data_seed=data)


def _head(source, data, settings) -> dict:
    model = load_and_plan(str(source), data, settings, "fp32", 1)[0]
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith("classifier")}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


@pytest.fixture(scope="module")
def headless(tiny_models, tmp_path_factory):
    """The tiny ELECTRA without its classification head, as a pretrained checkpoint is."""
    from transformers import AutoTokenizer, ElectraForSequenceClassification

    folder = tmp_path_factory.mktemp("headless")
    ElectraForSequenceClassification.from_pretrained(str(tiny_models["electra"])).electra.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(tiny_models["electra"])).save_pretrained(folder)
    return folder


def test_the_head_starts_from_the_init_seed_alone(headless, prepared_sample):
    data = load_prepared(prepared_sample)
    first = _head(headless, data, _settings(1, 5))
    assert first
    assert _same(first, _head(headless, data, _settings(1, 6)))  # another data seed: the same head
    assert not _same(first, _head(headless, data, _settings(2, 5)))


def test_the_tiny_model_is_built_from_the_init_seed(prepared_sample, tmp_path, monkeypatch):
    from frenk.training import kinds

    built = []
    monkeypatch.setattr(kinds, "build_tiny", lambda *a, seed, **kw: built.append(seed) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        kinds.kind_named("tiny").fit(None, load_prepared(prepared_sample), _settings(3, 7), tmp_path, [], True)
    assert built == [3]


def _batches(tiny_models, data, settings, tmp_path, epochs=1) -> list[list[tuple[int, ...]]]:
    """The training batches of the first ``epochs`` epochs, as the token ids of their comments."""
    from transformers import AutoTokenizer

    model = load_and_plan(str(tiny_models["electra"]), data, settings, "fp32", 1)[0]
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["electra"]))
    args = training_arguments(settings, tmp_path, 16, 1, "fp32", "cpu")
    loader = build_trainer(model, tokenizer, data, settings, args).get_train_dataloader()
    return [[tuple(row.tolist()) for row in batch["input_ids"]] for _ in range(epochs) for batch in loader]


def test_the_data_order_follows_the_data_seed_alone(tiny_models, prepared_sample, tmp_path):
    data = load_prepared(prepared_sample)
    order = _batches(tiny_models, data, _settings(1, 5), tmp_path)
    assert order == _batches(tiny_models, data, _settings(2, 5), tmp_path)  # another init seed: the same order
    assert order != _batches(tiny_models, data, _settings(1, 6), tmp_path)
    two = _batches(tiny_models, data, _settings(1, 5), tmp_path, epochs=2)
    assert two[:len(order)] == order and two[len(order):] != order  # reshuffled in the second epoch
