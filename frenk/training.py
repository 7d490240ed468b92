"""Fine-tuning engine (Hugging Face Trainer) and the TF-IDF baseline.

No MLflow here: progress reaches the tracking layer through plain callables
(``on_epoch(epoch, metrics)``), the way Optuna's examples keep the objective free of tracking.

What this module guarantees (each one a failure that users of plain Trainer scripts met):

* memory: comments are truncated to ``max_length`` (default 128, not the tokenizer's 512)
  and padded per batch; mixed precision per ``precision``; when the effective batch does not
  fit, the largest per-device batch that does is used with gradient accumulation, so the
  optimisation is the same on every GPU;
* disk: no checkpoints (``save_strategy="no"``), the model is saved once as safetensors into
  a work folder that the caller removes;
* correctness: the model is built with the Auto class and explicit labels, seeded before the
  head is created, and the saved model is reloaded strictly and must predict exactly what the
  in-process model predicted.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import PreparedData
from .errors import ConfigError
from .evaluation import Evaluation, core_metrics, evaluate
from .labels import scheme

EpochListener = Callable[[int, dict[str, float]], None]

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
#: probabilities of the reloaded model may differ from the in-process ones by at most this
RELOAD_TOLERANCE = 1e-5


@dataclass
class TrainSettings:
    epochs: float
    learning_rate: float
    batch_size: int  # effective batch size
    max_length: int = 128
    seed: int = 42
    precision: str = "auto"
    device_batch_size: int = 0  # 0: fit automatically; else an upper bound per device
    eval_batch_size: int = 64


@dataclass
class TrainResult:
    model_dir: Path
    evaluation: Evaluation
    validation: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    per_device_batch: int = 0
    accumulation_steps: int = 1
    precision: str = "fp32"
    device: str = "cpu"
    peak_gpu_memory_mb: float | None = None
    reload_identical: bool = False
    reload_max_prob_diff: float = 0.0
    train_seconds: float = 0.0


def write_model_meta(model_dir: Path, kind: str, max_length: int, id2label: dict[int, str]) -> None:
    """``frenk.json`` beside the weights: what a reloading wrapper needs besides them."""
    import json

    meta = {"kind": kind, "max_length": max_length, "id2label": {str(k): v for k, v in id2label.items()}}
    (model_dir / "frenk.json").write_text(json.dumps(meta, indent=2) + "\n")


# ---------------------------------------------------------------- memory planning


def resolve_precision(precision: str, device: str) -> str:
    """``auto``: bf16 where the GPU has it, else fp16 on a GPU, fp32 on a CPU."""
    import torch

    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and device != "cuda":
        raise ConfigError("precision=fp16 needs a CUDA GPU; use fp32 or bf16 on a CPU")
    return precision


def plan_batches(effective: int, fits: Callable[[int], bool] | None = None, limit: int = 0) -> tuple[int, int]:
    """Return ``(per_device_batch, accumulation_steps)`` with ``per_device * steps == effective``.

    The per-device batch is the largest divisor of ``effective`` that is at most ``limit``
    (when given) and for which ``fits`` (a memory probe) says yes.
    """
    if effective < 1:
        raise ConfigError(f"batch_size={effective}: must be at least 1")
    for size in sorted((d for d in range(1, effective + 1) if effective % d == 0), reverse=True):
        if limit and size > limit:
            continue
        if fits is None or fits(size):
            return size, effective // size
    raise ConfigError(
        "not even a batch of 1 example of max_length tokens fits in GPU memory; lower max_length or use a smaller model"
    )


def _gpu_probe(model, max_length: int, precision: str) -> Callable[[int], bool]:
    """A probe that runs forward and backward on a worst-case batch (every example
    ``max_length`` tokens) and leaves room for AdamW's two fp32 states per parameter."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    total = torch.cuda.get_device_properties(0).total_memory
    optimizer_bytes = 2 * 4 * sum(p.numel() for p in model.parameters())
    vocab = model.config.vocab_size

    def fits(size: int) -> bool:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        ok = True
        try:
            ids = torch.randint(5, vocab, (size, max_length), device="cuda")
            with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
                out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.zeros(size, dtype=torch.long, device="cuda"))
            out.loss.backward()
            ok = torch.cuda.max_memory_allocated() + optimizer_bytes < 0.9 * total
        except torch.cuda.OutOfMemoryError:
            ok = False
        finally:
            model.zero_grad(set_to_none=True)
            out = ids = None
            gc.collect()
            torch.cuda.empty_cache()
        return ok

    return fits


# ---------------------------------------------------------------- transformers


class _Encoded:
    """A torch-style dataset of tokenised, truncated, unpadded examples."""

    def __init__(self, tokenizer, frame: pd.DataFrame, max_length: int):
        enc = tokenizer(frame["text"].tolist(), truncation=True, max_length=max_length)
        self.items = [
            {"input_ids": ids, "attention_mask": mask, "labels": int(label)}
            for ids, mask, label in zip(enc["input_ids"], enc["attention_mask"], frame["label"])
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def predict_proba(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Class probabilities for ``texts`` (deterministic: fixed order and batching, eval mode)."""
    import torch

    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            ).to(device)
            logits = model(**batch).logits.float()
            out.append(torch.softmax(logits, dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_labels))


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def train_transformer(
    source: str,
    data: PreparedData,
    settings: TrainSettings,
    work_dir: Path,
    listeners: Sequence[EpochListener] = (),
) -> TrainResult:
    """Fine-tune ``source`` (a Hugging Face folder or id) on ``data``; save the model once
    into ``work_dir/model``; evaluate on test; reload and check the predictions."""
    import torch
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments, set_seed

    from .models import load_classifier

    labels = scheme(data.manifest["parameters"]["labels"])
    device = _device()
    precision = resolve_precision(settings.precision, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()

    tokenizer = AutoTokenizer.from_pretrained(source)
    set_seed(settings.seed)  # before the classification head is created
    model = load_classifier(source, id2label=labels.id2label, fine_tuned=False)

    probe = _gpu_probe(model.to("cuda"), settings.max_length, precision) if device == "cuda" else None
    per_device, accumulation = plan_batches(settings.batch_size, probe, settings.device_batch_size)

    train_set = _Encoded(tokenizer, data.splits["train"], settings.max_length)
    val_set = _Encoded(tokenizer, data.splits["validation"], settings.max_length)
    history: list[dict[str, float]] = []

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, label_ids = eval_pred
        return core_metrics(np.asarray(label_ids), np.asarray(logits).argmax(axis=1), labels.num_labels)

    class _Relay(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            epoch = int(round(state.epoch or 0))
            losses = [h["loss"] for h in state.log_history if "loss" in h]
            row = {
                "val_loss": float(metrics["eval_loss"]),
                "val_accuracy": float(metrics["eval_accuracy"]),
                "val_macro_f1": float(metrics["eval_macro_f1"]),
            }
            if losses:
                row["train_loss"] = float(losses[-1])
            history.append({"epoch": epoch, **row})
            for listener in listeners:
                listener(epoch, row)

    args = TrainingArguments(
        output_dir=str(work_dir / "trainer"),
        num_train_epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        per_device_eval_batch_size=settings.eval_batch_size,
        eval_strategy="epoch",
        logging_strategy="epoch",
        save_strategy="no",  # no checkpoints, no optimizer state on disk
        report_to="none",
        seed=settings.seed,
        data_seed=settings.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device == "cpu",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=[_Relay()],
    )
    # Sequence classifiers compute a mean loss and ignore Trainer's num_items_in_batch, but
    # their forward takes **kwargs, so Trainer assumes the loss is already normalised for
    # gradient accumulation and does not divide it: gradients (and the clipping applied to
    # them) would grow with the accumulation steps. Dividing makes the step the same as one
    # full batch, whatever the per-device batch.
    trainer.model_accepts_loss_kwargs = False
    trainer.train()
    train_seconds = time.perf_counter() - started
    # accelerate wraps forward() in an autocast hook under fp16/bf16; unwrap it, so that the
    # in-process predictions are those of the model as saved and reloaded (full precision)
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)

    model_dir = work_dir / "model"
    model.save_pretrained(model_dir)  # safetensors, once
    tokenizer.save_pretrained(model_dir)
    write_model_meta(model_dir, "transformer", settings.max_length, labels.id2label)

    test = data.splits["test"]
    texts = test["text"].tolist()
    probs = predict_proba(model, tokenizer, texts, settings.max_length, settings.eval_batch_size)
    val_probs = predict_proba(model, tokenizer, data.splits["validation"]["text"].tolist(), settings.max_length)
    validation = core_metrics(data.splits["validation"]["label"].to_numpy(), val_probs.argmax(1), labels.num_labels)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None

    del trainer, model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()

    identical, diff = check_reload(model_dir, texts, probs, settings.max_length, settings.eval_batch_size)
    return TrainResult(
        model_dir=model_dir,
        evaluation=evaluate(test, probs, list(labels.classes)),
        validation={f"val_{k}": v for k, v in validation.items()},
        history=history,
        per_device_batch=per_device,
        accumulation_steps=accumulation,
        precision=precision,
        device=device,
        peak_gpu_memory_mb=peak,
        reload_identical=identical,
        reload_max_prob_diff=diff,
        train_seconds=train_seconds,
    )


def load_saved(model_dir: str | Path):
    """Load a saved fine-tuned model and tokenizer strictly (any weight mismatch is an error)."""
    from transformers import AutoTokenizer

    from .models import load_classifier

    model = load_classifier(str(model_dir), fine_tuned=True)
    return model.to(_device()), AutoTokenizer.from_pretrained(str(model_dir))


def check_reload(model_dir: Path, texts: list[str], probs: np.ndarray, max_length: int, batch_size: int) -> tuple[bool, float]:
    """Reload the saved model and compare its predictions with the in-process ones."""
    import torch

    model, tokenizer = load_saved(model_dir)
    again = predict_proba(model, tokenizer, texts, max_length, batch_size)
    del model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    diff = float(np.abs(again - probs).max()) if len(probs) else 0.0
    return bool((again.argmax(1) == probs.argmax(1)).all() and diff <= RELOAD_TOLERANCE), diff


# ---------------------------------------------------------------- TF-IDF baseline

TFIDF_FILE = "model.joblib"


def train_tfidf(data: PreparedData, settings: TrainSettings, work_dir: Path, listeners: Sequence[EpochListener] = ()) -> TrainResult:
    """TF-IDF (word 1-2 grams) + logistic regression: the floor every transformer must beat."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    labels = scheme(data.manifest["parameters"]["labels"])
    started = time.perf_counter()
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, class_weight="balanced", random_state=settings.seed),
    )
    train = data.splits["train"]
    pipeline.fit(train["text"].tolist(), train["label"].to_numpy())
    model_dir = work_dir / "model"
    model_dir.mkdir(parents=True)
    joblib.dump({"pipeline": pipeline, "id2label": labels.id2label}, model_dir / TFIDF_FILE)
    write_model_meta(model_dir, "tfidf", settings.max_length, labels.id2label)

    def proba(model, texts):
        out = np.zeros((len(texts), labels.num_labels))
        out[:, model.classes_] = model.predict_proba(texts)
        return out

    val = data.splits["validation"]
    validation = core_metrics(val["label"].to_numpy(), proba(pipeline, val["text"].tolist()).argmax(1), labels.num_labels)
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
