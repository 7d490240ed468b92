"""Checking an exported Hugging Face model folder before it is published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import FrenkError, ModelError
from ..core.names import META_FILE
from ..training import NO_REMOTE_CODE, kind_of_system, load_classifier

if TYPE_CHECKING:
    from ..comparison import ComparisonReport


def check_export(folder: Path) -> dict[int, str]:
    """Load ``folder`` strictly with ``AutoModelForSequenceClassification`` (any weight mismatch
    is an error) and run it through ``transformers.pipeline``, a text far longer than the model
    reads included; return its labels.

    The tokenizer is saved with the trained ``max_length`` as its ``model_max_length`` first (models
    registered before frenk did this at training carry the base model's 512), so that
    ``pipeline(..., truncation=True)`` cuts texts where training did."""
    from transformers import AutoTokenizer, pipeline

    model = load_classifier(str(folder), fine_tuned=True)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **NO_REMOTE_CODE)
    meta = folder / META_FILE
    max_length = json.loads(meta.read_text()).get("max_length") if meta.is_file() else None
    if max_length and tokenizer.model_max_length != max_length:
        tokenizer.model_max_length = int(max_length)
        tokenizer.save_pretrained(str(folder))
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, truncation=True, **NO_REMOTE_CODE)
    labels = set(model.config.id2label.values())
    positions = getattr(model.config, "max_position_embeddings", 512) or 512
    answers = classify(["check", " ".join(["word"] * 4 * positions)])
    if any(answer["label"] not in labels for answer in answers):
        raise ModelError(f"the exported model predicts labels outside {sorted(labels)}")
    return {int(k): v for k, v in model.config.id2label.items()}


def exportable(system: str, kind: str | None = None) -> bool:
    """Whether a system (a preset name or a model id) is a transformer that exports as a
    Hugging Face folder; the TF-IDF baseline is not."""
    return kind_of_system(system, kind).exportable


def registry_alias(system: str, kind: str | None = None) -> str:
    """The alias a new registered version gets: ``candidate`` for a transformer (what publish
    takes by default), ``baseline`` for the TF-IDF baseline (never publishable)."""
    return kind_of_system(system, kind).registry_alias


def check_exportable(name: str, version: str, system: str) -> None:
    """Only transformer models become Hugging Face model folders."""
    if not exportable(system):
        raise FrenkError(
            f"{name} version {version} is the TF-IDF baseline: only transformer models can be exported as a "
            "Hugging Face model folder; publish a transformer's version with -P version=<n>"
        )


def system_to_publish(report: ComparisonReport) -> str:
    """The system a chained run publishes, chosen off the test set: the exportable system with
    the highest mean validation score over its seeds (the report's ``validation_choice``
    ranking, on the deciding metric). The test-set verdicts for it are in the report."""
    choice = report.validation_choice
    ranking = choice.ranking if choice else ()
    candidates = [s for s in ranking if exportable(s)]
    if candidates:
        return candidates[0]
    if not any(exportable(s) for s in report.systems):
        raise FrenkError("no transformer among the compared models: nothing to publish as a Hugging Face model")
    metric = choice.metric if choice else f"final_val_{report.primary_metric}"
    raise FrenkError(
        f"the compared transformer runs have no validation metric {metric}, so the system cannot be chosen off the "
        "test set; retrain them with this version of frenk (train logs final_val_<metric>) and compare again"
    )


def selection_text(report: ComparisonReport, system: str) -> str:
    """How ``system`` came to be the one published, in one sentence (for the card)."""
    choice = report.validation_choice
    means = choice.means if choice else {}
    ranking = choice.ranking if choice else ()
    candidates = [s for s in ranking if exportable(s)]
    metric = choice.metric if choice else "the validation metric"
    if candidates and candidates[0] == system:
        # each other system named with its kind: the TF-IDF baseline is ranked too, but is no candidate
        others = ", ".join(f"{s} ({kind_of_system(s).title}) {means[s]:.4f}" for s in ranking if s != system)
        return (f"{system} has the highest mean {metric} over its seeds among the compared models that export as "
                f"a Hugging Face model ({means[system]:.4f}{'; the others: ' + others if others else ''}); test "
                "scores played no part in the choice, and the test-set verdicts below are those of this choice")
    leader = candidates[0] if candidates else None
    return (f"{system} was published by explicit choice (publish -P version=...), not by the validation rule"
            + (f": by mean {metric} the leading exportable model was {leader} ({kind_of_system(leader).title})"
               if leader else "")
            + "; the test-set verdicts below decided the promotion gate")
