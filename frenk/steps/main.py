"""The main step: the other steps as MLflow project runs, reusing finished ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

from ..config import MainConfig, PublishConfig
from ..core.checks import comma_list
from ..core.errors import FrenkError
from ..core.names import Tag
from ..core.provenance import code_version
from ..data import load_prepared
from ..publishing import exportable, system_to_publish
from ..tracking import experiments, projects, registry, results, runs, search
from .main_slurm import trained_on_slurm

log = logging.getLogger(__name__)

#: the checkout whose MLproject main runs (frenk/steps/main.py -> the checkout)
PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class StepRecord:
    step: str
    run_id: str
    reused: bool


class _Chain:
    """Runs entry points of the project under one main run, reusing finished runs."""

    def __init__(self, experiment: str, main_run_id: str):
        self.experiment, self.main_run_id = experiment, main_run_id
        self.done: list[StepRecord] = []

    def reused(self, entry_point: str, params: dict, valid=lambda run: True, reuse_tags=None):
        """The finished run of ``entry_point`` with these parameters to reuse (recorded), or None."""
        previous = search.find_reusable(entry_point, params, self.experiment, reuse_tags)
        if previous is None or not valid(previous):
            return None
        log.info(f"main: {entry_point}: reusing finished run {previous.info.run_id}")
        self.record(entry_point, previous.info.run_id, True)
        return previous

    def record(self, entry_point: str, run_id: str, reused: bool = False) -> None:
        self.done.append(StepRecord(entry_point, run_id, reused))

    def step(self, entry_point: str, params: dict, valid=lambda run: True, reuse_tags=None, launch=None):
        """The step's run: a finished one reused, else ``entry_point`` run now with ``params`` and
        ``launch`` (parameters that do not change what it computes, such as where it runs)."""
        previous = self.reused(entry_point, params, valid, reuse_tags)
        if previous is not None:
            return previous
        log.info(f"main: {entry_point}: running")
        run = projects.run_entry_point(PROJECT, entry_point, {**params, **(launch or {})}, self.experiment,
                                       self.main_run_id)
        self.done.append(StepRecord(entry_point, run.info.run_id, False))
        return run


@dataclass
class Publication:
    """What main's publish step did, from the registry after it: whether the alias now holds the
    version main asked for, and otherwise the publish run's own reason (its description)."""

    system: str
    name: str
    asked: str  #: the version main asked publish to promote
    champion: str | None  #: the version the alias holds after publish
    publish_note: str  #: the publish run's description
    output: Path

    @property
    def promoted(self) -> bool:
        return self.champion == self.asked

    def _reason(self) -> str:
        return self.publish_note.strip().rstrip(".") or "the publish run gave no reason"

    def line(self) -> str:
        """The end of main's last line."""
        if self.promoted:
            return f"published {self.system} ({self.name} version {self.asked}) to {self.output}"
        stays = f"version {self.champion}" if self.champion else "no version"
        return (f"published nothing: {self.system} ({self.name} version {self.asked}) was not promoted "
                f"({self._reason()}); @{PublishConfig.alias} stays on {stays}")

    def markdown(self, choice: str) -> str:
        """The beginning of the main run's description."""
        link = results.version_link(self.name, self.asked)
        if self.promoted:
            return f"Published **{self.system}** ({link}): {choice}."
        stays = f"version {self.champion}" if self.champion else "no version"
        return (f"Published nothing: **{self.system}** ({link}) was chosen ({choice}) but not promoted: "
                f"{self._reason()}. `@{PublishConfig.alias}` stays on {stays}.")


def _data_still_there(data_dir: Path):
    def valid(run) -> bool:
        try:
            return load_prepared(data_dir).data_digest == run.data.tags.get(Tag.DATA_DIGEST)
        except FrenkError:
            return False

    return valid


def _tune_transformers(chain: _Chain, cfg: MainConfig, data_dir: Path, digest: str) -> dict[str, str]:
    """Tune every transformer of ``cfg.models`` with the same budget (its bundled 3 x 3 space,
    ``cfg.tune_seeds`` seeds per configuration), so that no tuned system is compared with untuned
    ones; {model: tune run id}."""
    models = [m for m in cfg.model_list if exportable(m)]
    if not models:
        raise FrenkError(f"tune=true needs a transformer among models={cfg.models!r}; "
                         "the TF-IDF baseline has nothing to tune")
    tuned = {}
    for model in models:
        run = chain.step("tune", {"model": model, "data": data_dir, "lang": cfg.lang, "labels": cfg.labels,
                                  "seed": cfg.seed, "seeds": cfg.tune_seeds}, reuse_tags={Tag.DATA_DIGEST: digest},
                         launch={"slurm": cfg.slurm} if cfg.slurm else None)
        tuned[model] = run.info.run_id
    return tuned


def _publish(chain: _Chain, cfg: MainConfig, system: str, name: str, version: str, compare_run_id: str) -> Publication:
    """The publish step, and what it did as the registry has it afterwards."""
    output = Path(cfg.output).resolve()
    pub = chain.step("publish", {"name": name, "lang": cfg.lang, "version": version, "compare_run": compare_run_id,
                                 "output": output, "force": cfg.force},
                     valid=lambda run: (output / "frenk_publish.json").is_file())
    champion = registry.alias_version(name, PublishConfig.alias)
    return Publication(system, name, version, str(champion.version) if champion else None,
                       pub.data.tags.get(experiments.NOTE_TAG, ""), output)


def _evaluate_elsewhere(chain: _Chain, cfg: MainConfig, publication: Publication) -> None:
    """The published version evaluated on each language of ``cfg.evaluate`` (its data prepared from the
    same source, label scheme and seed into data_dir's folder of that language), each its own evaluate run."""
    langs = comma_list(cfg.evaluate)
    if not langs:
        return
    if not publication.promoted:
        log.info(f"main: evaluate={cfg.evaluate}: skipped, nothing was published")
        return
    home = Path(cfg.data_dir).resolve()
    for other in langs:
        folder = home.parent / other if home.name == cfg.lang else Path(f"{home}-{other}")
        prep = chain.step("preprocess", {"lang": other, "source": cfg.data, "labels": cfg.labels, "seed": cfg.seed,
                                         "output": folder}, valid=_data_still_there(folder))
        run = chain.step("evaluate", {"model": f"models:/{publication.name}/{publication.asked}", "data": folder},
                         reuse_tags={Tag.DATA_DIGEST: prep.data.tags[Tag.DATA_DIGEST]})
        m = run.data.metrics
        log.info(f"main: evaluated {publication.name} version {publication.asked} on {other} ({folder}): "
                 + (f"macro-F1 {m['test/macro_f1']:.4f}, accuracy {m['test/accuracy']:.4f}" if "test/macro_f1" in m
                    else "predictions only") + f", run {run.info.run_id}")


def _trained_here(chain: _Chain, trains: dict[str, dict], group: str, digest: str):
    """Each model's train step in turn, then compare; the compare run."""
    for params in trains.values():
        chain.step("train", params, reuse_tags={Tag.DATA_DIGEST: digest})
    return chain.step("compare", {"group": group}, valid=search.compared_after_training(group),
                      reuse_tags={Tag.DATA_DIGEST: digest})


def main(cfg: MainConfig) -> list[StepRecord]:
    """preprocess -> (tune) -> train (each model, repeats) -> compare -> publish, as separate MLflow runs.

    Each step is reused when a finished run of the same entry point, parameters, data digest
    and code version exists, so a rerun after a failure continues where it stopped.
    """
    if not (PROJECT / "MLproject").is_file():
        raise FrenkError(f"main runs the project's entry points, but {PROJECT} holds no MLproject "
                         "(install with pip install -e)")
    runs.start_step()
    tags = runs.frenk_tags(step="main", lang=cfg.lang, labels=cfg.labels)
    with runs.step_run(f"main-{cfg.lang}-{cfg.labels}", tags, lang=cfg.lang, labels=cfg.labels) as main_run:
        chain = _Chain(main_run.info.experiment_id, main_run.info.run_id)
        runs.log_params({f.name: getattr(cfg, f.name) for f in fields(cfg)})
        data_dir = Path(cfg.data_dir).resolve()
        prep = chain.step("preprocess", {"lang": cfg.lang, "source": cfg.data, "labels": cfg.labels, "seed": cfg.seed,
                                         "output": data_dir}, valid=_data_still_there(data_dir))
        digest = prep.data.tags[Tag.DATA_DIGEST]
        group = f"main-{cfg.lang}-{cfg.labels}-{digest[:8]}-{code_version()[:8]}"
        name = f"frenk-{cfg.lang}"
        tuned = _tune_transformers(chain, cfg, data_dir, digest) if cfg.tune else {}
        trains = {model: {"model": model, "data": data_dir, "lang": cfg.lang, "labels": cfg.labels,
                          "repeats": cfg.repeats, "seed": cfg.seed, "group": group, "register": name,
                          **({"params": tuned[model]} if model in tuned else {})} for model in cfg.model_list}
        cmp = (trained_on_slurm(chain, PROJECT, cfg, trains, group, digest) if cfg.slurm
               else _trained_here(chain, trains, group, digest))
        group_runs = search.group_train_runs(group)
        report = search.load_report(cmp.info.run_id)
        system = system_to_publish(report)  # by mean validation score over seeds, never by test
        log.info(f"main: publishing {system}: {report.choice_text}")
        version = registry.version_of(name, {r.info.run_id for r in group_runs
                                             if r.data.tags.get(Tag.MODEL) == system})
        if version is None:
            raise FrenkError(f"no registered version of {name} for {system} in group {group}")
        outcome = _publish(chain, cfg, system, name, str(version.version), cmp.info.run_id)
        _evaluate_elsewhere(chain, cfg, outcome)
        runs.set_tags({Tag.GROUP: group, Tag.STEPS: ",".join(f"{d.step}:{d.run_id}" for d in chain.done)})
        results.describe(f"{outcome.markdown(report.choice_text)} Steps: "
                         + ", ".join(f"{d.step} {results.run_link(d.run_id)}" + (" (reused)" if d.reused else "")
                                     for d in chain.done) + ".")
    reused = sum(d.reused for d in chain.done)
    log.info(f"main: done: {len(chain.done)} steps, {reused} reused; {outcome.line()}")
    return chain.done
