"""A new kind of model is one registry entry plus its preset (#24 point 2): the train step, the
registry alias and the parameters logged follow from the kind, with no other change."""

from __future__ import annotations

import dataclasses

import mlflow
import pytest

from frenk.config import TrainConfig
from frenk.training import BASELINE, KINDS, PRESETS, ModelKind, kinds, presets


@pytest.fixture
def char_baseline(monkeypatch):
    """A second baseline kind on paper, learning as TF-IDF does, under a name frenk never heard of."""
    kind = ModelKind("char-baseline", kinds._fit_tfidf, ignored_params=kinds.GRADIENT_PARAMS, tunable=False,
                     exportable=False, registry_alias=BASELINE, has_base_model=False)
    preset = dataclasses.replace(PRESETS["tfidf"], name="char-ngrams", kind=kind.name)
    monkeypatch.setitem(KINDS, kind.name, kind)
    monkeypatch.setitem(PRESETS, preset.name, preset)
    monkeypatch.setitem(presets.PRESETS, preset.name, preset)
    return preset


def test_a_new_kind_trains_and_registers_as_its_kind_says(mlflow_store, prepared_sample, char_baseline):
    from frenk.steps import train

    done = train(TrainConfig(model="char-ngrams", data=str(prepared_sample), repeats=2))
    parent = mlflow.get_run(done.parent_run_id)
    assert parent.data.tags["frenk.kind"] == "char-baseline"
    assert "learning_rate" not in parent.data.params and "frenk.engine" not in parent.data.tags  # ignored by its kind
    model = mlflow.MlflowClient().get_registered_model("frenk-hr")
    assert {a: str(v) for a, v in model.aliases.items()} == {BASELINE: done.registered_version}
