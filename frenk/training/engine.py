"""The fine-tuning engine (Hugging Face Trainer) for transformer classifiers.

What it guarantees (each one a failure that users of plain Trainer scripts met):

* memory: comments are truncated to ``max_length`` (default 128, not the tokenizer's 512)
  and padded per batch; mixed precision per ``precision``; the per-device batch is planned
  by :mod:`.memory`;
* disk: no checkpoints (``save_strategy="no"``), the model is saved once as safetensors into
  a work folder that the caller removes;
* correctness: the model is built with the Auto class and explicit labels, seeded before the
  head is created, and the saved model is reloaded strictly and must predict exactly what the
  in-process model predicted;
* two sources of randomness (:mod:`.seeds`): the init seed sets the head's initialisation and
  dropout, the data seed alone the order of the training batches.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.interrupts import raise_if_stop_requested
from ..core.log import verbose
from ..core.names import Metric
from ..data import PreparedData, scheme
from .encodings import encode, tokenizer_for
from .evaluation import core_metrics, evaluate
from .listeners import EpochListener
from .loading import NO_REMOTE_CODE, load_classifier, load_with_report
from .memory import accelerator, gpu_probe, plan_batches, resolve_precision
from .presets import TRANSFORMER
from .result import RELOAD_TOLERANCE, TrainResult, write_model_meta
from .settings import TrainSettings


class EncodedDataset:
    """A torch-style dataset of tokenised, truncated, unpadded examples."""

    def __init__(self, tokenizer, frame: pd.DataFrame, max_length: int):
        enc = encode(tokenizer, frame["text"].tolist(), max_length)  # once per process (a search's trials)
        self.items = [
            {"input_ids": ids, "attention_mask": mask, "labels": int(label)}
            for ids, mask, label in zip(enc["input_ids"], enc["attention_mask"], frame["label"], strict=True)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def predict_proba(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Class probabilities for ``texts``, in their order (deterministic: the batches are the
    texts sorted by token length, so each is padded little; eval mode)."""
    import torch

    if not len(texts):
        return np.zeros((0, model.config.num_labels), dtype=np.float32)
    device = next(model.parameters()).device
    model.eval()
    encoded = encode(tokenizer, list(texts), max_length)
    order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad({key: [encoded[key][i] for i in rows] for key in encoded},
                                  return_tensors="pt").to(device)
            logits = model(**batch).logits.float()
            out[rows] = torch.softmax(logits, dim=-1).cpu().numpy()
    return out


def device_name() -> str:
    return accelerator().kind


#: the training loss is logged this many times an epoch (at least once a step)
LOSS_LOGS_PER_EPOCH = 4


def _epoch_relay(history: list[dict[str, float]], listeners: Sequence[EpochListener],
                 curve: list[tuple[int, float]] | None = None):
    """A Trainer callback that turns each evaluation into an epoch row for ``listeners`` (its
    ``train_loss`` the mean of the epoch's logged losses, weighted by their steps) and keeps every
    logged training loss in ``curve``."""
    from transformers import TrainerCallback

    done = [0]  # the step of the last evaluation

    class EpochRelay(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise_if_stop_requested()  # a SIGTERM whose exception a finaliser swallowed

        def on_log(self, args, state, control, logs=None, **kwargs):
            if curve is not None and logs and "loss" in logs:
                curve.append((int(state.global_step), float(logs["loss"])))

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            epoch = int(round(state.epoch or 0))
            row = {Metric.VAL_LOSS: float(metrics["eval_loss"]), Metric.VAL_ACCURACY: float(metrics["eval_accuracy"]),
                   Metric.VAL_MACRO_F1: float(metrics["eval_macro_f1"])}
            logged = [(h["step"], h["loss"]) for h in state.log_history if "loss" in h and "step" in h]
            this_epoch = [(step, loss) for step, loss in logged if step > done[0]]
            if this_epoch:
                steps = np.diff([done[0], *(step for step, _ in this_epoch)])
                row[Metric.TRAIN_LOSS] = float(np.average([loss for _, loss in this_epoch], weights=steps))
            elif logged:
                row[Metric.TRAIN_LOSS] = float(logged[-1][1])
            done[0] = int(state.global_step)
            history.append({"epoch": epoch, **row})
            for listener in listeners:
                listener(epoch, row)

    return EpochRelay()


def training_arguments(settings: TrainSettings, work_dir: Path, per_device: int, accumulation: int,
                        precision: str, device: str, steps_per_epoch: int = 0):
    """The Trainer's arguments; with ``steps_per_epoch`` the training loss is logged
    :data:`LOSS_LOGS_PER_EPOCH` times an epoch, else once an epoch."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(work_dir / "trainer"), num_train_epochs=settings.epochs, learning_rate=settings.learning_rate,
        per_device_train_batch_size=per_device, gradient_accumulation_steps=accumulation,
        warmup_steps=float(settings.warmup_ratio), weight_decay=settings.weight_decay,  # a float below 1: a ratio
        per_device_eval_batch_size=settings.eval_batch_size, eval_strategy="epoch",
        logging_strategy="steps" if steps_per_epoch else "epoch",
        logging_steps=max(1, steps_per_epoch // LOSS_LOGS_PER_EPOCH),
        save_strategy="no",  # no checkpoints, no optimizer state on disk
        report_to="none", seed=settings.sources.init, data_seed=settings.sources.data, bf16=precision == "bf16",
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
        fp16=precision == "fp16", use_cpu=device == "cpu", disable_tqdm=not verbose(), dataloader_num_workers=0,
    )


def seeded_trainer_class():
    """The Trainer whose batches of similar length come in an order of the data seed alone:
    Trainer's own ``LengthGroupedSampler`` draws it from the global generator, which the init seed
    sets (``TrainingArguments.data_seed`` only reaches its uniformly random sampler)."""
    import torch
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class SeededTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            sampler = super()._get_train_sampler(train_dataset)
            if isinstance(sampler, LengthGroupedSampler):  # its own generator: a new order each epoch, of the data seed
                sampler.generator = torch.Generator().manual_seed(int(self.args.data_seed or 0))
            return sampler

    return SeededTrainer


def build_trainer(model, tokenizer, data: PreparedData, settings: TrainSettings, args, history=None, listeners=(),
                  curve=None):
    """The Trainer of ``model`` on ``data``'s training split (validated each epoch), not yet trained."""
    from transformers import DataCollatorWithPadding

    num_labels = model.config.num_labels

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, label_ids = eval_pred
        return core_metrics(np.asarray(label_ids), np.asarray(logits).argmax(axis=1), num_labels)

    # on a GPU, lengths padded to multiples of 16: a few shapes, multiples of 8 for the tensor cores
    # (only where max_length is one too, so that padding never goes past it and the model's positions)
    multiple = 16 if not args.use_cpu and settings.max_length % 16 == 0 else None
    collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=multiple)
    return seeded_trainer_class()(
        model=model, args=args, data_collator=collator, processing_class=tokenizer,
        train_dataset=EncodedDataset(tokenizer, data.splits["train"], settings.max_length),
        eval_dataset=EncodedDataset(tokenizer, data.splits["validation"], settings.max_length),
        compute_metrics=compute_metrics, callbacks=[_epoch_relay([] if history is None else history, listeners, curve)],
    )


def _fit_trainer(model, tokenizer, data: PreparedData, settings: TrainSettings, args, history, listeners, curve):
    """Run the Trainer; return the trained model, unwrapped to full precision."""
    from transformers import PrinterCallback

    trainer = build_trainer(model, tokenizer, data, settings, args, history, listeners, curve)
    # Sequence classifiers compute a mean loss and ignore Trainer's num_items_in_batch, but
    # their forward takes **kwargs, so Trainer assumes the loss is already normalised for
    # gradient accumulation and does not divide it: gradients (and the clipping applied to
    # them) would grow with the accumulation steps. Dividing makes the step the same as one
    # full batch, whatever the per-device batch.
    trainer.model_accepts_loss_kwargs = False
    trainer.remove_callback(PrinterCallback)  # the epoch rows reach the listeners (and MLflow) instead
    trainer.train()
    # accelerate wraps forward() in an autocast hook under fp16/bf16; unwrap it, so that the
    # in-process predictions are those of the model as saved and reloaded (full precision)
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)


def train_transformer(
    source: str,
    data: PreparedData,
    settings: TrainSettings,
    work_dir: Path,
    listeners: Sequence[EpochListener] = (),
    final: bool = True,
) -> TrainResult:
    """Fine-tune ``source`` (a Hugging Face folder or id) on ``data``.

    ``final``: save the model once into ``work_dir/model``, evaluate it on test, reload it and
    check the predictions. Not final (a tuning trial): validation only; the test split is
    never read and nothing is saved.
    """
    acc = accelerator()
    device = acc.kind
    precision = resolve_precision(settings.precision, acc)
    started = time.perf_counter()
    tokenizer = tokenizer_for(source)  # once per process
    model, load_report, per_device, accumulation = load_and_plan(source, data, settings, precision, max(acc.count, 1))
    history: list[dict[str, float]] = []
    curve: list[tuple[int, float]] = []
    steps_per_epoch = -(-len(data.splits["train"]) // (per_device * accumulation * max(acc.count, 1)))
    args = training_arguments(settings, work_dir, per_device, accumulation, precision, device, steps_per_epoch)
    model = _fit_trainer(model, tokenizer, data, settings, args, history, listeners, curve)
    result = TrainResult(
        model_dir=None, evaluation=None, validation={}, history=history, per_device_batch=per_device, loss_curve=curve,
        accumulation_steps=accumulation, precision=precision, device=device,
        train_seconds=time.perf_counter() - started, load_report=asdict(load_report),
    )
    conclude(model, tokenizer, data, settings, work_dir, result, final)
    del model  # freed before the saved copy is loaded
    return check_saved(result, data, settings)


def load_and_plan(source: str, data: PreparedData, settings: TrainSettings, precision: str, devices: int):
    """The base model to train (the Auto class with the data's labels, seeded before the head is
    created; on the GPU, peak memory counted from here) and the batch plan: the per-device batch
    that the memory probe finds fits (a worst-case step of ``max_length`` tokens in ``precision``)
    and the accumulation steps. Returns ``(model, load_report, per_device, accumulation)``."""
    import torch
    from transformers import set_seed

    labels = scheme(data.manifest["parameters"]["labels"])
    set_seed(settings.sources.init)  # before the classification head is created
    model, load_report = load_with_report(source, id2label=labels.id2label, fine_tuned=False)
    probe = None
    if accelerator().kind == "cuda":
        torch.cuda.reset_peak_memory_stats()
        model.to("cuda")
        # free with the model on it
        probe = gpu_probe(model, settings.max_length, precision, accelerator().free_bytes or 0)
    per_device, accumulation = plan_batches(settings.batch_size, probe, settings.device_batch_size, devices)
    return model, load_report, per_device, accumulation


def conclude(model, tokenizer, data: PreparedData, settings: TrainSettings, work_dir: Path, result: TrainResult,
             final: bool) -> None:
    """What every engine does after training, then :func:`check_saved` once the caller has let go
    of ``model``: save the model once (``final``), evaluate it on validation (and on test when
    ``final``). Fills in ``result``."""
    import torch

    labels = scheme(data.manifest["parameters"]["labels"])
    if final:
        result.model_dir = _save(model, tokenizer, work_dir, settings, labels.id2label)
    val = data.splits["validation"]
    val_probs = predict_proba(model, tokenizer, val["text"].tolist(), settings.max_length)
    validation = core_metrics(val["label"].to_numpy(), val_probs.argmax(1), labels.num_labels)
    result.validation = {f"val_{k}": v for k, v in validation.items()}
    if final:
        _evaluate_test(result, model, tokenizer, data, settings, list(labels.classes))
    result.peak_gpu_memory_mb = torch.cuda.max_memory_allocated() / 2**20 if result.device == "cuda" else None


def check_saved(result: TrainResult, data: PreparedData, settings: TrainSettings) -> TrainResult:
    """Reload the saved model (if one was saved) and check that it predicts what the in-process
    model predicted; the in-process model must be released by then (it is freed here)."""
    _free_memory()
    if result.model_dir is not None:
        if result.test_probabilities is None:
            raise ValueError("a saved model without its test predictions: nothing to compare the reloaded one with")
        test_texts = data.splits["test"]["text"].tolist()
        result.reload_identical, result.reload_max_prob_diff = check_reload(
            result.model_dir, test_texts, result.test_probabilities, settings.max_length, settings.eval_batch_size)
    return result


def _save(model, tokenizer, work_dir: Path, settings: TrainSettings, id2label: dict[int, str]) -> Path:
    model_dir = work_dir / "model"
    model.save_pretrained(model_dir)  # safetensors, once
    tokenizer.model_max_length = settings.max_length  # truncation=True cuts where training did
    tokenizer.save_pretrained(model_dir)
    write_model_meta(model_dir, TRANSFORMER, settings.max_length, id2label)
    return model_dir


def _evaluate_test(result: TrainResult, model, tokenizer, data: PreparedData, settings: TrainSettings,
                   classes: list[str]) -> None:
    test = data.splits["test"]
    result.test_probabilities = predict_proba(model, tokenizer, test["text"].tolist(), settings.max_length,
                                              settings.eval_batch_size)
    result.evaluation = evaluate(test, result.test_probabilities, classes)


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_saved(model_dir: str | Path):
    """Load a saved fine-tuned model and tokenizer strictly (any weight mismatch is an error)."""
    from transformers import AutoTokenizer

    model = load_classifier(str(model_dir), fine_tuned=True)
    return model.to(device_name()), AutoTokenizer.from_pretrained(str(model_dir), **NO_REMOTE_CODE)


def check_reload(model_dir: Path, texts: list[str], probs: np.ndarray, max_length: int,
                 batch_size: int) -> tuple[bool, float]:
    """Reload the saved model and compare its predictions with the in-process ones."""
    model, tokenizer = load_saved(model_dir)
    again = predict_proba(model, tokenizer, texts, max_length, batch_size)
    del model
    _free_memory()
    diff = float(np.abs(again - probs).max()) if len(probs) else 0.0
    return bool((again.argmax(1) == probs.argmax(1)).all() and diff <= RELOAD_TOLERANCE), diff
