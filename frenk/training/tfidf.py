"""The TF-IDF baseline (word 1-2 grams + logistic regression) and the majority-class floor."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data import PreparedData, scheme
from .evaluation import core_metrics, evaluate
from .listeners import EpochListener
from .presets import TFIDF
from .result import TrainResult, write_model_meta
from .settings import TrainSettings

TFIDF_FILE = "model.joblib"


def train_tfidf(data: PreparedData, settings: TrainSettings, work_dir: Path,
                listeners: Sequence[EpochListener] = ()) -> TrainResult:
    """TF-IDF (word 1-2 grams) + logistic regression: the floor every transformer must beat."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    labels = scheme(data.manifest["parameters"]["labels"])
    started = time.perf_counter()
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, class_weight="balanced", random_state=settings.sources.init),
    )
    train = data.splits["train"]
    pipeline.fit(train["text"].tolist(), train["label"].to_numpy())
    model_dir = work_dir / "model"
    model_dir.mkdir(parents=True)
    joblib.dump({"pipeline": pipeline, "id2label": labels.id2label}, model_dir / TFIDF_FILE)
    write_model_meta(model_dir, TFIDF, settings.max_length, labels.id2label)

    def proba(model, texts):
        out = np.zeros((len(texts), labels.num_labels))
        out[:, model.classes_] = model.predict_proba(texts)
        return out

    val = data.splits["validation"]
    val_preds = proba(pipeline, val["text"].tolist()).argmax(1)
    validation = core_metrics(val["label"].to_numpy(), val_preds, labels.num_labels)
    history = [{"epoch": 1, **{f"val_{k}": v for k, v in validation.items()}}]
    for listener in listeners:
        listener(1, {f"val_{k}": v for k, v in validation.items()})
    test = data.splits["test"]
    probs = proba(pipeline, test["text"].tolist())
    again = proba(joblib.load(model_dir / TFIDF_FILE)["pipeline"], test["text"].tolist())
    diff = float(np.abs(again - probs).max())
    return TrainResult(
        model_dir=model_dir,
        evaluation=evaluate(test, probs, list(labels.classes)),
        validation={f"val_{k}": v for k, v in validation.items()},
        history=history,
        precision="fp64",
        device="cpu",
        reload_identical=bool(diff == 0.0),
        reload_max_prob_diff=diff,
        train_seconds=time.perf_counter() - started,
    )


def majority_baseline(data: PreparedData) -> dict[str, float]:
    """Accuracy and macro-F1 of always predicting the most frequent training class."""
    labels = scheme(data.manifest["parameters"]["labels"])
    majority = int(data.splits["train"]["label"].mode().iloc[0])
    test = data.splits["test"]["label"].to_numpy()
    return core_metrics(test, np.full_like(test, majority), labels.num_labels)
