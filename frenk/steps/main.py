"""The main step: the other steps as MLflow project runs, reusing finished ones."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from .. import tracking
from ..config import MainConfig
from ..errors import FrenkError


@dataclass
class StepRecord:
    step: str
    run_id: str
    reused: bool


def main(cfg: MainConfig) -> list[StepRecord]:
    """preprocess -> train (each model, repeats) -> compare -> publish, as separate MLflow runs.

    Each step is reused when a finished run of the same entry point, parameters, data digest
    and code version exists, so a rerun after a failure continues where it stopped.
    """
    import mlflow

    from ..provenance import code_version

    project = Path(__file__).resolve().parents[2]  # frenk/steps/main.py -> the checkout
    if not (project / "MLproject").is_file():
        raise FrenkError(f"main runs the project's entry points, but {project} holds no MLproject (install with pip install -e)")
    done: list[StepRecord] = []
    tags = tracking.frenk_tags(step="main", lang=cfg.lang, labels=cfg.labels)
    with tracking.step_run(f"main-{cfg.lang}-{cfg.labels}", tags) as main_run:
        experiment = main_run.info.experiment_id
        tracking.log_params({f.name: getattr(cfg, f.name) for f in fields(cfg)})

        def step(entry_point: str, params: dict, valid=lambda run: True, reuse_tags=None):
            previous = tracking.find_reusable(entry_point, params, experiment, reuse_tags)
            if previous is not None and valid(previous):
                print(f"[main] {entry_point}: reusing finished run {previous.info.run_id}")
                done.append(StepRecord(entry_point, previous.info.run_id, True))
                return previous
            print(f"[main] {entry_point}: running")
            run = tracking.run_entry_point(project, entry_point, params, experiment, main_run.info.run_id)
            done.append(StepRecord(entry_point, run.info.run_id, False))
            return run

        data_dir = Path(cfg.data_dir).resolve()

        def data_still_there(run) -> bool:
            from ..data import load_prepared

            try:
                return load_prepared(data_dir).data_digest == run.data.tags.get("frenk.data_digest")
            except FrenkError:
                return False

        prep = step("preprocess", {"lang": cfg.lang, "source": cfg.data, "labels": cfg.labels, "seed": cfg.seed,
                                   "output": data_dir}, valid=data_still_there)
        digest = prep.data.tags["frenk.data_digest"]
        group = f"main-{cfg.lang}-{cfg.labels}-{digest[:8]}-{code_version()[:8]}"
        name = f"frenk-{cfg.lang}"
        for model in cfg.model_list:
            step("train", {"model": model, "data": data_dir, "lang": cfg.lang, "labels": cfg.labels,
                           "repeats": cfg.repeats, "seed": cfg.seed, "group": group, "register": name},
                 reuse_tags={"frenk.data_digest": digest})
        group_runs = tracking.group_train_runs(group, experiment)
        last_trained = max(r.info.end_time or 0 for r in group_runs)
        cmp = step("compare", {"group": group}, valid=lambda run: run.info.start_time >= last_trained,
                   reuse_tags={"frenk.data_digest": digest})
        report = tracking.load_report(cmp.info.run_id)
        exportable = [s for s in report["systems"] if s != "tfidf"]
        if not exportable:
            raise FrenkError("no transformer among the compared models: nothing to publish as a Hugging Face model")
        system = report["best_system"] if report["best_system"] in exportable else exportable[0]
        runs = {r.info.run_id for r in group_runs if r.data.tags.get("frenk.model") == system}
        version = tracking.version_of(name, runs)
        if version is None:
            raise FrenkError(f"no registered version of {name} for {system} in group {group}")
        output = Path(cfg.output).resolve()
        step("publish", {"name": name, "lang": cfg.lang, "version": version.version, "compare_run": cmp.info.run_id,
                         "output": output}, valid=lambda run: (output / "frenk_publish.json").is_file())
        mlflow.set_tags({"frenk.group": group, "frenk.steps": ",".join(f"{d.step}:{d.run_id}" for d in done)})
    reused = sum(d.reused for d in done)
    print(f"[main] done: {len(done)} steps, {reused} reused; published {system} ({name} version {version.version}) to {output}")
    return done
