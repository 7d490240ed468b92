"""The Optuna study of a tuning run: its storage (a journal file on one machine, an RDB URL such
as PostgreSQL across machines), sampler, pruner and name; resumed, never duplicated."""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from pathlib import Path

import optuna

from ..core.choices import PRUNERS, SAMPLERS, TUNE_METRICS
from ..core.errors import ConfigError, explain
from ..core.files import process_alive
from ..core.names import Attr
from .racing import tuning_seeds
from .space import SearchSpace

log = logging.getLogger(__name__)

DEFAULT_JOURNAL = "optuna.journal"
#: seconds between heartbeats of a running trial (RDB storages); a trial silent for
#: HEARTBEAT_GRACE seconds belongs to a dead worker: it is failed and retried
HEARTBEAT_INTERVAL, HEARTBEAT_GRACE = 30, 120


def open_storage(url: str):
    """An RDB URL (``postgresql://...``, ``sqlite:///...``) with a heartbeat, else a journal
    file (``optuna.journal`` by default), which any number of local processes can share."""
    if "://" in url:
        return _open_rdb(url)
    path = Path(url or DEFAULT_JOURNAL)
    if path.is_dir():
        raise ConfigError(f"storage={url}: is a folder; give a journal file path or an RDB URL")
    path.parent.mkdir(parents=True, exist_ok=True)
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(path)))


def _open_rdb(url: str, attempts: int = 5):
    """Workers started together on an empty database all create Optuna's tables; PostgreSQL lets
    one win and fails the others with a unique-key error, so a worker that loses tries again
    (the tables are there by then). A trial whose worker stopped sending heartbeats is failed and
    retried up to twice."""
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # the heartbeat callback is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return _SteadyRDBStorage(
                    url, heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=HEARTBEAT_GRACE,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2),
                )
        except Exception as exc:  # bad URL, missing driver, server down: say which
            if _lost_creation_race(exc) and attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise ConfigError(f"storage={url.split('@')[-1]}: cannot open the Optuna storage ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200]})") from None
    raise AssertionError("unreachable")


class _SteadyRDBStorage(optuna.storages.RDBStorage):
    """An RDB storage whose heartbeat outlives a database restart: a heartbeat that fails (the
    server restarting) is one line on stderr, and the next one, :data:`HEARTBEAT_INTERVAL` seconds
    later, tries again (Optuna's heartbeat thread would end in a traceback and beat no more)."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except Exception as exc:  # the database is away: the trial goes on, the next beat retries
            where = self.url.split("@")[-1]
            reason = explain(exc) or f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            log.warning(f"the heartbeat of trial {trial_id} could not reach the Optuna storage {where} "
                        f"({reason}); the trial goes on and the next heartbeat tries again in {HEARTBEAT_INTERVAL} s")


def _lost_creation_race(exc: Exception) -> bool:
    text = str(exc)
    return type(exc).__name__ in ("IntegrityError", "ProgrammingError") and (
        "duplicate key" in text or "already exists" in text)


def sampler_name(name: str, space: SearchSpace) -> str:
    """``auto``: grid when every dimension is a list, else TPE."""
    if name not in SAMPLERS:
        raise ConfigError(f"sampler={name!r}: use one of {', '.join(SAMPLERS)}")
    if name == "grid" and not space.is_grid:
        raise ConfigError(f"sampler=grid needs a list of values for every hyperparameter in {space.source}")
    if name == "auto":
        return "grid" if space.is_grid else "tpe"
    return name


class CompactGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, which stores the whole grid on every trial (a system attribute): this
    one stores a digest of it instead (``frenk:<digest>``), the study keeps the grid once (its user
    attribute ``frenk.grid``). Trials of older studies, with the whole grid, still count."""

    def __init__(self, space: SearchSpace, seed: int | None = None):
        super().__init__(space.grid, seed=seed)
        self.tag, self._grid = f"frenk:{space.digest}", space.grid

    def before_trial(self, study, trial) -> None:
        if "grid_id" in trial.system_attrs or "fixed_params" in trial.system_attrs:
            return  # a retried or enqueued trial keeps its point
        if Attr.GRID not in study.user_attrs:
            study.set_user_attr(Attr.GRID, self._grid)
        if 0 <= trial.number < self._n_min_trials:
            grid_id = trial.number
        else:  # Optuna's rule: an unvisited point at random; a visited one once the grid is done
            grid_id = int(self._rng.rng.choice(self._get_unvisited_grid_ids(study) or range(len(self._all_grids))))
        study._storage.set_trial_system_attr(trial._trial_id, "search_space", self.tag)
        study._storage.set_trial_system_attr(trial._trial_id, "grid_id", grid_id)

    def _same_search_space(self, search_space) -> bool:
        if isinstance(search_space, str):
            return search_space == self.tag
        return super()._same_search_space(search_space)


def choose_sampler(name: str, space: SearchSpace, seed: int):
    name = sampler_name(name, space)
    if name == "grid":
        return name, CompactGridSampler(space, seed=seed)
    if name == "bruteforce":
        return name, optuna.samplers.BruteForceSampler(seed=seed)
    if name == "random":
        return name, optuna.samplers.RandomSampler(seed=seed)
    return name, optuna.samplers.TPESampler(seed=seed)


def choose_pruner(name: str, sampler: str):
    """``auto``: none for a grid (every point is wanted), the median rule otherwise."""
    if name not in PRUNERS:
        raise ConfigError(f"pruner={name!r}: use one of {', '.join(PRUNERS)}")
    if name == "auto":
        name = "none" if sampler in ("grid", "bruteforce") else "median"
    if name == "median":
        return name, optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return name, optuna.pruners.HyperbandPruner(min_resource=1)
    return name, optuna.pruners.NopPruner()


def default_study_name(model: str, lang: str, labels: str, space: SearchSpace, seeds: int = 1) -> str:
    """``{model}-{lang}-{labels}-<space digest>``, with ``-s{seeds}`` when each configuration gets
    more than one seed (a study of one seed per trial keeps the name it had before seeds were raced)."""
    return f"{Path(model).name}-{lang}-{labels}-{space.digest}" + (f"-s{seeds}" if seeds != 1 else "")


def study_seeds(study: optuna.Study, k: int, legacy_seed: int) -> list[int]:
    """The study's tuning seeds, recorded on it when it is new (user attribute ``frenk.seeds``). A
    study made before seeds were raced has trials and no record: each trial trained ``legacy_seed``
    (tune's ``seed``), and it resumes so with one seed per configuration."""
    recorded = study.user_attrs.get(Attr.SEEDS)
    if recorded is None and study.get_trials(deepcopy=False):
        recorded = [legacy_seed]
        if k != 1:
            raise ConfigError(f"study {study.study_name!r} trained one seed ({legacy_seed}) per trial, before seeds "
                              f"were raced; resume it with seeds=1, or give seeds={k} another study name")
    if recorded is None:
        recorded = tuning_seeds(k)
        study.set_user_attr(Attr.SEEDS, recorded)
    if len(recorded) != k:
        raise ConfigError(f"study {study.study_name!r} evaluates each configuration on up to {len(recorded)} seed(s), "
                          f"not {k}; use seeds={len(recorded)} or another study name")
    return [int(s) for s in recorded]


def open_study(name: str, storage, sampler, pruner, metric: str) -> optuna.Study:
    """Create the study, or resume it when a study of that name exists (same direction)."""
    direction = TUNE_METRICS[metric]
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                direction=direction, load_if_exists=True)
    recorded = study.user_attrs.get(Attr.METRIC)
    if recorded is None:
        study.set_user_attr(Attr.METRIC, metric)
    elif recorded != metric:
        raise ConfigError(f"study {name!r} optimises {recorded}, not {metric}; use metric={recorded} or another study "
                          "name")
    return study


def worker_id() -> str:
    """host:pid of this process (recorded on each trial, to find the trials of dead workers)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_orphaned_trials(study: optuna.Study) -> list[int]:
    """Trials left RUNNING by a process of this host that no longer exists (killed): mark them
    failed so that their configuration is tried again. Returns their numbers."""
    host = socket.gethostname()
    orphans = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        owner = trial.user_attrs.get(Attr.WORKER, "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        orphans.append(trial.number)
    return orphans

