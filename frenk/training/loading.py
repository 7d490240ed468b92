"""Loading classifiers that refuse silently broken weights.

Classifiers are always built with ``AutoModelForSequenceClassification`` and an explicit
``num_labels``/``id2label``/``label2id``; a fine-tuned model that is loaded again must match
its checkpoint exactly, and any missing, unexpected or mismatched weight is an error that
lists them (the ELECTRA-into-BERT failure this project exists to prevent).
"""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from ..core.errors import ModelError


class NoRemoteCode(TypedDict):
    """The type of :data:`NO_REMOTE_CODE` (so that type checkers match it to the loaders' keyword)."""

    trust_remote_code: Literal[False]


#: every Auto load passes this: a model folder's own Python code is never run
NO_REMOTE_CODE: NoRemoteCode = {"trust_remote_code": False}
#: files of a Hugging Face folder that can point the Auto classes at the folder's own code
CODE_MAPS = ("config.json", "tokenizer_config.json", "preprocessor_config.json")


# parameters of a freshly initialised classification head (expected missing in a base model)
HEAD_PREFIXES = ("classifier", "score", "pre_classifier", "qa_outputs")
#: the pooler: many published BERT checkpoints (saved from BertForMaskedLM) have none, and a
#: classifier that uses it creates it new, like the head
POOLER_PREFIXES = ("pooler",)


@dataclass
class LoadReport:
    """What loading a base checkpoint for training did besides loading its weights."""

    #: created new (the classification head; the pooler where the checkpoint had none)
    newly_initialised: list[str] = field(default_factory=list)
    #: in the checkpoint but not used by the classifier (pre-training heads)
    unused: list[str] = field(default_factory=list)


def _is_head(key: str) -> bool:
    parts = key.split(".")
    return parts[0] in HEAD_PREFIXES or (len(parts) > 1 and parts[1] in HEAD_PREFIXES)


def _is_new_part(key: str) -> bool:
    """The head, or the pooler: the parts a base checkpoint may lack."""
    parts = key.split(".")
    return _is_head(key) or parts[0] in POOLER_PREFIXES or (len(parts) > 1 and parts[1] in POOLER_PREFIXES)


def _problems(info: dict, fine_tuned: bool) -> dict[str, list[str]]:
    missing = sorted(info.get("missing_keys", []))
    if not fine_tuned:
        missing = [k for k in missing if not _is_new_part(k)]
    problems = {"missing": missing, "mismatched": sorted(str(m) for m in info.get("mismatched_keys", []))}
    if fine_tuned:  # a base checkpoint may carry pre-training heads that a classifier drops
        problems["unexpected"] = sorted(info.get("unexpected_keys", []))
    return {k: v for k, v in problems.items() if v}


def load_classifier(
    source: str,
    *,
    id2label: dict[int, str] | None = None,
    fine_tuned: bool,
    model_class: type[Any] | None = None,
):
    """Load a sequence classifier and refuse any weight that was not loaded as stored.

    ``fine_tuned=True`` (evaluation, registry, publish): the checkpoint must match the
    model exactly. ``fine_tuned=False`` (start of training): only the classification head
    (and a pooler the checkpoint lacks) may be missing. ``model_class`` defaults to
    ``AutoModelForSequenceClassification``, which picks the class from the checkpoint's
    ``model_type``; passing another class is how the wrong-class failure happens, and is
    refused with the key list.
    """
    return load_with_report(source, id2label=id2label, fine_tuned=fine_tuned, model_class=model_class)[0]


#: the base checkpoint last loaded for training in this process, and what it gave: one at most, so
#: that a tune of one model (trials x seeds) keeps a single CPU copy of its weights
_base: dict[tuple, tuple[Any, type[Any], dict[str, Any], LoadReport]] = {}
#: how often a base load found its checkpoint kept (for the benchmark and the tests)
base_stats = {"hits": 0, "misses": 0}


def forget_base() -> None:
    """Drop the kept base checkpoint (tests, the benchmark: the next load reads the disk)."""
    _base.clear()
    base_stats.update(hits=0, misses=0)


def _base_key(source: str, id2label: dict[int, str] | None, model_class: type[Any] | None) -> tuple:
    """What decides a base load: the folder (resolved, with its files' names, sizes and change
    times, so a rewritten folder is read again) or Hub id, the labels, the class and the dtype."""
    import torch

    folder = Path(source)
    where = source
    files: tuple[tuple[str, int, int], ...] = ()
    if folder.is_dir():
        where = str(folder.resolve())
        files = tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()))
    labels = None if id2label is None else tuple(sorted(id2label.items()))
    return where, files, labels, model_class, torch.get_default_dtype()


def load_with_report(source: str, *, id2label: dict[int, str] | None = None, fine_tuned: bool,
                     model_class: type[Any] | None = None):
    """:func:`load_classifier`, and the :class:`LoadReport` of what was created new.

    A base load (``fine_tuned=False``) reads the disk once per process: the checked checkpoint
    (config, class, a CPU copy of the weights it supplied, report) is kept, only the last one,
    and a later load of the same key builds a new model from that copy through the same
    ``from_pretrained`` initialisation, so the head (and a missing pooler) is drawn from the
    torch RNG exactly as from disk: the model is bit-identical. Each call returns its own model.
    A fine-tuned load (evaluate, the reload check, publish) always reads the disk."""
    if fine_tuned:
        return _load_from_disk(source, id2label, fine_tuned, model_class)
    key = _base_key(source, id2label, model_class)
    if key in _base:
        base_stats["hits"] += 1
        return _from_kept(source, *_base[key])
    base_stats["misses"] += 1
    model, report = _load_from_disk(source, id2label, fine_tuned, model_class)
    new = set(report.newly_initialised)
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k not in new}
    _base.clear()
    _base[key] = (copy.deepcopy(model.config), type(model), weights, report)
    return model, LoadReport(list(report.newly_initialised), list(report.unused))


def _from_kept(source: str, config, cls: type[Any], weights: dict[str, Any], report: LoadReport):
    """A new model from a kept base checkpoint (its own copy of the weights: training changes them)."""
    model, info = cls.from_pretrained(None, config=copy.deepcopy(config), output_loading_info=True,
                                      state_dict={k: v.clone() for k, v in weights.items()}, **NO_REMOTE_CODE)
    if sorted(info.get("missing_keys", [])) != report.newly_initialised or info.get("mismatched_keys"):
        raise ModelError(f"the kept copy of {source} did not load as the checkpoint did; rerun the training")
    model.config.name_or_path = source
    model.name_or_path = source
    return model, LoadReport(list(report.newly_initialised), list(report.unused))


def _load_from_disk(source: str, id2label: dict[int, str] | None, fine_tuned: bool, model_class: type[Any] | None):
    """Read ``source`` from disk with ``from_pretrained`` and refuse weights that did not load as stored."""
    from transformers import AutoModelForSequenceClassification

    cls = model_class or AutoModelForSequenceClassification
    kwargs = {}
    if id2label is not None:
        kwargs = {
            "num_labels": len(id2label),
            "id2label": dict(id2label),
            "label2id": {v: k for k, v in id2label.items()},
        }
    refuse_custom_code(source)
    try:
        model, info = cls.from_pretrained(source, output_loading_info=True, **NO_REMOTE_CODE, **kwargs)
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{source}: its weight file was refused by torch's safe loading (weights_only), because it holds "
            f"objects other than tensors ({str(exc).splitlines()[0][:200]}); it may run code when unpickled. "
            "Use a model saved as model.safetensors"
        ) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load a classifier from {source}: {str(exc).splitlines()[0][:500]}") from exc
    problems = _problems(info, fine_tuned)
    if problems:
        listing = "; ".join(f"{kind} ({len(keys)}): {', '.join(keys[:20])}{' ...' if len(keys) > 20 else ''}"
                            for kind, keys in problems.items())
        raise ModelError(
            f"loading {source} into {type(model).__name__} left weights that do not match the checkpoint, so "
            f"part of the network would be randomly initialised: {listing}. {_hint(model, model_class, fine_tuned)}"
        )
    report = LoadReport(sorted(info.get("missing_keys", [])), sorted(info.get("unexpected_keys", [])))
    return model, report


def _hint(model, model_class: type[Any] | None, fine_tuned: bool) -> str:
    """What to do about a checkpoint that does not fit."""
    if model_class is not None:
        return ("Load it with AutoModelForSequenceClassification (the class must fit the checkpoint's model_type, "
                f"here {model.config.model_type!r})")
    if fine_tuned:
        return ("A fine-tuned model must load exactly: use the folder frenk saved (or exported) unchanged, "
                "and retrain if its weights were edited or saved by another class")
    return (f"Only the classification head and the pooler may be missing from a base checkpoint; here encoder "
            f"weights are missing, so the folder's weights do not fit its config.json (model_type "
            f"{model.config.model_type!r}): use the checkpoint as published, or fix config.json to match its weights")


def head_labels(source: str) -> dict[int, str] | None:
    """The labels of a checkpoint's classification head, or ``None`` if it has none of its own."""
    from transformers import AutoConfig

    refuse_custom_code(source)
    config = AutoConfig.from_pretrained(source, **NO_REMOTE_CODE)
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


def refuse_custom_code(source: str | Path) -> None:
    """Refuse a local model folder that ships its own code (an ``auto_map`` in its config or
    tokenizer config): frenk never runs a model folder's code, and never asks whether to."""
    folder = Path(source)
    if not folder.is_dir():
        return
    for name in CODE_MAPS:
        try:
            record = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and record.get("auto_map"):
            code = sorted(p.name for p in folder.glob("*.py"))
            raise ModelError(
                f"{folder}: the model folder ships its own code ({name} has an auto_map"
                + (f"; {', '.join(code[:5])}" if code else "")
                + "), and frenk never runs a model folder's code (trust_remote_code=False). Use a model whose "
                "architecture is built into transformers, or save the model with a built-in class"
            )


#: model types whose position ids start after the padding index, so two positions are not usable
OFFSET_POSITIONS = {"roberta": 2, "xlm-roberta": 2, "xlm-roberta-xl": 2, "camembert": 2, "longformer": 2}


def max_positions(source: str) -> int | None:
    """How many tokens ``source``'s position embeddings hold, or None where its config does not say."""
    from transformers import AutoConfig

    refuse_custom_code(source)
    config = AutoConfig.from_pretrained(source, **NO_REMOTE_CODE)
    limit = getattr(config, "max_position_embeddings", None)
    if not isinstance(limit, int) or limit <= 0:
        return None
    return limit - OFFSET_POSITIONS.get(getattr(config, "model_type", ""), 0)


def check_max_length(source: str, max_length: int, limit: int | None = None) -> None:
    """Refuse, before training, a ``max_length`` longer than the model's position embeddings
    (a long comment would otherwise fail in the middle of training). ``limit``: known already."""
    limit = max_positions(source) if limit is None else limit
    if limit is not None and max_length > limit:
        raise ModelError(
            f"max_length={max_length} is longer than {source} can read: its position embeddings hold {limit} "
            f"tokens (max_position_embeddings). Pass max_length={limit} or less"
        )
