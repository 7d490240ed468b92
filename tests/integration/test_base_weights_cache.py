"""A base checkpoint is read from disk once per process (frenk.training.loading): a model built
from the kept copy is bit-identical to one read from disk under the same init seed (the new head
included), has weights of its own, and a fine-tuned load never uses the copy."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import torch

from frenk.data import load_prepared, scheme
from frenk.training import TrainSettings, fit, loading, resolve

pytestmark = pytest.mark.slow  # the tiny models are built first

LABELS = scheme("binary").id2label


@pytest.fixture
def headless(tiny_models, tmp_path):
    """The tiny ELECTRA without its classification head, as a pretrained checkpoint is."""
    from transformers import AutoTokenizer, ElectraForSequenceClassification

    folder = tmp_path / "headless"
    ElectraForSequenceClassification.from_pretrained(str(tiny_models["electra"])).electra.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(tiny_models["electra"])).save_pretrained(folder)
    loading.forget_base()
    yield folder
    loading.forget_base()


def _load(folder, seed: int):
    from transformers import set_seed

    set_seed(seed)  # as the engine does before the head is created
    return loading.load_with_report(str(folder), id2label=LABELS, fine_tuned=False)


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict, b: dict, keys=None) -> bool:
    keys = a.keys() if keys is None else keys
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in keys)


def test_a_model_from_the_kept_checkpoint_is_the_one_read_from_disk(headless):
    first, report = _load(headless, 3)
    assert loading.base_stats == {"hits": 0, "misses": 1} and any(k.startswith("classifier") for k in
                                                                   report.newly_initialised)
    kept, kept_report = _load(headless, 3)
    assert loading.base_stats == {"hits": 1, "misses": 1}
    assert kept is not first and kept_report == report and type(kept) is type(first)
    assert _same(_weights(first), _weights(kept))  # every tensor, the new head included
    assert kept.config.to_dict() == first.config.to_dict() and kept.training == first.training
    loading.forget_base()
    assert _same(_weights(_load(headless, 3)[0]), _weights(kept))  # forced from disk: the same again


def test_the_second_load_does_not_read_the_weights(headless):
    """The weight file is broken after the first load (same size and change time): the kept copy
    still gives the model, and a load forced from disk fails on it."""
    want = _weights(_load(headless, 4)[0])
    weights = headless / "model.safetensors"
    stat = weights.stat()
    weights.write_bytes(b"\0" * stat.st_size)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _same(want, _weights(_load(headless, 4)[0])) and loading.base_stats["hits"] == 1
    loading.forget_base()
    with pytest.raises(Exception, match="header"):  # noqa: PT011  # the broken file is read
        _load(headless, 4)


def test_another_init_seed_gives_another_head_on_the_same_base_weights(headless):
    one, report = _load(headless, 1)
    two = _load(headless, 2)[0]
    a, b = _weights(one), _weights(two)
    new = set(report.newly_initialised)
    assert loading.base_stats["hits"] == 1
    assert _same(a, b, [k for k in a if k not in new])
    assert not _same(a, b, [k for k in a if k.startswith("classifier") and k.endswith("weight")])


def test_each_load_has_weights_of_its_own(headless):
    first = _load(headless, 5)[0]
    want = _weights(first)
    with torch.no_grad():
        for p in first.parameters():
            p.add_(1.0)  # training changes the weights in place
    second = _load(headless, 5)[0]
    assert _same(want, _weights(second))
    with torch.no_grad():
        for p in second.parameters():
            p.mul_(0.0)
    assert _same(want, _weights(_load(headless, 5)[0])) and loading.base_stats["hits"] == 2


def test_fine_tuned_loads_other_labels_and_other_folders_read_the_disk(headless, tiny_models):
    _load(headless, 1)
    loading.load_classifier(str(tiny_models["electra"]), fine_tuned=True)
    loading.load_classifier(str(tiny_models["electra"]), fine_tuned=True)
    assert loading.base_stats == {"hits": 0, "misses": 1}
    loading.load_with_report(str(headless), id2label=scheme("multiclass").id2label, fine_tuned=False)
    _load(tiny_models["bert"], 1)
    _load(headless, 1)  # only the last checkpoint is kept
    assert loading.base_stats == {"hits": 0, "misses": 4}


def test_a_training_from_the_kept_checkpoint_is_the_training_from_disk(headless, prepared_sample, tmp_path):
    data = load_prepared(prepared_sample)
    spec = resolve(str(headless))
    settings = replace(TrainSettings(epochs=1, learning_rate=1e-3, batch_size=16, max_length=32), seed=7,
                       init_seed=7, data_seed=7)
    runs = []
    for n in range(2):  # the first from disk, the second from the kept copy
        (tmp_path / f"run{n}").mkdir()
        runs.append(fit(spec, data, settings, tmp_path / f"run{n}"))
    assert loading.base_stats == {"hits": 1, "misses": 1}
    assert runs[0].validation == runs[1].validation and runs[0].history == runs[1].history
    from safetensors.torch import load_file

    saved = [load_file(str(r.model_dir / "model.safetensors")) for r in runs]
    assert _same(saved[0], saved[1])
