"""The simpletransformers engine: replay a configuration published with simpletransformers'
``ClassificationModel`` (as the published FRENK results were obtained), logged like the
default engine so that compare can put the two side by side.

What it keeps from simpletransformers: its training loop and its defaults for everything
that :class:`~.settings.TrainSettings` does not set (AdamW with epsilon 1e-8, gradient
clipping at 1.0, a linear schedule, fp16 on a GPU, padding every batch to ``max_length``,
evaluation of the validation split after each epoch). What it does not take from it:

* the model type comes from the checkpoint's config (``electra`` for BERTić, never ``bert``),
  and the model and tokenizer are the ones the default engine loads (the Auto classes with
  explicit labels, seeded before the head is created, no remote code, the tokenizer as its
  folder configures it), and the per-device batch is fitted to the GPU by the same memory probe;
* its settings are only those given here: a ``model_args.json`` in the model's folder (which a
  folder saved by simpletransformers has) is not read, and a folder whose name ends in a number
  (``model-3``), which simpletransformers would take for a checkpoint and skip epochs, is refused;
* nothing on disk but a temporary folder under ``work_dir`` for its outputs, feature cache and
  tensorboard files, removed when training ends; no checkpoints, no Weights & Biases;
* the model is saved once, evaluated and reload-checked exactly as by the default engine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from ..core.errors import ConfigError
from ..core.interrupts import raise_if_stop_requested
from ..core.names import Metric
from ..data import PreparedData, scheme
from .engine import check_saved, conclude, load_and_plan
from .evaluation import core_metrics
from .listeners import EpochListener
from .loading import NO_REMOTE_CODE
from .memory import accelerator, resolve_precision
from .result import TrainResult
from .settings import TrainSettings

#: the optional extra that installs it
EXTRA = "frenk[simpletransformers]"


def check_available() -> None:
    """Refuse early, with the command that fixes it, when simpletransformers is not installed."""
    if importlib.util.find_spec("simpletransformers") is None:
        raise ConfigError(f"engine=simpletransformers needs the package simpletransformers: pip install '{EXTRA}' "
                          "(or pip install 'simpletransformers>=0.70.8,<0.71')")


def st_model_type(source: str) -> str:
    """simpletransformers' name of the checkpoint's architecture, from its config (``xlm-roberta``
    is its ``xlmroberta``)."""
    from transformers import AutoConfig

    model_type = AutoConfig.from_pretrained(source, **NO_REMOTE_CODE).model_type
    named = {"xlm-roberta": "xlmroberta", "deberta-v2": "debertav2"}
    return named.get(model_type, model_type)


def _st_args(settings: TrainSettings, folder: Path, per_device: int, accumulation: int, fp16: bool) -> dict:
    return {
        # whole epochs (check_engine refuses others)
        "num_train_epochs": int(settings.epochs), "learning_rate": settings.learning_rate,
        "train_batch_size": per_device,
        "gradient_accumulation_steps": accumulation, "eval_batch_size": settings.eval_batch_size,
        "max_seq_length": settings.max_length, "manual_seed": settings.sources.init,  # = data (check_engine)
        "warmup_ratio": settings.warmup_ratio,
        "weight_decay": settings.weight_decay, "fp16": fp16,
        # everything it writes goes to a temporary folder that is removed; no checkpoints, no feature cache reuse
        "output_dir": str(folder / "outputs"), "cache_dir": str(folder / "cache"),
        "tensorboard_dir": str(folder / "runs"), "best_model_dir": str(folder / "best"), "overwrite_output_dir": True,
        "no_save": True, "no_cache": True, "reprocess_input_data": True, "save_model_every_epoch": False,
        "save_eval_checkpoints": False, "save_steps": -1, "save_optimizer_and_scheduler": False,
        # validation after each epoch only, quietly; no Weights & Biases
        "evaluate_during_training": True, "evaluate_each_epoch": True, "evaluate_during_training_steps": -1,
        "evaluate_during_training_silent": True, "evaluate_during_training_verbose": False, "silent": True,
        "wandb_project": None, "logging_steps": 0,
        # no multiprocessing pools for tokenising (the data are small; its pools hang on some machines)
        "use_multiprocessing": False, "use_multiprocessing_for_evaluation": False, "process_count": 1,
        "dataloader_num_workers": 0,
    }


def loss_windows(losses: Sequence[float], before: int, accumulation: int) -> list[tuple[int, float]]:
    """An epoch's batch losses as :data:`~.engine.LOSS_LOGS_PER_EPOCH` (optimizer step, mean loss)
    points, as the default engine logs them (``before``: the batches of the earlier epochs)."""
    from .engine import LOSS_LOGS_PER_EPOCH

    size = max(1, -(-len(losses) // LOSS_LOGS_PER_EPOCH))
    return [(max(1, (before + start + len(losses[start:start + size])) // max(accumulation, 1)),
             float(sum(losses[start:start + size]) / len(losses[start:start + size])))
            for start in range(0, len(losses), size)]


def _classification_model(model_type: str, source: str, args: dict, num_labels: int, use_cuda: bool,
                          listeners: Sequence[EpochListener], history: list[dict[str, float]]):
    """A ``ClassificationModel`` that reports each epoch's validation to ``listeners`` as it ends,
    with exactly ``args`` over simpletransformers' defaults."""
    from simpletransformers.classification import ClassificationArgs, ClassificationModel

    settings = ClassificationArgs()  # given as an object, a model_args.json in the folder is not read
    settings.update_from_dict(args)

    class ReportingModel(ClassificationModel):
        def __init__(self, *a, **kw):
            self.epoch_losses = []  # the training losses of the epoch so far (see _collect_losses)
            self.loss_curve: list[tuple[int, float]] = []  # as the default engine's: a few points an epoch
            self.batches = 0
            super().__init__(*a, **kw)

        def _evaluate_during_training(self, *a, **kw):
            results = super()._evaluate_during_training(*a, **kw)
            row = {Metric.VAL_LOSS: float(results["eval_loss"]), Metric.VAL_ACCURACY: float(results["accuracy"]),
                   Metric.VAL_MACRO_F1: float(results["macro_f1"])}
            if self.epoch_losses:  # the mean over the epoch's steps, as the default engine reports it
                row[Metric.TRAIN_LOSS] = float(sum(self.epoch_losses) / len(self.epoch_losses))
                self.loss_curve += loss_windows(self.epoch_losses, self.batches, self.args.gradient_accumulation_steps)
                self.batches += len(self.epoch_losses)
                self.epoch_losses.clear()
            history.append({"epoch": len(history) + 1, **row})
            for listener in listeners:
                listener(len(history), row)
            raise_if_stop_requested()
            return results

    try:
        model = ReportingModel(model_type, source, num_labels=num_labels, use_cuda=use_cuda, args=settings)
    except KeyError as exc:
        raise ConfigError(f"simpletransformers has no model type {model_type!r} (from {source}'s config)") from exc
    return model


def check_not_a_checkpoint_name(source: str) -> None:
    """simpletransformers' train() takes a model folder whose name ends in a number (``model-3``,
    ``checkpoint-500-epoch-2``) for one of its checkpoints and skips that many steps' worth of
    epochs: refuse such a folder name instead of training less than asked."""
    path = Path(source)
    if not path.exists():
        return
    parts = path.name.split("-")
    step = parts[1] if len(parts) > 2 else parts[-1]
    if step.isdigit():
        raise ConfigError(f"engine=simpletransformers would take the model folder {path.name!r} for one of its "
                          f"checkpoints (step {step}) and skip epochs; rename the folder so that its name does not "
                          "end in a number")


def _collect_losses(losses: list):
    """A forward hook that keeps the loss of each training forward pass (on the device: no sync)."""

    def hook(module, args, output):
        if module.training and getattr(output, "loss", None) is not None:
            losses.append(output.loss.detach())

    return hook


@contextlib.contextmanager
def _quiet_datasets():
    """datasets' progress bars off for the block, as they were after it."""
    from datasets.utils import logging as datasets_logging

    enabled = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            datasets_logging.enable_progress_bar()


def train_simpletransformers(source: str, data: PreparedData, settings: TrainSettings, work_dir: Path,
                             listeners: Sequence[EpochListener] = (), final: bool = True) -> TrainResult:
    """Fine-tune ``source`` on ``data`` with simpletransformers' training loop; the result is the
    default engine's (:func:`~.engine.train_transformer`): the model saved once into
    ``work_dir/model``, validation and test evaluated by this project, the reload checked."""
    import torch
    from sklearn.metrics import accuracy_score
    from transformers import AutoTokenizer

    check_not_a_checkpoint_name(source)
    labels = scheme(data.manifest["parameters"]["labels"])
    acc = accelerator()
    device = acc.kind
    # it trains in fp16 (with a loss scaler) or fp32, never bf16 (refused by check_engine)
    fp16 = resolve_precision(settings.precision, acc) != "fp32"
    started = time.perf_counter()
    # the default engine's model and plan (it pads every batch to max_length: the probe's worst case is its every step)
    model, load_report, per_device, accumulation = load_and_plan(source, data, settings, "fp16" if fp16 else "fp32", 1)
    folder = work_dir / "simpletransformers"
    history: list[dict[str, float]] = []
    try:
        st_args = _st_args(settings, folder, per_device, accumulation, fp16)
        st = _classification_model(st_model_type(source), source, st_args, labels.num_labels, device == "cuda",
                                   listeners, history)
        st.model, st.tokenizer = model, AutoTokenizer.from_pretrained(source, **NO_REMOTE_CODE)
        del model
        hook = st.model.register_forward_hook(_collect_losses(st.epoch_losses))
        frame = {split: data.splits[split][["text", "label"]].rename(columns={"label": "labels"})
                 for split in ("train", "validation")}
        with _quiet_datasets():  # it tokenises through datasets' map, which draws progress bars
            st.train_model(frame["train"], eval_data=frame["validation"], show_running_loss=False, verbose=False,
                           accuracy=accuracy_score,
                           # macro-F1 over the classes present or predicted, as the default engine's
                           macro_f1=lambda y, p: core_metrics(y, p, labels.num_labels)["macro_f1"])
        hook.remove()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    model, tokenizer, curve = st.model.to(torch.float32), st.tokenizer, st.loss_curve
    del st
    result = TrainResult(
        model_dir=None, evaluation=None, validation={}, history=history, per_device_batch=per_device,
        accumulation_steps=accumulation, precision="fp16" if fp16 else "fp32", device=device,
        train_seconds=time.perf_counter() - started, load_report=asdict(load_report), loss_curve=curve,
    )
    conclude(model, tokenizer, data, settings, work_dir, result, final)
    del model  # freed before the saved copy is loaded
    return check_saved(result, data, settings)
