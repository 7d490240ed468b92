"""Model presets, the tiny offline model, and loading that refuses silently broken weights.

No MLflow here. Loading rules (the ELECTRA-into-BERT failure that this project exists to
prevent): classifiers are always built with ``AutoModelForSequenceClassification`` and an
explicit ``num_labels``/``id2label``/``label2id``; a fine-tuned model that is loaded again
must match its checkpoint exactly, and any missing, unexpected or mismatched weight is an
error that lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError


@dataclass(frozen=True)
class Preset:
    """A named model with the hyperparameters published (or recommended) for it."""

    name: str
    hub_id: str | None
    kind: str  # "transformer", "tiny" or "tfidf"
    languages: tuple[str, ...]
    epochs: float
    learning_rate: float
    batch_size: int
    hyperparameter_source: str


_FRENK_CARD = "classla/bcms-bertic-frenk-hate model card (simpletransformers, FRENK hr binary)"
_COMMON = "common BERT fine-tuning defaults (Devlin et al. 2019); no FRENK-specific values published"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("bertic", "classla/bcms-bertic", "transformer", ("hr",), 12, 1e-5, 74, _FRENK_CARD),
        Preset("crosloengual", "EMBEDDIA/crosloengual-bert", "transformer", ("hr", "sl", "en"), 12, 1e-5, 74,
               "same pipeline as bcms-bertic in the " + _FRENK_CARD),
        Preset("sloberta", "EMBEDDIA/sloberta", "transformer", ("sl",), 3, 2e-5, 32, _COMMON),
        Preset("xlmr", "xlm-roberta-base", "transformer", ("hr", "sl", "en"), 12, 1e-5, 74,
               "same pipeline as bcms-bertic in the " + _FRENK_CARD),
        Preset("xlmr-large", "xlm-roberta-large", "transformer", ("hr", "sl", "en"), 3, 1e-5, 16, _COMMON),
        Preset("mbert", "bert-base-multilingual-cased", "transformer", ("hr", "sl", "en"), 3, 2e-5, 32, _COMMON),
        Preset("roberta", "roberta-base", "transformer", ("en",), 3, 2e-5, 32, _COMMON),
        Preset("tiny", None, "tiny", ("hr", "sl", "en"), 3, 2e-3, 32,
               "tiny random ELECTRA for smoke runs: a high rate so that it learns in minutes on a CPU"),
        Preset("tfidf", None, "tfidf", ("hr", "sl", "en"), 1, 0.0, 0,
               "TF-IDF word 1-2 grams + logistic regression (scikit-learn); the floor to beat"),
    )
}


@dataclass(frozen=True)
class ModelSpec:
    """What ``model=`` resolved to."""

    name: str  # preset name, or the id/folder as given
    kind: str  # transformer | tiny | tfidf
    source: str | None  # hub id or local folder for transformers
    preset: Preset | None


def resolve(model: str) -> ModelSpec:
    """Resolve a preset name, a local folder or a Hugging Face model id.

    Hub ids are checked (config only) before any training starts; offline, a model that is
    not in the local cache is a clear error.
    """
    if model in PRESETS:
        preset = PRESETS[model]
        spec = ModelSpec(model, preset.kind, preset.hub_id, preset)
    elif Path(model).is_dir():
        spec = ModelSpec(model, "transformer", str(Path(model).resolve()), None)
    elif "/" in model or "-" in model:
        spec = ModelSpec(model, "transformer", model, None)
    else:
        raise ModelError(
            f"unknown model {model!r}: use a preset ({', '.join(PRESETS)}), a Hugging Face model id "
            "(owner/name) or a local model folder"
        )
    if spec.kind == "transformer":
        _check_available(spec.source)
    return spec


def _check_available(source: str) -> None:
    if Path(source).is_dir():
        if not (Path(source) / "config.json").is_file():
            raise ModelError(f"{source}: a model folder needs config.json (a Hugging Face save_pretrained folder)")
        return
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(source)
    except Exception as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True")
        raise ModelError(
            f"model {source!r} was found neither locally nor on the Hugging Face Hub ({type(exc).__name__}). "
            + ("HF_HUB_OFFLINE is set: " if offline else "Without internet access: ")
            + f"download it once where there is internet (`hf download {source}`), copy the cache "
            "(~/.cache/huggingface) or pass the model folder as model=<folder>; or use model=tiny / model=tfidf"
        ) from None


# ---------------------------------------------------------------- loading


# parameters of a freshly initialised classification head (expected missing in a base model)
HEAD_PREFIXES = ("classifier", "score", "pre_classifier", "qa_outputs")


def _is_head(key: str) -> bool:
    parts = key.split(".")
    return parts[0] in HEAD_PREFIXES or (len(parts) > 1 and parts[1] in HEAD_PREFIXES)


def _problems(info: dict, fine_tuned: bool) -> dict[str, list[str]]:
    missing = sorted(info.get("missing_keys", []))
    if not fine_tuned:
        missing = [k for k in missing if not _is_head(k)]
    problems = {"missing": missing, "mismatched": sorted(str(m) for m in info.get("mismatched_keys", []))}
    if fine_tuned:  # a base checkpoint may carry pre-training heads that a classifier drops
        problems["unexpected"] = sorted(info.get("unexpected_keys", []))
    return {k: v for k, v in problems.items() if v}


def load_classifier(
    source: str,
    *,
    id2label: dict[int, str] | None = None,
    fine_tuned: bool,
    model_class: type | None = None,
):
    """Load a sequence classifier and refuse any weight that was not loaded as stored.

    ``fine_tuned=True`` (evaluation, registry, publish): the checkpoint must match the
    model exactly. ``fine_tuned=False`` (start of training): only the classification head
    may be missing. ``model_class`` defaults to ``AutoModelForSequenceClassification``, which
    picks the class from the checkpoint's ``model_type``; passing another class is how the
    wrong-class failure happens, and is refused with the key list.
    """
    from transformers import AutoModelForSequenceClassification

    cls = model_class or AutoModelForSequenceClassification
    kwargs = {}
    if id2label is not None:
        kwargs = {
            "num_labels": len(id2label),
            "id2label": dict(id2label),
            "label2id": {v: k for k, v in id2label.items()},
        }
    try:
        model, info = cls.from_pretrained(source, output_loading_info=True, **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load a classifier from {source}: {exc}") from exc
    problems = _problems(info, fine_tuned)
    if problems:
        listing = "; ".join(f"{kind} ({len(keys)}): {', '.join(keys[:20])}{' ...' if len(keys) > 20 else ''}"
                            for kind, keys in problems.items())
        raise ModelError(
            f"loading {source} into {type(model).__name__} left weights that do not match the checkpoint, so "
            f"part of the network would be randomly initialised: {listing}. Load it with "
            "AutoModelForSequenceClassification (the class must fit the checkpoint's model_type)"
        )
    return model


def head_labels(source: str) -> dict[int, str] | None:
    """The labels of a checkpoint's classification head, or ``None`` if it has none of its own."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source)
    id2label = {int(k): v for k, v in (config.id2label or {}).items()}
    default = {i: f"LABEL_{i}" for i in range(len(id2label))}
    return None if id2label == default else id2label


def check_head(source: str, id2label: dict[int, str]) -> None:
    """Refuse a checkpoint whose own head labels differ from the data's labels."""
    own = head_labels(source)
    if own is not None and own != dict(id2label):
        raise ModelError(
            f"{source} has a classification head for {list(own.values())}, but the data has labels "
            f"{list(id2label.values())}; use matching labels=binary|multiclass or start from a base model"
        )


# ---------------------------------------------------------------- the tiny model


def build_tiny(
    texts: list[str],
    id2label: dict[int, str],
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    architecture: str = "electra",
    vocab_size: int = 2000,
    **sizes: int,
) -> Path:
    """Build a tiny random ``electra`` or ``bert`` classifier with a WordPiece tokenizer trained
    on ``texts``, saved as a Hugging Face folder. No download; seconds on a CPU.

    ``sizes`` override the tiny dimensions (``hidden_size=768, num_hidden_layers=12, ...``
    gives a randomly initialised base-size model, for memory benchmarks)."""
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertTokenizerFast,
        ElectraConfig,
        ElectraForSequenceClassification,
        ElectraTokenizerFast,
        set_seed,
    )

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=1, show_progress=False)
    labels = {
        "num_labels": len(id2label),
        "id2label": dict(id2label),
        "label2id": {v: k for k, v in id2label.items()},
    }
    sizes = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 512,
        **sizes,
    }
    if architecture == "electra":
        tokenizer = ElectraTokenizerFast(vocab=wordpiece.get_vocab(), do_lower_case=True, model_max_length=512)
        config = ElectraConfig(vocab_size=len(tokenizer), embedding_size=sizes["hidden_size"], **sizes, **labels)
        model_cls = ElectraForSequenceClassification
    elif architecture == "bert":
        tokenizer = BertTokenizerFast(vocab=wordpiece.get_vocab(), do_lower_case=True, model_max_length=512)
        config = BertConfig(vocab_size=len(tokenizer), **sizes, **labels)
        model_cls = BertForSequenceClassification
    else:
        raise ValueError(f"architecture must be electra or bert, not {architecture!r}")
    set_seed(seed)
    model = model_cls(config)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
