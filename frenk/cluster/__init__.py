"""Fanning work out to Slurm with plain ``sbatch --array`` (no MLflow, no scheduler of our own):
the options (:mod:`.options`), the job script given on standard input and the submission
(:mod:`.sbatch`), and what a task knows about itself (:class:`Task`, from its environment)."""

from .options import SlurmOptions, read_options
from .sbatch import Task, after_all, current_task, logs_of, slurm_tags, submit, submit_and_wait

__all__ = ["SlurmOptions", "Task", "after_all", "current_task", "logs_of", "read_options", "slurm_tags", "submit",
           "submit_and_wait"]
