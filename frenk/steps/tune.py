"""The tune step: an Optuna study over a search space, each trial a nested MLflow run."""

from __future__ import annotations

import logging
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from .. import cluster
from ..config import TrainConfig, TuneConfig
from ..core.errors import ConfigError, FrenkError
from ..core.interrupts import sigterm_as_interrupt
from ..core.log import quiet_progress_bars
from ..core.log import result as show
from ..core.secret_params import shown_storage, storage_url
from ..data import PreprocessOptions, check_scheme, load_or_prepare
from ..team import access
from ..tracking import experiments, results, runs
from ..tracking.tuning import TrialRuns, log_search, mark_killed
from ..training import kind_of, resolve
from ..tuning import SearchPlan, SearchResult, default_study_name, load_space, sampler_name, search
from ..tuning.plots import study_figures
from ..tuning.summary import search_summary

log = logging.getLogger(__name__)


@dataclass
class TuneOutcome:
    run_id: str
    result: SearchResult
    trial_runs: dict[int, str]


def tune(cfg: TuneConfig) -> TuneOutcome:
    """Run (or resume) the study; log one parent run and one child run per new trial."""
    import optuna

    quiet_progress_bars()  # unless FRENK_VERBOSE=1, as every step
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trial failures are reported by frenk, without a traceback
    spec = resolve(cfg.model)
    if not kind_of(spec).tunable:
        raise ConfigError(f"model={cfg.model} has no hyperparameters to tune; tune a transformer (e.g. model=tiny or "
                          "bertic)")
    space = load_space(cfg.space, spec.preset.name if spec.preset else None)
    runs.start_step()
    access.require_write(experiments.write_targets(cfg.lang, cfg.labels), "tune (its runs in the experiment)")
    _workers_on_slurm(cfg, spec.name)  # with slurm, on a login node: the workers as a job array first
    data = load_or_prepare(cfg.data, PreprocessOptions(lang=cfg.lang, labels=cfg.labels))
    check_scheme(data, cfg.lang, cfg.labels, cfg.data)
    study = cfg.study or default_study_name(cfg.model, cfg.lang, cfg.labels, space, cfg.seeds)
    plan = SearchPlan(space=space, metric=cfg.metric, sampler=cfg.sampler, pruner=cfg.pruner, trials=cfg.trials,
                      seeds=cfg.seeds, race=cfg.race, parallel=cfg.parallel,
                      timeout=cfg.timeout, seed=cfg.seed, study=study, storage=storage_url(cfg.storage),
                      fixed={"max_length": cfg.max_length, "precision": cfg.precision,
                             "device_batch_size": cfg.device_batch_size})
    tags = runs.frenk_tags(step="tune", model=spec.name, model_id=spec.source or spec.kind, lang=cfg.lang,
                           labels=cfg.labels, data_digest=data.data_digest, study=study,
                           sampler=sampler_name(cfg.sampler, space), data_source=data.manifest["source"][:500],
                           **_worker_tags())
    work_root = Path(tempfile.mkdtemp(prefix="frenk-tune-"))
    trial_runs = TrialRuns(f"{spec.name}-{cfg.lang}-trial{{trial}}")
    run_id = None
    try:
        with sigterm_as_interrupt(), runs.step_run(f"tune-{study}", tags, lang=cfg.lang, labels=cfg.labels) as run:
            run_id = run.info.run_id
            runs.note_temp_dir(work_root)  # a killed tune's work folder (trial models) is removed by the next step
            runs.log_params({**{f.name: getattr(cfg, f.name) for f in fields(cfg)}, "space_file": space.source,
                             "storage": shown_storage(cfg.storage) or "optuna.journal"})
            results.log_prepared_inputs(data, splits=("train", "validation"))
            found, result = search(spec, data, plan, work_root, [trial_runs])
            log_search(result, study_figures(found), tags,
                       search_summary(result, train_command(cfg, run_id, result.best_params)))
    except KeyboardInterrupt:
        mark_killed(run_id)
        raise FrenkError(
            f"interrupted: finished trials are kept in study {study!r} "
            f"({shown_storage(cfg.storage) or 'optuna.journal'}); "
            "run the same command again to resume it"
        ) from None
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    _report(result, run_id, cfg)
    return TuneOutcome(run_id, result, trial_runs.run_ids)


#: the seeds the printed train command asks for (main's default)
HINT_REPEATS = 10


def train_command(cfg: TuneConfig, run_id: str, tuned: dict) -> str:
    """The ``mlflow run`` command that trains the study's model on the study's data, language and
    labels with its best hyperparameters (``tuned``) over :data:`HINT_REPEATS` seeds, in the current
    environment, as printed: a folder given as data is written as an absolute path."""
    data = str(Path(cfg.data).resolve()) if Path(cfg.data).exists() else cfg.data
    params: dict[str, object] = {"model": cfg.model, "data": data, "lang": cfg.lang, "labels": cfg.labels,
                                 "params": run_id, "repeats": HINT_REPEATS}
    train_defaults = {f.name: f.default for f in fields(TrainConfig)}
    for name in ("max_length", "precision", "device_batch_size"):  # fixed in the study, not tuned
        if name not in tuned and getattr(cfg, name) != train_defaults[name]:
            params[name] = getattr(cfg, name)
    return ("mlflow run . -e train " + " ".join(f"-P {shlex.quote(f'{k}={v}')}" for k, v in params.items())
            + " --env-manager local")


def _report(result: SearchResult, run_id: str, cfg: TuneConfig) -> None:
    counts = result.table["state"].value_counts().to_dict() if len(result.table) else {}
    show(f"study {result.study}: {result.new_trials} new trial(s), {len(result.table)} in all "
          f"({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}); sampler {result.sampler}, "
          f"{result.pruning}")
    trials, most = result.budget
    show(f"trainings: {result.new_trainings} new, {result.trainings} in all, of a budget of {trials} trial(s) x "
         f"{len(result.seeds)} seed(s) = {most} at most (seeds {', '.join(map(str, result.seeds))})")
    if result.best_trial is None:
        show("no trial has finished yet")
    else:
        over = f" over {len(result.seeds)} seeds" if len(result.seeds) > 1 else ""
        show(f"best {result.metric} {result.best_value:.4f}{over} (trial {result.best_trial}): {result.best_params}")
        others = [t for t in result.tied if t != result.best_trial]
        if others:
            show(f"not clearly worse than the best (its seeds cannot tell them apart): trial(s) "
                 f"{', '.join(map(str, others))}")
        show(f"train it over seeds: {train_command(cfg, run_id, result.best_params)}")


def _worker_tags() -> dict[str, str]:
    """A Slurm tune worker's run: its task (``<array job>_<index>``) and index; elsewhere none."""
    task = cluster.current_task()
    return cluster.slurm_tags(task) if task is not None and task.role == "tune" else {}


def _workers_on_slurm(cfg: TuneConfig, model: str) -> None:
    """With ``slurm`` on a login node: submit ``cfg.workers`` tasks of this command on the shared
    storage and wait for them all (each worker logs its tune run and trials as a local worker does);
    when one failed, exit with its status; else the study is spent, and this command goes on as a
    rerun of it does: its own run trains nothing and summarises the study (the run that
    ``train -P params=`` and main take). Elsewhere (no slurm, or in a task): nothing."""
    if not cfg.slurm or cluster.current_task() is not None:
        return
    options = cluster.read_options(cfg.slurm)
    name = f"frenk-tune-{model}-{cfg.lang}"
    job, status = cluster.submit_and_wait(options, [sys.executable, *sys.argv], name, "tune", "",
                                          Path.cwd() / "frenk-slurm-tune", [f"--array=0-{cfg.workers - 1}"])
    log.info(f"the {cfg.workers} tune worker(s) of the Slurm job array {job} ended with status {status} "
             f"(their output: frenk-slurm-logs/{name}-{job}_<index>.out)")
    if status != 0:
        sys.exit(status)
