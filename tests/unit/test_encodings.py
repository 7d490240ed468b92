"""Tokenise once per process (frenk.training.encodings): the same answer as the tokenizer, kept
for the same tokenizer, texts and max_length, never for another."""

from __future__ import annotations

import pytest

from frenk.training import encodings

pytestmark = pytest.mark.slow  # the tiny models are built first


@pytest.fixture
def tokenizer(tiny_models):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_models["electra"]))


def test_an_encoding_is_the_tokenizers_and_is_kept_for_the_same_inputs_only(tokenizer, tiny_models):
    from transformers import AutoTokenizer

    encodings.forget()
    texts = ["prvi komentar o nečemu", "drugi", "treći komentar koji je dosta duži od ostalih " * 20]
    want = tokenizer(texts, truncation=True, max_length=16)
    got = encodings.encode(tokenizer, texts, 16)
    assert got["input_ids"] == want["input_ids"] and got["attention_mask"] == want["attention_mask"]
    assert encodings.encode(tokenizer, texts, 16) is got and encodings.stats == {"hits": 1, "misses": 1}
    # another tokenizer object of the same folder: the same fingerprint, so the same encoding
    again = AutoTokenizer.from_pretrained(str(tiny_models["electra"]))
    assert encodings.encode(again, texts, 16) is got
    # another max_length, other texts, another vocabulary: computed anew
    assert encodings.encode(tokenizer, texts, 8) is not got
    assert encodings.encode(tokenizer, [*texts[:2], "drugačiji"], 16) is not got
    other = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    assert encodings.fingerprint(other) != encodings.fingerprint(tokenizer)
    assert encodings.encode(other, texts, 16) is not got
    assert encodings.stats["misses"] >= 3


def test_only_a_few_encodings_are_kept(tokenizer):
    encodings.forget()
    first = encodings.encode(tokenizer, ["a"], 8)
    for i in range(encodings.KEPT_ENCODINGS):
        encodings.encode(tokenizer, [f"text {i}"], 8)
    assert encodings.encode(tokenizer, ["a"], 8) is not first  # the oldest was dropped
    encodings.forget()
