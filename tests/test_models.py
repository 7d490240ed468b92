"""Model loading rules, presets and memory planning (tiny models, no training)."""

from __future__ import annotations

import pytest

from frenk.errors import ConfigError, ModelError
from frenk.data.labels import scheme
from frenk.training import PRESETS, check_head, load_classifier, resolve
from frenk.training import plan_batches, resolve_precision


@pytest.mark.parametrize("arch", ["electra", "bert"])
def test_tiny_models_load_exactly(tiny_models, arch):
    model = load_classifier(str(tiny_models[arch]), fine_tuned=True)
    assert model.config.model_type == arch
    assert model.config.id2label == {0: "Acceptable", 1: "Offensive"}


@pytest.mark.parametrize("fine_tuned", [True, False])
def test_electra_into_bert_class_is_refused_with_the_keys(tiny_models, fine_tuned):
    from transformers import BertForSequenceClassification

    with pytest.raises(ModelError) as info:
        load_classifier(str(tiny_models["electra"]), fine_tuned=fine_tuned, model_class=BertForSequenceClassification)
    message = str(info.value)
    assert "randomly initialised" in message
    assert "bert.embeddings.word_embeddings.weight" in message
    assert "missing (" in message


def test_base_model_may_miss_only_its_head(tiny_models, tmp_path):
    """A base checkpoint without a classification head loads for training (the head is new)."""
    from transformers import ElectraModel

    base = ElectraModel.from_pretrained(str(tiny_models["electra"]))
    base.save_pretrained(tmp_path / "base")
    model = load_classifier(str(tmp_path / "base"), id2label=scheme("multiclass").id2label, fine_tuned=False)
    assert model.config.num_labels == 6
    with pytest.raises(ModelError, match="classifier"):
        load_classifier(str(tmp_path / "base"), fine_tuned=True)


def test_head_labels_must_match_the_data(tiny_models):
    check_head(str(tiny_models["bert"]), scheme("binary").id2label)
    with pytest.raises(ModelError, match="classification head for"):
        check_head(str(tiny_models["bert"]), scheme("multiclass").id2label)


def test_resolve_presets_and_errors(tiny_models):
    assert resolve("tfidf").kind == "tfidf" and resolve("tiny").kind == "tiny"
    assert resolve(str(tiny_models["electra"])).kind == "transformer"
    with pytest.raises(ModelError, match="unknown model 'bertik'.*preset"):
        resolve("bertik")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set.*hf download classla/bcms-bertic"):
        resolve("bertic")  # not in the cache, and tests are offline
    assert PRESETS["bertic"].hub_id == "classla/bcms-bertic"
    assert (PRESETS["bertic"].epochs, PRESETS["bertic"].learning_rate, PRESETS["bertic"].batch_size) == (12, 1e-5, 74)


def test_plan_batches():
    assert plan_batches(32) == (32, 1)
    assert plan_batches(32, fits=lambda size: size <= 8) == (8, 4)
    assert plan_batches(74, fits=lambda size: size <= 40) == (37, 2)
    assert plan_batches(32, limit=5) == (4, 8)
    assert plan_batches(7, limit=4) == (1, 7)
    with pytest.raises(ConfigError, match="not even a batch of 1"):
        plan_batches(8, fits=lambda size: False)


def test_precision():
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ConfigError):
        resolve_precision("int8", "cpu")
