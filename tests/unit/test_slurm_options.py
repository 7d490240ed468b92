"""The Slurm client's options and job script (frenk.cluster): what users write in the TOML file
reaches sbatch, a typo is refused before anything is submitted, and the script holds no secret."""

from __future__ import annotations

import pytest

from frenk.cluster import read_options
from frenk.cluster.sbatch import job_script
from frenk.core.errors import ConfigError


def test_the_options_file_becomes_sbatch_options(tmp_path):
    (tmp_path / "s.toml").write_text('partition = "gpu"\naccount = "lab"\ngpus_per_task = 1\ntime = "02:00:00"\n'
                                     'memory = "16G"\nparallelism = 4\nmodules = ["cuda/12.4"]\nextra = ["--qos=x"]\n')
    options = read_options(str(tmp_path / "s.toml"))
    assert options.sbatch_args() == ["--requeue", "--cpus-per-task=1", "--signal=B:USR1@120", "--partition=gpu",
                                     "--account=lab", "--gpus-per-task=1", "--time=02:00:00", "--mem=16G", "--qos=x"]
    assert options.parallelism == 4 and read_options("true").sbatch_args()[:2] == ["--requeue", "--cpus-per-task=1"]


@pytest.mark.parametrize("text, words", [('partitoin = "gpu"\n', "unknown keys ['partitoin']"),
                                         ('time = "two hours"\n', "not a Slurm time limit"),
                                         ('memory = "lots"\n', "not a Slurm memory size"),
                                         ('partition = "gpu; rm -rf ~"\n', "not a partition"),
                                         ("partition = \n", "not a TOML file")])
def test_a_bad_options_file_is_refused_saying_what_is_wrong(tmp_path, text, words):
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError, match="slurm=") as error:
        read_options(str(tmp_path / "s.toml"))
    assert words in str(error.value)
    with pytest.raises(ConfigError, match="no such file"):
        read_options(str(tmp_path / "missing.toml"))


def test_the_job_script_runs_the_command_with_no_secret_of_the_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("MLFLOW_RUN_ID", "0" * 32)
    script = job_script(read_options("true"), ["python", "entrypoints/train.py", "--model", "a b"], "frenk-x")
    assert "s3cret-pw" not in script and "unset MLFLOW_RUN_ID" in script
    assert "python entrypoints/train.py --model 'a b' &" in script and "scontrol requeue" in script


def test_a_task_after_others_waits_for_them_all_to_end_well_and_is_cancelled_when_one_fails():
    from frenk.cluster import after_all

    assert after_all(["12", "15"]) == ["--dependency=afterok:12:15", "--kill-on-invalid-dep=yes"]
    assert after_all([]) == []  # nothing to wait for (every training reused): no dependency
