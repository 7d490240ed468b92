"""The tiny offline model: a random ELECTRA or BERT with a WordPiece tokenizer trained on the
training texts (smoke runs and tests; no download)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: the position embeddings of the tiny model (and its tokenizer's model_max_length)
TINY_MAX_POSITIONS = 512


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
    from transformers import BertTokenizer, set_seed

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(iter(texts), vocab_size=vocab_size, min_frequency=1, show_progress=False)
    labels: dict[str, Any] = {
        "num_labels": len(id2label),
        "id2label": dict(id2label),
        "label2id": {v: k for k, v in id2label.items()},
    }
    dims: dict[str, Any] = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": TINY_MAX_POSITIONS,
        **sizes,
    }
    # transformers 5 has one WordPiece tokenizer class for both (ElectraTokenizerFast and BertTokenizerFast are
    # names of BertTokenizer)
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=True, model_max_length=TINY_MAX_POSITIONS)
    set_seed(seed)
    model = _random_classifier(architecture, len(tokenizer), dims, labels)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _random_classifier(architecture: str, vocab_size: int, dims: dict[str, Any], labels: dict[str, Any]):
    """A randomly initialised ``electra`` or ``bert`` sequence classifier of the given dimensions."""
    from transformers import BertConfig, BertForSequenceClassification, ElectraConfig, ElectraForSequenceClassification

    if architecture == "electra":
        return ElectraForSequenceClassification(ElectraConfig(vocab_size=vocab_size, embedding_size=dims["hidden_size"],
                                                              **dims, **labels))
    if architecture == "bert":
        return BertForSequenceClassification(BertConfig(vocab_size=vocab_size, **dims, **labels))
    raise ValueError(f"architecture must be electra or bert, not {architecture!r}")
