"""main on Slurm, its decisions with the tracking store and Slurm stubbed: compare waits for every
training's finishing job, and is never submitted when a training failed before it had one."""

from __future__ import annotations

import types

import pytest

from frenk.core.errors import FrenkError
from frenk.steps import main_slurm


class _Chain:
    experiment, main_run_id = "1", "main"

    def __init__(self):
        self.done = []

    def reused(self, *args, **kwargs):
        return None

    def record(self, step, run_id, reused=False):
        self.done.append((step, run_id))


def _stubbed(monkeypatch, finishing: dict[str, str | None], failing: set[str]):
    submitted = []
    monkeypatch.setattr(main_slurm.cluster, "read_options", lambda value: main_slurm.cluster.SlurmOptions())
    monkeypatch.setattr(main_slurm.projects, "start_entry_point",
                        lambda project, ep, params, experiment: types.SimpleNamespace(run_id=params["model"]))
    monkeypatch.setattr(main_slurm.projects, "ended", lambda s: finishing[s.run_id] is None)
    monkeypatch.setattr(main_slurm.runs, "run_tag", lambda run_id, tag: finishing[run_id])

    def wait(s, entry_point, main_run_id):
        if s.run_id in failing:
            raise FrenkError(f"the {entry_point} step failed")
        return types.SimpleNamespace(info=types.SimpleNamespace(run_id=s.run_id))

    monkeypatch.setattr(main_slurm.projects, "wait_entry_point", wait)
    monkeypatch.setattr(main_slurm.cluster, "submit_and_wait",
                        lambda options, command, name, role, parent, folder, extra: submitted.append(extra) or ("9", 0))
    run = types.SimpleNamespace(info=types.SimpleNamespace(run_id="cmp"))
    monkeypatch.setattr(main_slurm.search, "find_reusable", lambda *args: run)
    monkeypatch.setattr(main_slurm.projects, "tag_main_run", lambda run_id, main_run_id: run)
    return submitted


def test_compare_is_a_task_after_every_training_s_finishing_job(monkeypatch):
    submitted = _stubbed(monkeypatch, {"tiny": "11", "tfidf": "14"}, set())
    chain = _Chain()
    cfg = types.SimpleNamespace(slurm="true", lang="hr", labels="binary")
    trains = {m: {"model": m} for m in ("tiny", "tfidf")}
    assert main_slurm.trained_on_slurm(chain, ".", cfg, trains, "g", "d").info.run_id == "cmp"
    assert submitted == [["--dependency=afterok:11:14", "--kill-on-invalid-dep=yes"]]
    assert sorted(chain.done) == [("compare", "cmp"), ("train", "tfidf"), ("train", "tiny")]


def test_a_training_that_failed_before_its_finishing_job_is_the_error_and_compare_never_runs(monkeypatch):
    submitted = _stubbed(monkeypatch, {"tiny": None, "tfidf": "14"}, {"tiny"})
    cfg = types.SimpleNamespace(slurm="true", lang="hr", labels="binary")
    with pytest.raises(FrenkError, match=r"the train \(tiny\) step failed"):
        main_slurm.trained_on_slurm(_Chain(), ".", cfg, {m: {"model": m} for m in ("tiny", "tfidf")}, "g", "d")
    assert submitted == []  # no compare of tfidf alone
