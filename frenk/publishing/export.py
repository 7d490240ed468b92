"""Checking an exported Hugging Face model folder before it is published."""

from __future__ import annotations

from pathlib import Path

from ..errors import FrenkError, ModelError
from ..training import NO_REMOTE_CODE, PRESETS, load_classifier


def check_export(folder: Path) -> dict[int, str]:
    """Load ``folder`` strictly with ``AutoModelForSequenceClassification`` (any weight mismatch
    is an error) and run it through ``transformers.pipeline``; return its labels."""
    from transformers import AutoTokenizer, pipeline

    model = load_classifier(str(folder), fine_tuned=True)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **NO_REMOTE_CODE)
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, **NO_REMOTE_CODE)
    labels = set(model.config.id2label.values())
    if classify(["check"])[0]["label"] not in labels:
        raise ModelError(f"the exported model predicts labels outside {sorted(labels)}")
    return {int(k): v for k, v in model.config.id2label.items()}


def exportable(system: str) -> bool:
    """Whether a system (a preset name or a model id) is a transformer that exports as a
    Hugging Face folder; the TF-IDF baseline is not."""
    preset = PRESETS.get(system)
    return preset is None or preset.kind != "tfidf"


def check_exportable(name: str, version: str, system: str) -> None:
    """Only transformer models become Hugging Face model folders."""
    if not exportable(system):
        raise FrenkError(
            f"{name} version {version} is the TF-IDF baseline: only transformer models can be exported as a "
            "Hugging Face model folder; publish a transformer's version with -P version=<n>"
        )


def system_to_publish(report: dict) -> str:
    """The system a chained run publishes: the report's best system when it is exportable,
    else the leading exportable one (systems are ordered by mean on the deciding metric)."""
    candidates = [s for s in report["systems"] if exportable(s)]
    if not candidates:
        raise FrenkError("no transformer among the compared models: nothing to publish as a Hugging Face model")
    return report["best_system"] if report["best_system"] in candidates else candidates[0]
