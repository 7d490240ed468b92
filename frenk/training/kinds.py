"""The registry of model kinds: everything that differs between a fine-tuned Hugging Face
transformer, the tiny random ELECTRA and the TF-IDF baseline, in one object per kind.

A step or library function asks the kind (``kind_of(spec)``, ``kind_named(name)``,
``kind_of_system(model)``) instead of comparing kind names: which learner fits it, which
parameters mean nothing to it, what is checked before it trains, whether it can be tuned, whether
it exports as a Hugging Face folder, and which registry alias a new version of it gets.

A new kind is one :class:`ModelKind` here (its learner in a module of its own) plus its
:class:`~.presets.Preset` entries; nothing else in frenk names kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError, ModelError
from ..data import PreparedData, scheme
from .listeners import EpochListener
from .loading import check_head, check_max_length
from .presets import PRESETS, TFIDF, TINY, TRANSFORMER, ModelSpec
from .result import TrainResult
from .settings import TrainSettings
from .tiny import TINY_MAX_POSITIONS, build_tiny

#: the alias of a new registered version that publish may promote, and of one it never promotes
CANDIDATE, BASELINE = "candidate", "baseline"
#: parameters of a training that only gradient-trained models use
GRADIENT_PARAMS = ("epochs", "learning_rate", "batch_size", "max_length", "precision", "device_batch_size",
                   "warmup_ratio", "weight_decay", "engine", "parallel")

Learner = Callable[[ModelSpec, PreparedData, TrainSettings, Path, Sequence[EpochListener], bool], TrainResult]
#: a saved model's predictions: texts -> class ids
Predict = Callable[[list[str]], np.ndarray]
#: how a registered model's own code (frenk/tracking/model_code.py) reloads a saved folder
HF_FOLDER, JOBLIB_PIPELINE = "huggingface", "joblib"


@dataclass(frozen=True)
class ModelKind:
    """What frenk does differently for one kind of model."""

    name: str
    #: trains one model: (spec, data, settings, work folder, epoch listeners, final) -> result
    learner: Learner
    #: train parameters that mean nothing to it (not logged on its runs)
    ignored_params: tuple[str, ...] = ()
    #: whether tune searches its hyperparameters, and whether engine/parallel apply
    tunable: bool = True
    #: whether publish can export it as a Hugging Face model folder
    exportable: bool = True
    #: the alias its new registered versions get
    registry_alias: str = CANDIDATE
    #: whether its model id names a Hub model it was fine-tuned from (the card's base_model)
    has_base_model: bool = True
    #: checks before any training: (spec, label scheme, max_length) -> None or a raised error
    check: Callable[[ModelSpec, str, int], None] | None = None
    #: how messages name it
    title: str = "a transformer"
    #: reloads a saved model folder for prediction: (folder, max_length) -> predict (the pyfunc model)
    predictor: Callable[[Path, int], Predict] | None = None
    #: how the code a registered model ships reloads its folder (HF_FOLDER or JOBLIB_PIPELINE)
    saved_as: str = HF_FOLDER

    def load_predictor(self, folder: Path, max_length: int) -> Predict:
        return (self.predictor or _hf_predictor)(folder, max_length)

    def fit(self, spec: ModelSpec, data: PreparedData, settings: TrainSettings, work_dir: Path,
            listeners: Sequence[EpochListener] = (), final: bool = True) -> TrainResult:
        return self.learner(spec, data, settings, work_dir, listeners, final)

    def check_before_training(self, spec: ModelSpec, labels: str, max_length: int) -> None:
        if self.check is not None:
            self.check(spec, labels, max_length)


def _transformer_engine(source: str, data: PreparedData, settings: TrainSettings, work_dir: Path,
                        listeners: Sequence[EpochListener], final: bool) -> TrainResult:
    """A Hugging Face checkpoint, trained by the engine that ``settings.engine`` names."""
    if settings.engine == "simpletransformers":
        from .simpletransformers_engine import train_simpletransformers

        return train_simpletransformers(source, data, settings, work_dir, listeners, final=final)
    from .engine import train_transformer

    return train_transformer(source, data, settings, work_dir, listeners, final=final)


def _fit_transformer(spec, data, settings, work_dir, listeners, final) -> TrainResult:
    if spec.source is None:
        raise ModelError(f"model={spec.name}: a transformer needs a Hugging Face model id or a folder")
    return _transformer_engine(spec.source, data, settings, work_dir, listeners, final)


def _fit_tiny(spec, data, settings, work_dir, listeners, final) -> TrainResult:
    """On one CPU thread: its matrices (32 wide) gain little from more (two threads are 12-28%
    faster on an idle 2-core machine) and lose much when the cores are busy (2-7 times slower with
    two other busy processes: tests, a server, a second tune worker; bench/results/tiny_threads.md)."""
    import torch

    id2label = scheme(data.manifest["parameters"]["labels"]).id2label
    texts = data.splits["train"]["text"].tolist()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        source = str(build_tiny(texts, id2label, work_dir / "base", seed=settings.sources.init))
        return _transformer_engine(source, data, settings, work_dir, listeners, final)
    finally:
        torch.set_num_threads(threads)


def _fit_tfidf(spec, data, settings, work_dir, listeners, final) -> TrainResult:
    if not final:
        raise ConfigError("the TF-IDF baseline has no hyperparameters to tune; tune a transformer model")
    from .tfidf import train_tfidf

    return train_tfidf(data, settings, work_dir, listeners)


def _hf_predictor(folder: Path, max_length: int) -> Predict:
    """A Hugging Face folder, reloaded strictly (a weight that does not match is an error)."""
    from .engine import load_saved, predict_proba

    model, tokenizer = load_saved(folder)
    return lambda texts: predict_proba(model, tokenizer, texts, max_length).argmax(axis=1)


def _tfidf_predictor(folder: Path, max_length: int) -> Predict:
    import joblib

    from .tfidf import TFIDF_FILE

    pipeline = joblib.load(folder / TFIDF_FILE)["pipeline"]
    return lambda texts: np.asarray(pipeline.predict(texts))


def _check_transformer(spec: ModelSpec, labels: str, max_length: int) -> None:
    if spec.source is None:  # resolve gives every transformer its source
        raise ModelError(f"model={spec.name}: a transformer needs a Hugging Face model id or a folder")
    check_head(spec.source, scheme(labels).id2label)
    check_max_length(spec.source, max_length)


def _check_tiny(spec: ModelSpec, labels: str, max_length: int) -> None:
    check_max_length("the tiny model", max_length, TINY_MAX_POSITIONS)


KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(TRANSFORMER, _fit_transformer, check=_check_transformer),
        ModelKind(TINY, _fit_tiny, check=_check_tiny, has_base_model=False, title="the tiny model"),
        ModelKind(TFIDF, _fit_tfidf, ignored_params=GRADIENT_PARAMS, tunable=False, exportable=False,
                  registry_alias=BASELINE, has_base_model=False, title="the TF-IDF baseline",
                  predictor=_tfidf_predictor, saved_as=JOBLIB_PIPELINE),
    )
}


def kind_named(name: str) -> ModelKind:
    """The kind called ``name`` (a :attr:`ModelSpec.kind`)."""
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown model kind {name!r}: one of {', '.join(KINDS)}") from None


def kind_of(spec: ModelSpec) -> ModelKind:
    return kind_named(spec.kind)


def kind_of_saved(folder: Path, meta: dict) -> ModelKind:
    """The kind of a saved model folder: its ``frenk.json`` names it; a folder saved before that
    is the TF-IDF baseline when it holds the pipeline, else a Hugging Face folder."""
    if meta.get("kind") in KINDS:
        return KINDS[meta["kind"]]
    from .tfidf import TFIDF_FILE

    return KINDS[TFIDF] if (folder / TFIDF_FILE).is_file() else KINDS[TRANSFORMER]


def kind_of_system(model: str | None, kind: str | None = None) -> ModelKind:
    """The kind of a system as runs and versions name it: the ``frenk.kind`` tag when it was logged
    (``kind``), else the preset of that name (``frenk.model``), else a Hugging Face transformer
    (a model id or folder)."""
    if kind in KINDS:
        return KINDS[kind]
    preset = PRESETS.get(model or "")
    return KINDS[preset.kind] if preset is not None else KINDS[TRANSFORMER]
