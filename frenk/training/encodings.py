"""Tokenise once per process: a search trains many short runs (trials x seeds) on the same
splits with the same tokenizer and max_length, and each used to tokenise its training,
validation and test comments again, and to load its tokenizer again.

:func:`encode` keeps the last few encodings, keyed by what decides them: the tokenizer (its
serialised vocabulary and settings, not its name: two folders of one name may differ), the
max_length and the texts themselves (a digest); :func:`tokenizer_for` keeps the tokenizer of a
base model folder or id. Both only ever hold what this process computed itself."""

from __future__ import annotations

import contextlib
import hashlib
import json
import weakref
from collections import OrderedDict
from collections.abc import Sequence

from .loading import NO_REMOTE_CODE

#: encodings kept (a dataset's training, validation and test split, and one more)
KEPT_ENCODINGS = 4
#: tokenizers kept (a study trains one base model; train's seeds too)
KEPT_TOKENIZERS = 2

_encodings: OrderedDict[tuple, dict[str, list]] = OrderedDict()
_tokenizers: OrderedDict[str, object] = OrderedDict()
_fingerprints: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: how often :func:`encode` found its answer kept (for the benchmark and the tests)
stats = {"hits": 0, "misses": 0}


def fingerprint(tokenizer) -> str:
    """What decides a tokenizer's output: its serialised form (fast tokenizers; without the
    truncation and padding the last call left on it), its class, name, size and truncation side;
    computed once per tokenizer object."""
    try:
        return _fingerprints[tokenizer]
    except (KeyError, TypeError):
        pass
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = ""
    if backend is not None:  # its truncation and padding are the last call's, set anew by every call
        form = {k: v for k, v in json.loads(backend.to_str()).items() if k not in ("truncation", "padding")}
        text = json.dumps(form, sort_keys=True)
    text += f"|{type(tokenizer).__name__}|{getattr(tokenizer, 'name_or_path', '')}|{len(tokenizer)}"
    text += f"|{getattr(tokenizer, 'truncation_side', '')}"
    value = hashlib.sha256(text.encode()).hexdigest()
    with contextlib.suppress(TypeError):  # an object that cannot be referenced weakly: computed each time
        _fingerprints[tokenizer] = value
    return value


def encode(tokenizer, texts: Sequence[str], max_length: int) -> dict[str, list]:
    """``tokenizer(texts, truncation=True, max_length=max_length)`` as plain lists, kept for
    the next call with the same tokenizer, texts and max_length (callers must not change it)."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
    key = (fingerprint(tokenizer), int(max_length), len(texts), digest)
    if key in _encodings:
        _encodings.move_to_end(key)
        stats["hits"] += 1
        return _encodings[key]
    stats["misses"] += 1
    enc = tokenizer(list(texts), truncation=True, max_length=max_length)
    value = {name: list(enc[name]) for name in ("input_ids", "attention_mask") if name in enc}
    _encodings[key] = value
    while len(_encodings) > KEPT_ENCODINGS:
        _encodings.popitem(last=False)
    return value


def tokenizer_for(source: str):
    """The tokenizer of base model ``source`` (a folder or a Hub id), loaded once per process."""
    from transformers import AutoTokenizer

    if source in _tokenizers:
        _tokenizers.move_to_end(source)
        return _tokenizers[source]
    tokenizer = AutoTokenizer.from_pretrained(source, **NO_REMOTE_CODE)
    _tokenizers[source] = tokenizer
    while len(_tokenizers) > KEPT_TOKENIZERS:
        _tokenizers.popitem(last=False)
    return tokenizer


def forget() -> None:
    """Drop everything kept (tests; a long-lived process that is done with a dataset)."""
    _encodings.clear()
    _tokenizers.clear()
    stats.update(hits=0, misses=0)
