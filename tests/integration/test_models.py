"""Model loading rules, presets and memory planning (tiny models, no training)."""

from __future__ import annotations

import os

import pytest

from frenk.core.errors import ConfigError, ModelError
from frenk.data.labels import scheme
from frenk.training import PRESETS, check_head, load_classifier, plan_batches, resolve, resolve_precision


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
    with pytest.raises(ModelError, match="not in the local Hugging Face cache, and HF_HUB_OFFLINE is set.*"
                                         "hf download classla/bcms-bertic"):
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


# ---------------------------------------------------------------- every published checkpoint shape (issue 10)

from ..checkpoints import PRESET_SHAPES, SHAPES, build_checkpoint  # noqa: E402

STEP = dict(epochs=1, learning_rate=1e-3, batch_size=16, max_length=32, eval_batch_size=16)


def test_every_transformer_preset_has_its_checkpoint_shape():
    assert set(PRESET_SHAPES) == {name for name, p in PRESETS.items() if p.kind == "transformer"}
    assert {s for shapes in PRESET_SHAPES.values() for s in shapes} == set(SHAPES)


@pytest.fixture(scope="module")
def small_data(prepared_sample):
    """A few dozen comments per split: one optimisation step or two."""
    from frenk.data import PreparedData, load_prepared

    data = load_prepared(prepared_sample)
    sizes = {"train": 24, "validation": 16, "test": 16}
    return PreparedData({k: v.head(sizes.get(k, 16)).reset_index(drop=True) for k, v in data.splits.items()},
                        data.manifest, None)


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_published_shape_trains_saves_and_reloads_strictly(shape, small_data, sample_texts, tmp_path):
    """The checkpoint shape goes through train's loading path (load with the head, and the
    pooler where there is none, created new), one epoch, save, strict reload, same predictions."""
    from frenk.training import TrainSettings, load_saved, predict_proba, train_transformer

    base = build_checkpoint(shape, sample_texts[:2000], tmp_path / "base")
    work = tmp_path / "work"
    work.mkdir()
    result = train_transformer(str(base), small_data, TrainSettings(**STEP), work)
    assert result.reload_identical and result.reload_max_prob_diff <= 1e-5
    new = result.load_report["newly_initialised"]
    assert new and all(k.split(".")[0] in ("classifier", "pre_classifier") or ".pooler." in k for k in new)
    assert any(".pooler." in k for k in new) == (shape == "BertForMaskedLM")
    if shape.endswith(("MaskedLM", "PreTraining")):
        assert result.load_report["unused"]  # the pre-training head is dropped
    model, tokenizer = load_saved(result.model_dir)  # strict: any mismatch raises
    texts = small_data.splits["test"]["text"].tolist()
    assert (predict_proba(model, tokenizer, texts, STEP["max_length"]).argmax(1)
            == result.test_probabilities.argmax(1)).all()
    if not shape.startswith(("Bert", "Electra")):
        assert tokenizer.bos_token == "<s>" and tokenizer.eos_token == "</s>" and tokenizer.mask_token == "<mask>"
        ids = tokenizer("test")["input_ids"]
        assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id


def test_only_the_head_and_the_pooler_may_be_missing(sample_texts, tmp_path):
    """Anything else missing stays an error, and its hint says what to do."""
    import json

    base = build_checkpoint("BertForMaskedLM", sample_texts[:500], tmp_path / "bert")
    config = json.loads((base / "config.json").read_text())
    config["num_hidden_layers"] = 3  # weights of a third layer that the checkpoint lacks
    (base / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError) as info:
        load_classifier(str(base), id2label=scheme("binary").id2label, fine_tuned=False)
    message = str(info.value)
    assert "bert.encoder.layer.2." in message and "bert.pooler" not in message  # the pooler alone is fine
    assert "Only the classification head and the pooler may be missing" in message and "fix config.json" in message


def test_a_hub_that_does_not_answer_is_refused_at_once_and_the_process_goes_offline(monkeypatch, tmp_path):
    """No HF_HUB_OFFLINE, and the Hub address answers nothing (a closed local port): the refusal
    comes after one probe, not after the Hub client's retries, and later Hub calls stay offline."""
    import socket
    import time

    import huggingface_hub.constants

    from frenk import hub

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    monkeypatch.setattr(hub, "_probed", None)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"not in the local Hugging Face cache, and the Hub \(http://127.0.0.1:"
                                         r"\d+\) does not answer from here"):
        resolve("bertic")
    assert time.monotonic() - started < 20  # the Hub client alone retries for about 25 s
    assert huggingface_hub.constants.HF_HUB_OFFLINE and os.environ["HF_HUB_OFFLINE"] == "1"
