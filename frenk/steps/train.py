"""The train step: seeds as (child) runs, the kept weights, the registry."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from ..config import RecoverConfig, TrainConfig
from ..data import PreprocessOptions, check_scheme, load_or_prepare, missing_class_warnings, scheme
from ..errors import TrackingError
from ..interrupts import sigterm_as_interrupt
from ..publishing import registry_alias
from ..tracking import access, experiments, outage, registry, results, resume, runs
from ..tracking.listeners import SeedRuns
from ..tracking.server import redact
from ..tracking.tuning import best_params_of_run
from ..training import (
    TINY_MAX_POSITIONS,
    EpochListener,
    FinishedSeeds,
    TrainListener,
    check_engine,
    check_head,
    check_max_length,
    fit_seeds,
    resolve,
    settings_for,
)


@dataclass
class SeedRun:
    seed: int
    run_id: str
    metrics: dict
    val_macro_f1: float


@dataclass
class TrainOutcome:
    parent_run_id: str | None
    runs: list[SeedRun]
    best: SeedRun
    registered_version: str | None
    group: str


def _checked_inputs(cfg: TrainConfig):
    """Everything that can be checked before training, in order of cost; returns (spec, data, settings)."""
    spec = resolve(cfg.model)  # unknown preset / model not found / a folder that ships code: before anything else
    runs.start_step()  # tracking server not reachable: before training; orphaned runs marked FAILED
    access.require_write(experiments.write_targets(cfg.lang, cfg.labels, cfg.register),
                         f"train (runs in the experiment{' and versions of ' + cfg.register if cfg.register else ''})")
    if cfg.params and cfg.tune_run is None and not Path(cfg.params).is_file():  # a tune run id
        cfg.apply_hyperparameters(best_params_of_run(cfg.params), f"tune run {cfg.params}", tune_run=cfg.params)
    data = load_or_prepare(cfg.data, PreprocessOptions(lang=cfg.lang, labels=cfg.labels))
    check_scheme(data, cfg.lang, cfg.labels, cfg.data)
    for line in missing_class_warnings(data):  # a class without examples in a split: macro-F1 over fewer classes
        print(f"frenk: warning: {line}", file=sys.stderr, flush=True)
    if spec.kind == "transformer" and spec.source is not None:  # resolve gives every transformer its source
        check_head(spec.source, scheme(cfg.labels).id2label)
        check_max_length(spec.source, cfg.max_length)
    elif spec.kind == "tiny":
        check_max_length("the tiny model", cfg.max_length, TINY_MAX_POSITIONS)
    settings = settings_for(spec, epochs=cfg.epochs, learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                            max_length=cfg.max_length, seed=cfg.seed, precision=cfg.precision,
                            device_batch_size=cfg.device_batch_size, warmup_ratio=cfg.warmup_ratio,
                            weight_decay=cfg.weight_decay, engine=cfg.engine)
    check_engine(settings, spec.kind)
    if cfg.register:
        registry.repair_versions(cfg.register)  # a registration that a killed run left half-done
    return spec, data, settings


def train(cfg: TrainConfig, listeners: Sequence[TrainListener | EpochListener] = ()) -> TrainOutcome:
    """Train ``cfg.repeats`` seeds (child runs of one parent when more than one), keep the
    weights asked for, and, as the run's last act, register the best seed's model with alias
    ``candidate``.

    ``listeners`` follow the training besides MLflow (:class:`~frenk.training.TrainListener`,
    or callables ``(epoch, validation metrics)``). Every temporary folder is removed when the
    step ends, also when it fails or is stopped: SIGTERM ends like Ctrl+C, with the current
    seed's run and the parent KILLED and the finished seeds' runs kept.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    with sigterm_as_interrupt():
        spec, data, settings = _checked_inputs(cfg)
        seeds = [cfg.seed + i for i in range(cfg.repeats)]
        nested = cfg.repeats > 1
        tags = runs.frenk_tags(
            step="train", model=spec.name, model_id=spec.source or spec.kind, lang=cfg.lang, labels=cfg.labels,
            data_digest=data.data_digest, group=cfg.group, data_source=data.manifest["source"][:500],
            tune_run=cfg.tune_run, engine=cfg.engine if spec.kind != "tfidf" else None,
        )
        params = used_params(cfg, spec.kind, settings)
        top_tags = {**tags, **runs.frenk_tags(**({"repeats": cfg.repeats} if nested else {"seed": cfg.seed})),
                    resume.DIGEST_TAG: resume.train_digest({**{k: v for k, v in params.items() if k != "parallel"},
                                                            "settings": settings})}  # parallel: the same results
        run_name = f"{spec.name}-{cfg.lang}-" + (f"{cfg.repeats}seeds" if nested else f"s{cfg.seed}")
        seed_runs = SeedRuns(data, {**params, "model_source": spec.source or spec.kind},
                             f"{spec.name}-{cfg.lang}-s{{seed}}", nested)
        work_root = Path(tempfile.mkdtemp(prefix="frenk-train-"))
        try:
            with runs.step_run(run_name, top_tags, lang=cfg.lang, labels=cfg.labels) as top:
                runs.note_temp_dir(work_root)
                resumable = resume.find_resumable(top_tags, top.info.experiment_id) if nested else None
                if nested:
                    runs.log_params({**params, "seeds": ",".join(map(str, seeds))})
                fitted, version = _fit_and_finish(cfg, (spec, data, settings, seeds), seed_runs, tags, top.info.run_id,
                                                  work_root, resumable, listeners)
        finally:
            shutil.rmtree(work_root, ignore_errors=True)
    return _outcome(cfg, spec.name, fitted, seed_runs.run_ids, version, top.info.run_id if nested else None)


#: parameters that mean nothing to the TF-IDF baseline (not logged on its runs)
TRANSFORMER_ONLY = ("epochs", "learning_rate", "batch_size", "max_length", "precision", "device_batch_size",
                    "warmup_ratio", "weight_decay", "engine", "parallel")


def used_params(cfg: TrainConfig, kind: str, settings) -> dict[str, object]:
    """The parameters as the training used them: the preset's epochs, learning rate and batch size
    where the config said 0, the group and model name filled in, none that the model kind ignores."""
    params = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name != "args"}
    params.update(epochs=settings.epochs, learning_rate=settings.learning_rate, batch_size=settings.batch_size)
    if kind == "tfidf":
        params = {k: v for k, v in params.items() if k not in TRANSFORMER_ONLY}
    return params


def _fit_and_finish(cfg: TrainConfig, inputs, seed_runs: SeedRuns, tags: dict[str, str], run_id: str, work_root: Path,
                    resumable: resume.Resumable | None, listeners):
    """Train the seeds (the missing ones only when continuing a stopped training) inside the
    step's run, then finish it; a stop keeps the finished seeds for the same command to continue."""
    spec, data, settings, seeds = inputs
    finished = []
    if resumable is not None:
        resume.adopt(resumable, run_id)
        seed_runs.run_ids.update(resumable.run_ids)
        seed_runs.model_uris.update(resumable.model_uris)
        finished = resumable.finished
        print(f"frenk: continuing the training stopped in run {resumable.parent_run_id}: seeds "
              f"{[r.seed for r in finished]} finished there; "
              f"training {[s for s in seeds if s not in resumable.run_ids]}")
    guard = outage.OutageGuard(seed_runs)  # a server that stays down does not stop the training
    collected = FinishedSeeds()
    try:
        fitted = fit_seeds(spec, data, settings, seeds, work_root, cfg.keep_models, [guard, collected, *listeners],
                           finished=finished, parallel=cfg.parallel if spec.kind != "tfidf" else 1)
    except KeyboardInterrupt:
        _keep_stopped(run_id, finished, collected, resumable, work_root, seed_runs)
        raise
    version = _finish_or_save(cfg, fitted, guard, tags, run_id, work_root)
    if resumable is not None:
        resume.close(resumable)
    return fitted, version


def _keep_stopped(run_id: str, earlier: list, collected: FinishedSeeds, resumable, work_root: Path,
                  seed_runs: SeedRuns) -> None:
    """A stop: the finished seeds and the best one's weights go to a resume folder (one line says so)."""
    finished = [*earlier, *collected.finished]
    if not finished or not seed_runs.nested:
        return
    best = max(finished, key=lambda r: r.selection_score)
    if any(r is best for r in collected.finished):
        best_work = work_root / f"seed-{best.seed}"
    else:
        best_work = resumable.folder / "work"
    folder = resume.save_stopped(run_id, finished, best_work, seed_runs.run_ids, seed_runs.model_uris, Path.cwd())
    if resumable is not None:
        resume.close(resumable)
    print(f"frenk: seeds {[r.seed for r in finished]} finished and keep their runs; the best one's weights are kept "
          f"in {folder}: run the same command again to train the missing seeds only", flush=True)


def _outcome(cfg: TrainConfig, model: str, fitted, run_ids: dict[int, str], version: str | None,
             parent_run_id: str | None) -> TrainOutcome:
    """Print the one-line summary of a training and return its outcome."""
    done = [SeedRun(r.seed, run_ids[r.seed], r.result.evaluation.metrics, r.selection_score) for r in fitted.seeds]
    best = next(r for r in done if r.seed == fitted.best.seed)
    _report(cfg, model, done, best, version)
    return TrainOutcome(parent_run_id, done, best, version, cfg.group)


def _finish(cfg: TrainConfig, model: str, fitted, seed_runs: SeedRuns, tags: dict[str, str],
            nested: bool) -> str | None:
    """The parent's summary and description, then the registration: the last act of the run."""
    best_run_id = seed_runs.run_ids[fitted.best.seed]
    if nested:
        results.log_summary(fitted.summary,
                            {"frenk.best_run_id": best_run_id, "frenk.best_seed": str(fitted.best.seed)})
        results.describe(results.train_description(model, cfg.lang, cfg.labels, fitted.summary,
                                                   fitted.best.seed, best_run_id, len(fitted.seeds)))
    return _register_best(cfg, fitted, seed_runs, tags) if cfg.keep_models != "none" else None


def _finish_or_save(cfg: TrainConfig, fitted, guard: outage.OutageGuard, tags: dict[str, str], run_id: str,
                    work_root: Path) -> str | None:
    """Finish the run; if the tracking server has gone (and MLflow's retries are spent), save
    everything not yet logged to a recovery folder and stop with the command that logs it."""
    seed_runs = guard.inner
    if not isinstance(seed_runs, SeedRuns):
        raise TypeError(f"the outage guard of a training watches its SeedRuns, not a {type(seed_runs).__name__}")
    if guard.down is None:
        try:
            return _finish(cfg, tags["frenk.model"], fitted, seed_runs, tags, seed_runs.nested)
        except Exception as exc:
            if not outage.server_unreachable(exc):
                raise
            guard.down = exc
    state = {"params": seed_runs.params, "run_name": seed_runs.run_name, "nested": seed_runs.nested,
             "run_ids": dict(seed_runs.run_ids), "model_uris": dict(seed_runs.model_uris)}
    uri = runs.tracking_uri()
    recovery = outage.Recovery(uri, cfg, run_id, state, guard.pending, fitted, tags)
    folder = outage.save_recovery(recovery, work_root, Path.cwd())
    outage.abandon_active_runs()
    raise TrackingError(
        f"the MLflow tracking server at {redact(uri)} went down during the training and did not come back within "
        "MLflow's retries (MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR). The training itself "
        f"finished: its weights, metrics and predictions are saved in {folder}. When the server is back, run "
        f"`frenk-recover --folder {folder}` to log them to run {run_id} and register the model"
    )


def recover(cfg: RecoverConfig) -> TrainOutcome:
    """Log a training saved by :func:`_finish_or_save` to its runs, finish them and register the
    model, as the training would have; then remove the recovery folder."""
    folder = Path(cfg.folder).resolve()
    saved = outage.load_recovery(folder)
    if runs.tracking_uri() != saved.tracking_uri:
        raise TrackingError(f"{folder} holds runs of the tracking server {redact(saved.tracking_uri)}, but "
                            f"MLFLOW_TRACKING_URI is {redact(runs.tracking_uri())}: set it to the server of the runs")
    train_cfg = saved.config
    if not isinstance(train_cfg, TrainConfig):
        raise TrackingError(f"{folder} holds no training's configuration: it is not a recovery folder of train")
    runs.start_step()
    data = load_or_prepare(train_cfg.data, PreprocessOptions(lang=train_cfg.lang, labels=train_cfg.labels))
    if data.data_digest != saved.tags.get("frenk.data_digest"):
        raise TrackingError(f"the data at {train_cfg.data} has changed since the training (digest {data.data_digest}, "
                            f"trained on {saved.tags.get('frenk.data_digest')}): restore it to recover the runs")
    state = saved.listener
    seed_runs = SeedRuns(data, state["params"], state["run_name"], state["nested"])
    seed_runs.run_ids, seed_runs.model_uris = dict(state["run_ids"]), dict(state["model_uris"])
    outage.reclaim_runs([saved.run_id, *seed_runs.run_ids.values()])
    if train_cfg.register:
        registry.repair_versions(train_cfg.register)  # a registration the outage left half-done
    with runs.resume_run(saved.run_id, nested=False):
        for name, seed, args in saved.pending:
            if name != "on_seed_start" and seed is not None:  # every event of a seed after its start
                seed_runs.reopen(seed)
            getattr(seed_runs, name)(*args)
        version = _finish(train_cfg, saved.tags["frenk.model"], saved.fitted, seed_runs, saved.tags, state["nested"])
    shutil.rmtree(folder)
    print(f"frenk: logged the training saved in {folder} to run {saved.run_id} (the folder is removed)")
    return _outcome(train_cfg, saved.tags["frenk.model"], saved.fitted, seed_runs.run_ids, version,
                    saved.run_id if state["nested"] else None)


def _report(cfg: TrainConfig, model: str, done: list[SeedRun], best: SeedRun, version: str | None) -> None:
    print(
        f"trained {model} on {cfg.lang}/{cfg.labels} with seeds {[r.seed for r in done]}: test macro-F1 "
        + ", ".join(f"{r.metrics['test_macro_f1']:.4f}" for r in done)
        + f"; best seed {best.seed} (validation macro-F1 {best.val_macro_f1:.4f})"
        + (f"; registered {cfg.register} version {version} as {registry_alias(model)}" if version else "")
    )


def _register_best(cfg: TrainConfig, fitted, seed_runs: SeedRuns, tags: dict[str, str]) -> str | None:
    """Store the best seed's weights in its run, register them and set ``candidate`` on the version."""
    seed = fitted.best.seed
    run_id = seed_runs.run_ids[seed]
    version = registry.register_best(fitted.best_model_dir, seed_runs.model_uris.get(seed), run_id, cfg.register,
                                     reopen=cfg.repeats > 1)
    if version:
        metrics = fitted.best.result.evaluation.metrics
        digest = runs.frenk_tags(weights_sha256=fitted.best.result.weights_digest)
        registry.set_candidate(cfg.register, version,
                               {**tags, **digest, "frenk.seed": str(seed), "frenk.run_id": run_id},
                               f"{tags['frenk.model']} (seed {seed}, best of {len(fitted.seeds)} "
                               f"by validation macro-F1): test macro-F1 {metrics['test_macro_f1']:.4f}; "
                               f"train run {run_id}",
                               alias=registry_alias(tags["frenk.model"]))
    return version
