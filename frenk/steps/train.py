"""The train step: checks, then instantiate (the runs, the recovery) -> fit -> log -> register.

What a stopped or cut-off training keeps is :class:`~frenk.steps.train_recovery.TrainRecovery`'s;
the parent's summary, the registration and the outcome are :mod:`frenk.steps.train_finish`'s."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from ..config import TrainConfig
from ..core.errors import ConfigError
from ..core.interrupts import sigterm_as_interrupt
from ..core.log import quiet_progress_bars
from ..core.names import Tag
from ..data import PreprocessOptions, check_scheme, load_or_prepare, missing_class_warnings
from ..team import access
from ..tracking import experiments, registry, resume, runs
from ..tracking.listeners import SeedRuns
from ..tracking.tuning import best_params_of_run, tuned_model, tuning_seeds_of_run
from ..training import (
    EpochListener,
    TrainListener,
    check_engine,
    fit_seeds,
    kind_of,
    resolve,
    seed_sources,
    settings_for,
)
from .train_finish import TrainOutcome, finish, outcome
from .train_recovery import TrainRecovery

log = logging.getLogger(__name__)


def checked_inputs(cfg: TrainConfig):
    """Everything that can be checked before training, in order of cost; returns (spec, data, settings)."""
    spec = resolve(cfg.model)  # unknown preset / model not found / a folder that ships code: before anything else
    runs.start_step()  # tracking server not reachable: before training; orphaned runs marked FAILED
    access.require_write(experiments.write_targets(cfg.lang, cfg.labels, cfg.register),
                         f"train (runs in the experiment{' and versions of ' + cfg.register if cfg.register else ''})")
    if cfg.params and cfg.tune_run is None and not Path(cfg.params).is_file():  # a tune run id
        _take_tuned(cfg, spec.name)
    data = load_or_prepare(cfg.data, PreprocessOptions(lang=cfg.lang, labels=cfg.labels))
    check_scheme(data, cfg.lang, cfg.labels, cfg.data)
    for line in missing_class_warnings(data):  # a class without examples in a split: macro-F1 over fewer classes
        log.warning(line)
    kind_of(spec).check_before_training(spec, cfg.labels, cfg.max_length)
    settings = settings_for(spec, epochs=cfg.epochs, learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                            max_length=cfg.max_length, seed=cfg.seed, precision=cfg.precision,
                            device_batch_size=cfg.device_batch_size, warmup_ratio=cfg.warmup_ratio,
                            weight_decay=cfg.weight_decay, engine=cfg.engine)
    check_engine(settings, spec.kind)
    if cfg.register:
        registry.repair_versions(cfg.register)  # a registration that a killed run left half-done
    return spec, data, settings


def _take_tuned(cfg: TrainConfig, model: str) -> None:
    """The best hyperparameters of the tune run ``cfg.params``; refused when that run tuned another
    model (they fit that one) unless ``params_any_model``."""
    values = best_params_of_run(cfg.params)  # no such run, not a tune run: refused there
    tuned = tuned_model(cfg.params)
    if tuned and tuned != model and not cfg.params_any_model:
        raise ConfigError(f"params={cfg.params}: that tune run tuned model={tuned}, not model={model} (its "
                          f"hyperparameters fit {tuned}); train -P model={tuned} -P params={cfg.params}, or take "
                          "them for this model anyway with -P params_any_model=true")
    _check_tuning_seeds(cfg, *tuning_seeds_of_run(cfg.params))
    cfg.apply_hyperparameters(values, f"tune run {cfg.params}", tune_run=cfg.params)


def _check_tuning_seeds(cfg: TrainConfig, tuning: list[int], recorded: bool) -> None:
    """Training seeds and the tune run's trial seeds never meet unless the user says so: a seed a
    trial trained replays the trial its search picked (a maximum over trials, so lifted)."""
    shared = sorted(set(tuning) & {cfg.seed + i for i in range(cfg.repeats)})
    if not shared or cfg.reuse_tuning_seeds:
        return
    if not recorded:  # a tune run from before tuning seeds had a range of their own
        log.warning(f"params={cfg.params}: that tune run's trials trained seed {', '.join(map(str, shared))}, which "
                    "this training trains too: its best seed may replay the winning trial (tune again with this frenk "
                    "to keep tuning and training seeds apart)")
        return
    raise ConfigError(f"params={cfg.params}: seed(s) {', '.join(map(str, shared))} were trained by that tune run's "
                      f"trials (seeds {', '.join(map(str, tuning))}); give another seed=, or train them anyway with "
                      "-P reuse_tuning_seeds=true")


def train(cfg: TrainConfig, listeners: Sequence[TrainListener | EpochListener] = ()) -> TrainOutcome:
    """Train ``cfg.repeats`` seeds (child runs of one parent when more than one), keep the
    weights asked for, and, as the run's last act, register the best seed's model with alias
    ``candidate``.

    ``listeners`` follow the training besides MLflow (:class:`~frenk.training.TrainListener`,
    or callables ``(epoch, validation metrics)``). Every temporary folder is removed when the
    step ends, also when it fails or is stopped: SIGTERM ends like Ctrl+C, with the current
    seed's run and the parent KILLED and the finished seeds' runs kept.
    """
    if cfg.slurm and cfg.repeats > 1:  # the seeds as a Slurm job array
        from .train_slurm import fanned_out

        return fanned_out(cfg)
    quiet_progress_bars()
    with sigterm_as_interrupt():
        spec, data, settings = checked_inputs(cfg)
        sources = seed_sources(cfg.seed, cfg.repeats, cfg.vary)  # each seed's init and data seeds
        seeds = list(sources)
        nested = cfg.repeats > 1
        tags, top_tags, params = tags_and_params(cfg, spec, data, settings)
        run_name = f"{spec.name}-{cfg.lang}-" + (f"{cfg.repeats}seeds" if nested else f"s{cfg.seed}")
        seed_runs = SeedRuns(data, {**params, "model_source": spec.source or spec.kind},
                             f"{spec.name}-{cfg.lang}-s{{seed}}", nested, sources)
        work_root = Path(tempfile.mkdtemp(prefix="frenk-train-"))
        try:
            with runs.step_run(run_name, top_tags, lang=cfg.lang, labels=cfg.labels) as top:
                runs.note_temp_dir(work_root)
                recovery = TrainRecovery(cfg, seed_runs, tags, top.info.run_id, work_root)
                finished = recovery.resume_stopped(top_tags, top.info.experiment_id, seeds)
                if nested:
                    runs.log_params({**params, "seeds": ",".join(map(str, seeds))})
                with recovery.kept_on_stop():
                    fitted = fit_seeds(spec, data, settings, seeds, work_root, cfg.keep_models,
                                       [*recovery.listeners, *listeners], finished=finished,
                                       parallel=1 if "parallel" in kind_of(spec).ignored_params else cfg.parallel,
                                       sources=sources)
                with recovery.kept_on_outage(fitted):
                    version = finish(cfg, spec.name, fitted, seed_runs.outcome(), tags, nested)
        finally:
            shutil.rmtree(work_root, ignore_errors=True)
    return outcome(cfg, spec.name, fitted, seed_runs.outcome().run_ids, version, top.info.run_id if nested else None)


#: parameters that change nothing a resumed training must match (the same results either way)
_SAME_RESULTS = ("parallel", "params_any_model", "reuse_tuning_seeds", "slurm")


def tags_and_params(cfg: TrainConfig, spec, data, settings) -> tuple[dict[str, str], dict[str, str], dict]:
    """The seeds' tags, the step run's tags (the repeats or the seed, the digest a resume compares)
    and the parameters as used."""
    nested = cfg.repeats > 1
    tags = runs.frenk_tags(
        step="train", model=spec.name, model_id=spec.source or spec.kind, lang=cfg.lang, labels=cfg.labels,
        data_digest=data.data_digest, group=cfg.group, data_source=data.manifest["source"][:500],
        tune_run=cfg.tune_run, engine=None if "engine" in kind_of(spec).ignored_params else cfg.engine,
        kind=spec.kind,
    )
    params = used_params(cfg, kind_of(spec).ignored_params, settings)
    top_tags = {**tags, **runs.frenk_tags(**({"repeats": cfg.repeats} if nested else {"seed": cfg.seed})),
                Tag.TRAIN_DIGEST: resume.train_digest({**{k: v for k, v in params.items() if k not in _SAME_RESULTS},
                                                        "settings": settings})}
    return tags, top_tags, params


def used_params(cfg: TrainConfig, ignored: tuple[str, ...], settings) -> dict[str, object]:
    """The parameters as the training used them: the preset's epochs, learning rate and batch size
    where the config said 0, the group and model name filled in, none that the model kind ignores."""
    params = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name != "args"}
    params.update(epochs=settings.epochs, learning_rate=settings.learning_rate, batch_size=settings.batch_size)
    return {k: v for k, v in params.items() if k not in ignored}


