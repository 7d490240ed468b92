"""Tiny, offline copies of the checkpoint shapes the presets' models are published in on the
Hub: the pre-training class each one was saved from, and its tokenizer's kind and special
tokens. Random weights, a tokenizer trained on the given texts; seconds on a CPU."""

from __future__ import annotations

from pathlib import Path

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)

#: shape -> (config class, model class, tokenizer kind), as published on the Hub
SHAPES = {
    "ElectraForPreTraining": ("ElectraConfig", "ElectraForPreTraining", "wordpiece-electra"),
    "BertForMaskedLM": ("BertConfig", "BertForMaskedLM", "wordpiece-bert"),  # saved without a pooler
    "BertForPreTraining": ("BertConfig", "BertForPreTraining", "wordpiece-bert"),  # with a pooler
    "BertModel": ("BertConfig", "BertModel", "wordpiece-bert"),
    "CamembertForMaskedLM": ("CamembertConfig", "CamembertForMaskedLM", "unigram-camembert"),
    "RobertaForMaskedLM": ("RobertaConfig", "RobertaForMaskedLM", "bpe-roberta"),
    "XLMRobertaForMaskedLM": ("XLMRobertaConfig", "XLMRobertaForMaskedLM", "unigram-xlmr"),
}

#: each transformer preset -> the shapes its published checkpoint(s) come in
PRESET_SHAPES = {
    "bertic": ["ElectraForPreTraining"],  # classla/bcms-bertic: the ELECTRA discriminator
    "crosloengual": ["BertForMaskedLM", "BertForPreTraining"],
    "mbert": ["BertForMaskedLM", "BertForPreTraining"],
    "minilm": ["BertModel"],
    "sloberta": ["CamembertForMaskedLM"],
    "xlmr": ["XLMRobertaForMaskedLM"],
    "xlmr-large": ["XLMRobertaForMaskedLM"],
    "roberta": ["RobertaForMaskedLM"],
}


def _wordpiece(texts: list[str], kind: str):
    import transformers
    from tokenizers.implementations import BertWordPieceTokenizer

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=600, min_frequency=1, show_progress=False)
    cls = transformers.ElectraTokenizerFast if kind == "wordpiece-electra" else transformers.BertTokenizerFast
    return cls(vocab=wordpiece.get_vocab(), do_lower_case=True, model_max_length=512)


def _roberta_family(texts: list[str], kind: str):
    """<s> </s> <pad> <unk> <mask> (ids 0-3, mask last) and the <s> A </s> template; byte-level
    BPE for RoBERTa, a unigram (SentencePiece-like) model for XLM-R and CamemBERT (which adds
    its <s>NOTUSED tokens)."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    if kind == "bpe-roberta":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=600, special_tokens=specials, unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    cls = {"bpe-roberta": transformers.RobertaTokenizerFast, "unigram-xlmr": transformers.XLMRobertaTokenizerFast,
           "unigram-camembert": transformers.CamembertTokenizerFast}[kind]
    return cls(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
               unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512)


def build_checkpoint(shape: str, texts: list[str], out_dir: Path, seed: int = 0) -> Path:
    """Save a tiny random model of ``shape`` (a key of :data:`SHAPES`) with its tokenizer."""
    import transformers

    config_name, model_name, kind = SHAPES[shape]
    tokenizer = _wordpiece(texts, kind) if kind.startswith("wordpiece") else _roberta_family(texts, kind)
    extra = {}
    if kind.startswith("wordpiece-electra"):
        extra["embedding_size"] = SMALL["hidden_size"]
    if not kind.startswith("wordpiece"):
        extra.update(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                     eos_token_id=tokenizer.eos_token_id)
    config = getattr(transformers, config_name)(vocab_size=len(tokenizer), max_position_embeddings=514, **SMALL, **extra)
    transformers.set_seed(seed)
    model = getattr(transformers, model_name)(config)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return Path(out_dir)
