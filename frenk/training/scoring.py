"""Scoring a registered model's weights folder on other data (the evaluate step): loaded through
frenk's strict loader (any weight that does not match is an error; no remote code; nothing
unpickled), then the same metrics and predictions as a train run's test (:func:`.evaluation.evaluate`),
or, for comments without gold labels, predictions only (batch inference)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import ModelError
from ..core.names import META_FILE
from ..data.evaluation_data import EvalData
from ..data.labels import BINARY_CLASSES, FRENK_CLASSES
from .evaluation import Evaluation, evaluate
from .kinds import HF_FOLDER, kind_of_saved


@dataclass
class Scorer:
    """A loaded model: its class names (id order), its label scheme, and its probabilities of texts."""

    folder: Path
    class_names: list[str]
    scheme: str
    max_length: int
    model: object
    tokenizer: object

    def probabilities(self, texts: list[str]) -> np.ndarray:
        from .engine import predict_proba

        return predict_proba(self.model, self.tokenizer, texts, self.max_length)


def scheme_of(class_names: list[str]) -> str:
    """The label scheme whose classes are ``class_names`` (in order)."""
    for name, classes in (("binary", BINARY_CLASSES), ("multiclass", FRENK_CLASSES)):
        if tuple(class_names) == classes:
            return name
    raise ModelError(f"the model's labels {class_names} are neither FRENK's binary nor its six classes")


def load_scorer(folder: Path, what: str) -> Scorer:
    """The weights folder of a registered version (``what`` names it), loaded strictly. The TF-IDF
    baseline (a joblib pickle) is refused: nothing from the store is unpickled here."""
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    if kind_of_saved(folder, meta).saved_as != HF_FOLDER:
        raise ModelError(f"{what} is the TF-IDF baseline, a scikit-learn pipeline stored as a pickle: evaluate loads "
                         "only Hugging Face weight folders (strictly, never unpickling from the store); evaluate a "
                         "transformer's version")
    from .engine import load_saved

    model, tokenizer = load_saved(folder)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    names = [id2label[i] for i in range(len(id2label))]
    return Scorer(folder, names, scheme_of(names), int(meta.get("max_length") or 128), model, tokenizer)


def predictions_only(frame: pd.DataFrame, probs: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """One row per comment: its id, text and topic, the predicted class and each class's probability."""
    preds = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
    out = pd.DataFrame({"id": frame["id"].to_numpy(), "text": frame["text"].to_numpy(),
                        "topic": frame["topic"].to_numpy(), "pred": preds,
                        "pred_name": [class_names[i] for i in preds]})
    for i, cls in enumerate(class_names):
        out[f"prob.{cls.replace(' ', '_')}"] = probs[:, i]
    return out


def score(data: EvalData, scorer: Scorer) -> tuple[Evaluation | None, pd.DataFrame]:
    """The evaluation of labelled data (metrics as a train run's test, ``test_`` names) and its
    predictions; for data without labels (None, the predictions with the texts)."""
    probs = scorer.probabilities(data.frame["text"].tolist())
    if not data.labelled:
        return None, predictions_only(data.frame, probs, scorer.class_names)
    evaluation = evaluate(data.frame, probs, scorer.class_names)
    return evaluation, evaluation.predictions
