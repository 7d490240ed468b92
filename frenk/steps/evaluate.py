"""The evaluate step: a registered model version scored on other data (out of domain), as a run
of its own that the version links to; data without labels gives predictions only."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..config import EvaluateConfig
from ..core.errors import FrenkError
from ..core.interrupts import sigterm_as_interrupt
from ..core.log import quiet_progress_bars, result
from ..core.names import Tag
from ..data.evaluation_data import EvalData, check_source, load_eval_data
from ..team import access
from ..tracking import evaluations, experiments, results, runs, search
from ..training.scoring import load_scorer, score
from .publish import refresh_card

log = logging.getLogger(__name__)


@dataclass
class EvaluateOutcome:
    run_id: str
    name: str
    version: str
    n_comments: int
    predictions_only: bool
    metrics: dict[str, float] = field(default_factory=dict)


def evaluate(cfg: EvaluateConfig) -> EvaluateOutcome:
    """Score ``cfg.model`` on ``cfg.data`` (``cfg.split`` of a prepared folder, or a file): every
    refusal (unknown model, missing data, labels with no mapping) comes before the run is opened;
    the run logs what a train run logs of its test, and the version gets a tag and a line linking it."""
    quiet_progress_bars()
    with sigterm_as_interrupt():
        check_source(cfg.data)  # a missing folder or file: before any request to the store
        runs.start_step()
        mv = evaluations.resolve_version(cfg.model)
        what = f"{mv.name} version {mv.version}"
        train = evaluations.train_run(mv)
        experiment = experiments.for_step(experiment_id=train.info.experiment_id if train else None)
        access.require_write([("registered_model", mv.name), ("experiment", experiment
                                                             or search.current_experiment_id())],
                             f"evaluate (a run, and a tag and description line on {what})")
        data = load_eval_data(cfg.data, cfg.split, mv.tags.get(Tag.LABELS) or "binary")
        with tempfile.TemporaryDirectory(prefix="frenk-evaluate-") as tmp:
            scorer = load_scorer(evaluations.download_weights(mv, Path(tmp)), what)
            if mv.tags.get(Tag.LABELS) != scorer.scheme:  # a version without the tag: its weights say
                data = load_eval_data(cfg.data, cfg.split, scorer.scheme)
            evaluation, predictions = score(data, scorer)
        return _log(cfg, mv, train, data, scorer.scheme, (evaluation, predictions))


def _log(cfg: EvaluateConfig, mv, train, data: EvalData, scheme: str, scored) -> EvaluateOutcome:
    evaluation, predictions = scored
    system = mv.tags.get(Tag.MODEL) or (train.data.tags.get(Tag.MODEL) if train else None) or "?"
    tags = runs.frenk_tags(step="evaluate", evaluated_model=mv.name, model_version=mv.version, model=system,
                           kind=mv.tags.get(Tag.KIND), data_digest=data.digest, lang=data.lang, labels=scheme,
                           evaluated_split=data.split, topics=",".join(data.topics)[:500],
                           label_mapping=data.mapping, predictions_only=str(evaluation is None).lower())
    name = f"evaluate-{mv.name}-v{mv.version}-{data.lang or 'file'}"
    with runs.step_run(name, tags, experiment_id=train.info.experiment_id if train else None) as run:
        label = f"{mv.name} v{mv.version} ({system})"
        evaluations.log_evaluation(evaluation, predictions, data, label,
                                   {"model": cfg.model, "data": cfg.data, "split": cfg.split}, run.info.run_id)
        line = _line(data, evaluation)
        results.describe(f"**{results.version_link(mv.name, str(mv.version))}** ({system}) scored on {line}"
                         + (f" Trained in run {results.run_link(train.info.run_id)}." if train else ""))
        evaluations.link_version(mv, run.info.run_id, line)
    _refresh_card(mv)
    metrics = {k: evaluation.metrics[k] for k in ("test_macro_f1", "test_accuracy")} if evaluation else {}
    result(f"evaluated {mv.name} version {mv.version} on {line} Run {run.info.run_id}"
           + (" (predictions only: batch inference for moderators, predictions.parquet)" if evaluation is None else ""))
    return EvaluateOutcome(run.info.run_id, mv.name, str(mv.version), len(data.frame), evaluation is None, metrics)


def _refresh_card(mv) -> None:
    """The card of the folder this version was published to lists the new run (its "Out of domain" table)."""
    try:
        folder = refresh_card(mv.name, str(mv.version))
    except (FrenkError, OSError, ValueError) as exc:  # the evaluation stands; the card stays as it was
        log.warning(f"the model card of {mv.name} version {mv.version} was not updated: {exc}")
        return
    if folder is not None:
        log.info(f"the model card in {folder} now lists this evaluation (Out of domain)")


def _line(data: EvalData, evaluation) -> str:
    """What was scored and what came out, in one sentence."""
    n = len(data.frame)
    if evaluation is None:
        return (f"{data.description}: {n} comments without gold labels, so predictions only (batch inference: "
                "`predictions.parquet`, one row per comment with its predicted class and probabilities; no metrics).")
    m = evaluation.metrics
    return (f"{data.description}: macro-F1 {m['test_macro_f1']:.4f}, accuracy {m['test_accuracy']:.4f} over {n} "
            f"comments (gold labels mapped: {data.mapping}).")
