"""The steps behind the entry points: library work plus tracking, one function each.

Each function takes a typed config and returns a result; the entry points only parse
options into the config and call one of these.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from . import tracking
from .config import CompareConfig, MainConfig, PreprocessConfig, PublishConfig, TrainConfig, TuneConfig
from .data import PreparedData, PreprocessOptions, load_or_prepare, prepare, write_prepared
from .errors import ConfigError, FrenkError, ModelError
from .labels import scheme
from .training import EpochListener, TrainSettings


@dataclass
class PreprocessResult:
    data: PreparedData
    output: Path
    run_id: str


def preprocess(cfg: PreprocessConfig) -> PreprocessResult:
    """Prepare the data, write it (all or nothing) and log the run."""
    options = PreprocessOptions(**{f.name: getattr(cfg, f.name) for f in fields(PreprocessOptions)})
    data = prepare(options)  # validates everything before anything is written or logged
    tags = tracking.frenk_tags(step="preprocess", lang=cfg.lang, labels=cfg.labels, data_digest=data.data_digest)
    with tracking.step_run(f"preprocess-{cfg.lang}-{cfg.labels}", tags) as run:
        output = write_prepared(data, cfg.output)
        tracking.log_preprocess(data, output)
    print(f"prepared {data.manifest['rows']} rows into {output} (data digest {data.data_digest[:12]}, run {run.info.run_id})")
    return PreprocessResult(data=data, output=output, run_id=run.info.run_id)


def tune(cfg: TuneConfig) -> None:
    """Hyperparameter search: declared in MLproject, not implemented yet."""
    raise FrenkError("the tune step is not implemented yet; use the train step with explicit hyperparameters")


# ---------------------------------------------------------------- train


@dataclass
class SeedRun:
    seed: int
    run_id: str
    metrics: dict
    val_macro_f1: float
    model_uri: str | None = None
    model_dir: Path | None = None


@dataclass
class TrainOutcome:
    parent_run_id: str | None
    runs: list[SeedRun]
    best: SeedRun
    registered_version: str | None
    group: str


def _hyperparameters(cfg: TrainConfig, spec) -> TrainSettings:
    preset = spec.preset
    return TrainSettings(
        epochs=cfg.epochs or (preset.epochs if preset else 3),
        learning_rate=cfg.learning_rate or (preset.learning_rate if preset else 2e-5),
        batch_size=cfg.batch_size or (preset.batch_size if preset and preset.batch_size else 32),
        max_length=cfg.max_length,
        seed=cfg.seed,
        precision=cfg.precision,
        device_batch_size=cfg.device_batch_size,
    )


def _load_training_data(cfg: TrainConfig) -> PreparedData:
    data = load_or_prepare(cfg.data, PreprocessOptions(lang=cfg.lang, labels=cfg.labels))
    params = data.manifest["parameters"]
    if params["labels"] != cfg.labels or params["lang"] != cfg.lang:
        raise ConfigError(
            f"{cfg.data} was prepared for lang={params['lang']} labels={params['labels']}, but the run asks for "
            f"lang={cfg.lang} labels={cfg.labels}; pass matching lang/labels or preprocess again"
        )
    return data


def train(cfg: TrainConfig, listeners: Sequence[EpochListener] = ()) -> TrainOutcome:
    """Train ``cfg.repeats`` seeds (child runs of one parent when more than one), keep the
    weights asked for, register the best seed's model with alias ``candidate``.

    ``listeners`` receive ``(epoch, validation metrics)`` after every epoch, besides MLflow.
    Every temporary folder is removed when the step ends, also when it fails.
    """
    from transformers.utils import logging as hf_logging

    from . import models

    hf_logging.disable_progress_bar()
    spec = models.resolve(cfg.model)  # unknown preset / model not found: before anything else
    tracking.configure()  # tracking server not reachable: before training
    data = _load_training_data(cfg)
    id2label = scheme(cfg.labels).id2label
    if spec.kind == "transformer":
        models.check_head(spec.source, id2label)
    settings = _hyperparameters(cfg, spec)
    seeds = [cfg.seed + i for i in range(cfg.repeats)]
    base_tags = tracking.frenk_tags(
        step="train", model=spec.name, model_id=spec.source or spec.kind, lang=cfg.lang, labels=cfg.labels,
        data_digest=data.data_digest, group=cfg.group, data_source=data.manifest["source"][:500],
    )
    params = {
        **{f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name != "args"},
        "epochs": settings.epochs, "learning_rate": settings.learning_rate, "batch_size": settings.batch_size,
    }
    work_root = Path(tempfile.mkdtemp(prefix="frenk-train-"))
    try:
        if cfg.repeats == 1:
            with tracking.step_run(f"{spec.name}-{cfg.lang}-s{cfg.seed}", {**base_tags, "frenk.seed": str(cfg.seed)}):
                runs = [_train_seed(cfg, spec, data, settings, cfg.seed, params, work_root, listeners, nested=False)]
                best = runs[0]
                version = _keep_models(cfg, runs, best, base_tags, work_root, reopen=False)
                parent_id = None
        else:
            with tracking.step_run(f"{spec.name}-{cfg.lang}-{cfg.repeats}seeds", {**base_tags, "frenk.repeats": str(cfg.repeats)}) as parent:
                tracking.log_params({**params, "seeds": ",".join(map(str, seeds))})
                runs = []
                for seed in seeds:
                    runs.append(_train_seed(cfg, spec, data, settings, seed, params, work_root, listeners, nested=True))
                    _prune(cfg, runs, work_root)
                best = max(runs, key=lambda r: r.val_macro_f1)  # validation, never test
                version = _keep_models(cfg, runs, best, base_tags, work_root, reopen=True)
                tracking.log_summary(_summary(runs), {"frenk.best_run_id": best.run_id, "frenk.best_seed": str(best.seed)})
                parent_id = parent.info.run_id
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    print(
        f"trained {spec.name} on {cfg.lang}/{cfg.labels} with seeds {seeds}: test macro-F1 "
        + ", ".join(f"{r.metrics['test_macro_f1']:.4f}" for r in runs)
        + f"; best seed {best.seed} (validation macro-F1 {best.val_macro_f1:.4f})"
        + (f"; registered {cfg.register} version {version} as candidate" if version else "")
    )
    return TrainOutcome(parent_id, runs, best, version, cfg.group)


def _train_seed(cfg, spec, data, base: TrainSettings, seed: int, params: dict, work_root: Path, listeners, nested: bool) -> SeedRun:
    from dataclasses import replace

    from . import models, training

    settings = replace(base, seed=seed)
    work = work_root / f"seed-{seed}"
    work.mkdir()
    run_tags = tracking.frenk_tags(seed=seed)

    def body() -> SeedRun:
        import mlflow

        run_id = mlflow.active_run().info.run_id
        tracking.log_params({**params, "seed": seed, "model_source": spec.source or spec.kind})
        tracking.log_prepared_inputs(data)
        hooks = [tracking.epoch_logger, *listeners]
        if spec.kind == "tfidf":
            result = training.train_tfidf(data, settings, work, hooks)
        else:
            source = spec.source
            if spec.kind == "tiny":
                source = str(models.build_tiny(data.splits["train"]["text"].tolist(), scheme(cfg.labels).id2label, work / "base", seed=seed))
            result = training.train_transformer(source, data, settings, work, hooks)
        tracking.log_train_result(result)
        if not result.reload_identical:
            raise ModelError(
                f"the saved model predicts differently after reloading (max probability difference "
                f"{result.reload_max_prob_diff:.2e}); the run is marked failed"
            )
        seed_run = SeedRun(seed, run_id, result.evaluation.metrics, result.validation["val_macro_f1"], model_dir=result.model_dir)
        if cfg.keep_models == "all" and cfg.repeats > 1:
            seed_run.model_uri = tracking.log_model(result.model_dir, None).model_uri
        return seed_run

    if not nested:
        import mlflow

        mlflow.set_tags(run_tags)
        return body()
    with tracking.step_run(f"{spec.name}-{cfg.lang}-s{seed}", {**_parent_tags(), **run_tags}, nested=True):
        return body()


def _parent_tags() -> dict[str, str]:
    import mlflow

    tags = mlflow.get_run(mlflow.active_run().info.run_id).data.tags
    return {k: v for k, v in tags.items() if k.startswith(tracking.TAG_PREFIX) and k != "frenk.repeats"}


def _prune(cfg: TrainConfig, runs: list[SeedRun], work_root: Path) -> None:
    """Keep on disk only the weights that will be logged: the best seed's so far (or none)."""
    best = max(runs, key=lambda r: r.val_macro_f1)
    for r in runs:
        if r is best and cfg.keep_models != "none" and not r.model_uri:
            continue
        shutil.rmtree(work_root / f"seed-{r.seed}", ignore_errors=True)


def _keep_models(cfg, runs: list[SeedRun], best: SeedRun, base_tags: dict, work_root: Path, reopen: bool) -> str | None:
    if cfg.keep_models == "none":
        return None
    if best.model_uri and cfg.register:
        version = tracking.register(best.model_uri, cfg.register).version
    elif best.model_uri:
        return None
    else:
        if reopen:
            with tracking.resume_run(best.run_id):
                info = tracking.log_model(best.model_dir, cfg.register or None)
        else:
            info = tracking.log_model(best.model_dir, cfg.register or None)
        best.model_uri = info.model_uri
        version = info.registered_model_version
        shutil.rmtree(work_root / f"seed-{best.seed}", ignore_errors=True)
    if not cfg.register:
        return None
    tracking.set_candidate(cfg.register, version, {**base_tags, "frenk.seed": str(best.seed), "frenk.run_id": best.run_id})
    return str(version)


def _summary(runs: list[SeedRun]) -> dict[str, float]:
    import numpy as np

    out = {}
    keys = [k for k in runs[0].metrics if k.startswith("test_")]
    for key in keys:
        values = np.array([r.metrics[key] for r in runs], dtype=float)
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


# ---------------------------------------------------------------- compare


@dataclass
class CompareOutcome:
    report: dict
    markdown: str
    run_id: str


def compare(cfg: CompareConfig) -> CompareOutcome:
    """Read the train runs, run the tests the design calls for, print and log the report."""
    from . import plots
    from .comparison import CompareOptions, build_report, render_markdown

    tracking.configure()
    records = tracking.train_runs(cfg.experiment, cfg.group, cfg.filter, cfg.by)
    opts = CompareOptions(metrics=cfg.metric_list, baseline=cfg.baseline or None, alpha=cfg.alpha,
                          allow_mixed_data=cfg.allow_mixed_data)
    build_report(records, opts)  # bad input fails here, before anything is downloaded or logged
    systems = sorted({r.system for r in records if not r.is_parent})
    predictions, best = tracking.best_run_predictions(records, systems)
    report = build_report(records, opts, predictions, best)
    report["selection"] = {"group": cfg.group, "filter": cfg.filter, "by": cfg.by, "experiment": cfg.experiment}
    markdown = render_markdown(report)
    figures = {}
    for metric, by_system in report["descriptives"].items():
        figures[f"plots/{metric}_by_system.png"] = plots.scores_by_system({s: d["values"] for s, d in by_system.items()}, metric)
        if metric in report["friedman"]:
            f = report["friedman"][metric]
            figures[f"plots/{metric}_critical_difference.png"] = plots.critical_difference(
                f["average_ranks"], f["critical_difference"], f"{metric}: average ranks (Nemenyi CD)")
    digests = report["data_digests"]
    tags = tracking.frenk_tags(step="compare", group=cfg.group or None, data_digest=digests[0] if len(digests) == 1 else None)
    with tracking.step_run(f"compare-{cfg.group or 'filter'}", tags) as run:
        params = {f.name: getattr(cfg, f.name) for f in fields(cfg)}
        tracking.log_compare(report, markdown, figures, params)
    print(markdown)
    print(f"compare run {run.info.run_id}")
    return CompareOutcome(report, markdown, run.info.run_id)


# ---------------------------------------------------------------- publish


@dataclass
class PublishOutcome:
    name: str
    version: str
    output: Path
    run_id: str
    forced: bool
    reason: str


_HYPERPARAMETERS = ("epochs", "learning_rate", "batch_size", "per_device_batch_size", "gradient_accumulation_steps",
                    "max_length", "resolved_precision", "labels")


def publish(cfg: PublishConfig) -> PublishOutcome:
    """Gate, export, card, promote (and push): in that order, so a refusal changes nothing."""
    import datetime
    import json

    from . import hub
    from .publishing import gate, model_card

    tracking.configure()
    if cfg.push:
        hub.check_push(cfg.repo_id)  # no token / no network: fail before anything changes
    mv = tracking.model_version(cfg.name, cfg.version)
    version = str(mv.version)
    run = tracking.get_run(mv.run_id)
    tags = run.data.tags
    system = tags.get("frenk.model", "?")
    if system == "tfidf":
        raise FrenkError(
            f"{cfg.name} version {version} is the TF-IDF baseline: only transformer models can be exported as a "
            "Hugging Face model folder; publish a transformer's version with -P version=<n>"
        )
    report, compare_run_id = tracking.compare_report(cfg.compare_run, system, run.info.experiment_id)
    champion = tracking.alias_version(cfg.name, cfg.alias)
    other_champion = champion is not None and str(champion.version) != version
    decision = gate(report, system, has_champion=other_champion)
    if not decision.allowed and not cfg.force:
        raise FrenkError(f"refusing to promote {cfg.name} version {version} ({system}): {decision.reason}")

    seeds = sorted(tracking.seed_runs(run), key=lambda r: int(r.data.tags.get("frenk.seed", 0)))
    params = run.data.params
    synthetic = params.get("data") == "sample" or "synthetic sample" in tags.get("frenk.data_source", "")
    out = Path(cfg.output)
    if out.exists() and any(out.iterdir()) and not (out / "frenk_publish.json").is_file():
        raise FrenkError(f"output {out} is a non-empty folder that holds no earlier publication; choose another output")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        folder = _export(cfg, version, staging)
        id2label = json.loads((folder / "config.json").read_text())["id2label"]
        info = {
            "name": cfg.name, "version": version, "lang": tags.get("frenk.lang", cfg.lang), "labels": tags.get("frenk.labels"),
            "id2label": {int(k): v for k, v in id2label.items()}, "system": system,
            "base_model": tags.get("frenk.model_id") if "/" in tags.get("frenk.model_id", "") else None,
            "data_source": tags.get("frenk.data_source", params.get("data", "?")), "data_digest": tags.get("frenk.data_digest"),
            "synthetic": synthetic,
            "hyperparameters": {k: params[k] for k in _HYPERPARAMETERS if k in params},
            "published": {"run_id": run.info.run_id, "seed": tags.get("frenk.seed"), "metrics": dict(run.data.metrics)},
            "seeds": [{"run_id": r.info.run_id, "seed": r.data.tags.get("frenk.seed"), "metrics": dict(r.data.metrics)} for r in seeds],
            "report": report, "compare_run_id": compare_run_id, "repo_id": cfg.repo_id,
            "max_length": int(params.get("max_length", 128)),
            "example": "Ovo je primjer komentara." if cfg.lang == "hr" else ("To je primer komentarja." if cfg.lang == "sl" else "This is an example comment."),
        }
        (folder / "README.md").write_text(model_card(info), encoding="utf-8")
        (folder / "frenk_publish.json").write_text(json.dumps(
            {"name": cfg.name, "version": version, "run_id": run.info.run_id, "compare_run_id": compare_run_id}, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        folder.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    today = datetime.date.today().isoformat()
    version_tags = {
        "frenk.promoted_on": today, "frenk.compare_run": compare_run_id, "frenk.gate": decision.reason[:4000],
        "frenk.published_to": str(out.resolve()),
    }
    if not decision.allowed:
        version_tags["frenk.forced"] = "true"
    pub_tags = tracking.frenk_tags(step="publish", model=system, lang=info["lang"], labels=info["labels"],
                                   data_digest=info["data_digest"], group=tags.get("frenk.group"))
    with tracking.step_run(f"publish-{cfg.name}-v{version}", pub_tags) as prun:
        tracking.log_params({f.name: getattr(cfg, f.name) for f in fields(cfg)})
        tracking.log_publication(out, {"frenk.model_version": version, "frenk.compare_run": compare_run_id,
                                       "frenk.forced": str(not decision.allowed).lower()})
        tracking.promote(cfg.name, version, cfg.alias, version_tags, champion, today)
        if cfg.push:
            print(f"pushed to {hub.push_folder(out, cfg.repo_id)}")
    verb = "forced" if not decision.allowed else "promoted"
    print(f"{verb} {cfg.name} version {version} ({system}) to alias {cfg.alias}: {decision.reason}; Hugging Face folder in {out}")
    return PublishOutcome(cfg.name, version, out, prun.info.run_id, not decision.allowed, decision.reason)


def _export(cfg: PublishConfig, version: str, staging: Path) -> Path:
    """Copy the registered model's Hugging Face folder and check that it loads exactly and predicts."""
    from transformers import AutoTokenizer, pipeline

    from .models import load_classifier

    source = tracking.download_model(cfg.name, version, staging / "download")
    folder = staging / "model"
    shutil.copytree(source, folder)
    model = load_classifier(str(folder), fine_tuned=True)  # any weight mismatch is an error
    classify = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(str(folder)))
    labels = set(model.config.id2label.values())
    if classify(["check"])[0]["label"] not in labels:
        raise ModelError(f"the exported model predicts labels outside {sorted(labels)}")
    return folder


# ---------------------------------------------------------------- main


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

    from .provenance import code_version

    project = Path(__file__).resolve().parent.parent
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
            from .data import load_prepared

            try:
                return load_prepared(data_dir).data_digest == run.data.tags.get("frenk.data_digest")
            except FrenkError:
                return False

        prep = step("preprocess", {"lang": cfg.lang, "source": cfg.data, "labels": cfg.labels, "seed": cfg.seed,
                                   "output": data_dir}, valid=data_still_there)
        digest = prep.data.tags["frenk.data_digest"]
        group = f"main-{cfg.lang}-{cfg.labels}-{digest[:8]}-{code_version()[:8]}"
        name = f"frenk-{cfg.lang}"
        trained = []
        for model in cfg.model_list:
            trained.append(step("train", {"model": model, "data": data_dir, "lang": cfg.lang, "labels": cfg.labels,
                                          "repeats": cfg.repeats, "seed": cfg.seed, "group": group, "register": name},
                                reuse_tags={"frenk.data_digest": digest}))
        last_trained = max(r.info.end_time or 0 for r in tracking.group_train_runs(group, experiment))
        cmp = step("compare", {"group": group}, valid=lambda run: run.info.start_time >= last_trained,
                   reuse_tags={"frenk.data_digest": digest})
        report, _ = tracking.compare_report(cmp.info.run_id, cmp.data.tags["frenk.systems"].split(",")[0], experiment)
        exportable = [s for s in report["systems"] if s != "tfidf"]
        if not exportable:
            raise FrenkError("no transformer among the compared models: nothing to publish as a Hugging Face model")
        system = report["best_system"] if report["best_system"] in exportable else exportable[0]
        runs = {r.info.run_id for r in tracking.group_train_runs(group, experiment) if r.data.tags.get("frenk.model") == system}
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
