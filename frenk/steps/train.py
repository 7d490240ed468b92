"""The train step: seeds as (child) runs, the kept weights, the registry."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from .. import tracking
from ..config import TrainConfig
from ..data import PreparedData, PreprocessOptions, load_or_prepare
from ..errors import ConfigError, ModelError
from ..labels import scheme
from ..training import EpochListener, TrainSettings


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

    from .. import models

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
        # what the run really used (epochs=0 etc. mean "the preset's"; under `mlflow run` the
        # given values are already logged and cannot change)
        "resolved_epochs": settings.epochs, "resolved_learning_rate": settings.learning_rate,
        "resolved_batch_size": settings.batch_size,
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

    from .. import models, training

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
