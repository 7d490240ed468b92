"""Submitting a fan-out: the job script goes to ``sbatch`` on standard input (no script file on
shared disk), and what a task needs reaches it through the environment only (``--export=ALL``:
the tracking URI and credentials of the submitting shell, PATH, PYTHONPATH, HF_HUB_OFFLINE, and
the role of the task); the command line a task runs is the submitting command's own, whose
parameters never hold a password (:mod:`frenk.core.secret_params`)."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError
from .options import SlurmOptions

log = logging.getLogger(__name__)

ROLE_ENV = "FRENK_SLURM_ROLE"
PARENT_ENV = "FRENK_SLURM_PARENT_RUN"
FOLDER_ENV = "FRENK_SLURM_FOLDER"
#: the roles of a task: one seed of the array, the task after it that finishes the parent, a tune worker,
#: main's compare after every training
ROLES = ("seed", "finish", "tune", "compare")


@dataclass(frozen=True)
class Task:
    """A task of a fan-out, as its environment tells it."""

    role: str
    parent_run_id: str
    folder: Path
    index: int
    job: str  #: ``<array job>_<index>`` (squeue's name of an array task), or the job id

    @property
    def restarted(self) -> bool:
        return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0) > 0


def current_task() -> Task | None:
    """The task this process is, or None on a login node (or anywhere outside a fan-out)."""
    role = os.environ.get(ROLE_ENV, "")
    if role not in ROLES or (role != "tune" and not os.environ.get(PARENT_ENV)):
        return None
    array, index = os.environ.get("SLURM_ARRAY_JOB_ID", ""), os.environ.get("SLURM_ARRAY_TASK_ID", "")
    job = f"{array}_{index}" if array and index else os.environ.get("SLURM_JOB_ID", "")
    return Task(role, os.environ.get(PARENT_ENV, ""), Path(os.environ.get(FOLDER_ENV, ".")), int(index or 0), job)


def slurm_tags(task: Task) -> dict[str, str]:
    """The short names (:func:`frenk.tracking.runs.frenk_tags`) of a seed run's Slurm tags."""
    return {"slurm_job": task.job, "slurm_array_index": str(task.index)}


def job_script(options: SlurmOptions, command: list[str], name: str) -> str:
    """The batch script of every task: the modules, then ``command`` in the submitting folder; a
    SIGTERM (preemption, scancel) reaches it as frenk's orderly stop, and the warning before the time
    limit (USR1) stops it the same way and requeues the task, which continues where it stopped."""
    modules = "".join(f"module load {shlex.quote(m)}\n" for m in options.modules)
    return f"""#!/bin/bash
#SBATCH --job-name={name}
{modules}cd {shlex.quote(os.getcwd())} || exit 1
unset MLFLOW_RUN_ID
{shlex.join(command)} &
child=$!
requeue=
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'requeue=1; kill -TERM "$child" 2>/dev/null' USR1
rc=0; wait "$child" || rc=$?
while kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done
if [ -n "$requeue" ]; then scontrol requeue "$SLURM_JOB_ID"; fi
exit "$rc"
"""


def _sbatch_command(options: SlurmOptions, extra: list[str], logs: Path) -> list[str]:
    if shutil.which("sbatch") is None:
        raise ConfigError("slurm: sbatch is not on PATH; run the command on a login node of the cluster (or give "
                          "slurm= empty to train here)")
    logs.mkdir(parents=True, exist_ok=True)
    return ["sbatch", "--parsable", "--export=ALL", f"--output={logs}/%x-%A_%a.out", *options.sbatch_args(), *extra]


def after_all(jobs: list[str]) -> list[str]:
    """The sbatch options of a task that starts once every job of ``jobs`` has ended well (Slurm
    cancels it when one of them fails: it would wait for ever)."""
    return [f"--dependency=afterok:{':'.join(jobs)}", "--kill-on-invalid-dep=yes"] if jobs else []


def logs_of(folder: Path) -> Path:
    """Where the tasks of the fan-out ``folder`` write their output (``<job name>-<job>_<index>.out``)."""
    return folder.parent / "frenk-slurm-logs"


def _environment(role: str, parent_run_id: str, folder: Path) -> dict[str, str]:
    return {**os.environ, ROLE_ENV: role, PARENT_ENV: parent_run_id, FOLDER_ENV: str(folder)}


def submit(options: SlurmOptions, command: list[str], name: str, role: str, parent_run_id: str, folder: Path,
           extra: list[str]) -> str:
    """Submit the tasks of ``role`` running ``command``; returns the job id."""
    done = subprocess.run(_sbatch_command(options, extra, logs_of(folder)), input=job_script(options, command, name),
                          env=_environment(role, parent_run_id, folder), capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"slurm: sbatch refused the job: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip().split(";")[0]


def submit_and_wait(options: SlurmOptions, command: list[str], name: str, role: str, parent_run_id: str,
                    folder: Path, extra: list[str], announce: Callable[[str], None] | None = None) -> tuple[str, int]:
    """Submit one task and wait until it has ended (``sbatch --wait``); returns its job id (said, and
    given to ``announce``, as soon as it is known) and its exit status."""
    process = subprocess.Popen([*_sbatch_command(options, extra, logs_of(folder)), "--wait"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_environment(role, parent_run_id, folder))
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdin.write(job_script(options, command, name))
    process.stdin.close()
    job = process.stdout.readline().strip().split(";")[0]
    if job:
        log.info(f"submitted job {job} ({name}); waiting for it to end")
        if announce is not None:
            announce(job)
    status = process.wait()
    if not job:
        raise ConfigError(f"slurm: sbatch refused the job: {process.stderr.read().strip()}")
    return job, status
