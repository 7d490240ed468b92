"""The training engine on tiny models (CPU, seconds): reproducibility, reloading, memory plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from frenk.config import TrainConfig
from frenk.core.errors import ConfigError
from frenk.data import load_prepared
from frenk.data.labels import scheme
from frenk.training import (
    TrainSettings,
    evaluate,
    load_saved,
    majority_baseline,
    predict_proba,
    train_tfidf,
    train_transformer,
)

from ..helpers import ROOT

pytestmark = pytest.mark.slow

FAST = dict(epochs=1, learning_rate=2e-3, batch_size=32, max_length=64)


@pytest.fixture(scope="module")
def data(prepared_sample):
    return load_prepared(prepared_sample)


def _train(tiny_models, data, tmp_path, name, **overrides):
    work = tmp_path / name
    work.mkdir()
    return train_transformer(str(tiny_models["electra"]), data, TrainSettings(**{**FAST, **overrides}), work)


def test_same_seed_same_metrics_and_predictions(tiny_models, data, tmp_path):
    a = _train(tiny_models, data, tmp_path, "a", seed=3)
    b = _train(tiny_models, data, tmp_path, "b", seed=3)
    c = _train(tiny_models, data, tmp_path, "c", seed=4)
    assert a.evaluation.metrics == b.evaluation.metrics
    pd.testing.assert_frame_equal(a.evaluation.predictions, b.evaluation.predictions)
    assert a.history == b.history
    assert not np.array_equal(a.evaluation.predictions.filter(like="prob.").to_numpy(),
                              c.evaluation.predictions.filter(like="prob.").to_numpy())
    assert a.reload_identical and a.reload_max_prob_diff == 0.0


def test_the_training_loss_is_logged_several_times_an_epoch(tiny_models, data, tmp_path):
    """Learning curves with shape: the loss every quarter epoch (by optimizer step, increasing),
    the epoch row's train_loss the step-weighted mean of the epoch's logged losses."""
    from frenk.training.engine import LOSS_LOGS_PER_EPOCH

    result = _train(tiny_models, data, tmp_path, "curve", seed=3, epochs=2, batch_size=16)
    steps = [step for step, _ in result.loss_curve]
    assert len(steps) >= 2 * LOSS_LOGS_PER_EPOCH and steps == sorted(set(steps))
    per_epoch = len(data.splits["train"]) // 16 + (len(data.splits["train"]) % 16 > 0)
    first = [(s, loss) for s, loss in result.loss_curve if s <= per_epoch]
    gaps = np.diff([0, *(s for s, _ in first)])
    assert result.history[0]["train_loss"] == pytest.approx(np.average([loss for _, loss in first], weights=gaps))
    assert result.loss_drop == result.loss_curve[0][1] - result.loss_curve[-1][1]


def test_reloaded_model_evaluates_identically_five_times(tiny_models, data, tmp_path):
    result = _train(tiny_models, data, tmp_path, "r", seed=5)
    test = data.splits["test"]
    classes = list(scheme("binary").classes)
    for _ in range(5):
        model, tokenizer = load_saved(result.model_dir)
        probs = predict_proba(model, tokenizer, test["text"].tolist(), FAST["max_length"])
        again = evaluate(test, probs, classes)
        assert again.metrics == result.evaluation.metrics
        pd.testing.assert_frame_equal(again.predictions, result.evaluation.predictions)


def test_smaller_device_batch_uses_gradient_accumulation(tiny_models, data, tmp_path):
    forced = _train(tiny_models, data, tmp_path, "acc", seed=1, device_batch_size=8)
    full = _train(tiny_models, data, tmp_path, "full", seed=1)
    assert (forced.per_device_batch, forced.accumulation_steps) == (8, 4)
    assert (full.per_device_batch, full.accumulation_steps) == (32, 1)
    # the loss is averaged over the accumulated micro-batches, as for one full batch
    # (transformers' Trainer would otherwise report, and backpropagate, it 4 times larger)
    assert forced.history[-1]["train_loss"] == pytest.approx(full.history[-1]["train_loss"], rel=0.25)


def test_only_the_model_is_saved(tiny_models, data, tmp_path):
    result = _train(tiny_models, data, tmp_path, "disk", seed=2)
    files = sorted(p.relative_to(tmp_path / "disk").as_posix() for p in (tmp_path / "disk").rglob("*") if p.is_file())
    assert files == ["model/config.json", "model/frenk.json", "model/model.safetensors", "model/tokenizer.json", "model/tokenizer_config.json"]
    assert result.evaluation.predictions.columns.tolist()[:5] == ["id", "topic", "label", "pred", "pred_name"]


def test_long_comments_are_truncated_not_padded_to_512(tiny_models, data):
    from transformers import AutoTokenizer

    from frenk.training import EncodedDataset

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["electra"]))
    encoded = EncodedDataset(tokenizer, data.splits["train"], max_length=128)
    lengths = [len(item["input_ids"]) for item in encoded.items]
    assert max(lengths) == 128  # the sample has comments longer than 128 tokens
    assert np.median(lengths) < 40  # and no padding before batching


def test_tfidf_beats_the_majority_class(data, tmp_path):
    result = train_tfidf(data, TrainSettings(epochs=1, learning_rate=0, batch_size=1), tmp_path)
    floor = majority_baseline(data)
    assert result.evaluation.metrics["test_accuracy"] > floor["accuracy"] + 0.1
    assert result.evaluation.metrics["test_macro_f1"] > floor["macro_f1"] + 0.2
    assert result.reload_identical


def test_simpletransformers_arguments_are_accepted():
    cfg = TrainConfig(args='{"num_train_epochs": 12, "learning_rate": 1e-5, "train_batch_size": 74, "max_seq_length": '
                           '256}')
    assert (cfg.epochs, cfg.learning_rate, cfg.batch_size, cfg.max_length) == (12.0, 1e-5, 74, 256)
    assert cfg.group == "hr-binary" and cfg.register == "frenk-hr"
    with pytest.raises(ConfigError, match="unknown keys \\['warmup_ratio'\\]"):
        TrainConfig(args='{"warmup_ratio": 0.1}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        TrainConfig(args="{epochs: 3}")


@pytest.mark.parametrize("args,message", [
    ('{"train_batch_size": 32.7}', "args.train_batch_size=32.7: expected a whole number"),  # never truncated to 32
    ('{"manual_seed": 1.9}', "args.manual_seed=1.9: expected a whole number"),
    ('{"learning_rate": "abc"}', "args.learning_rate='abc': expected a number"),
    ('{"num_train_epochs": [1]}', "args.num_train_epochs=[1]: expected a number"),
    ("[1]", "args must be a JSON object"),
])
def test_bad_values_inside_args_are_refused_with_the_key(args, message):
    with pytest.raises(ConfigError) as error:
        TrainConfig(args=args)
    assert str(error.value).startswith(message)


def test_a_fractional_seed_is_refused_not_truncated():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "entrypoints" / "train.py"), "--model", "tiny", "--seed", "1.9"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'1.9' is not a whole number" in proc.stderr, proc.stderr[-2000:]


def test_predictions_keep_the_order_of_the_texts_though_batched_by_length(tiny_models, data, tmp_path):
    model, tokenizer = load_saved(_train(tiny_models, data, tmp_path, "order", seed=7).model_dir)
    texts = data.splits["test"]["text"].tolist()[:40]
    assert len({len(t) for t in texts}) > 10  # lengths vary, so sorting by length reorders them
    together = predict_proba(model, tokenizer, texts, 64, batch_size=8)
    assert np.ptp(together[:, 0]) > 100 * 1e-5  # a trained model: spread far wider than the tolerance below
    alone = np.concatenate([predict_proba(model, tokenizer, [t], 64, batch_size=1) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(predict_proba(model, tokenizer, texts[::-1], 64, batch_size=8), together[::-1], atol=1e-5)
    assert predict_proba(model, tokenizer, [], 64).shape == (0, 2)
