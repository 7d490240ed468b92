"""The end of a train step: the parent's summary and description, the registration of the best
seed (the run's last act), and the outcome with its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainConfig
from ..core.log import result
from ..core.names import Metric, Tag
from ..publishing import registry_alias
from ..tracking import registry, results, runs
from ..tracking.listeners import LoggedSeeds


@dataclass
class SeedRun:
    seed: int
    run_id: str
    metrics: dict
    val_macro_f1: float


@dataclass
class TrainOutcome:
    parent_run_id: str | None
    runs: list[SeedRun]
    best: SeedRun
    registered_version: str | None
    group: str


def finish(cfg: TrainConfig, model: str, fitted, logged: LoggedSeeds, tags: dict[str, str],
           nested: bool) -> str | None:
    """The parent's summary and description, then the registration: the last act of the run."""
    best_run_id = logged.run_ids[fitted.best.seed]
    if nested:
        results.log_summary(fitted.summary,
                            {Tag.BEST_RUN_ID: best_run_id, Tag.BEST_SEED: str(fitted.best.seed)})
        results.describe(results.train_description(model, cfg.lang, cfg.labels, fitted.summary,
                                                   fitted.best.seed, best_run_id, len(fitted.seeds)))
    return _register_best(cfg, fitted, logged, tags) if cfg.keep_models != "none" else None


def _register_best(cfg: TrainConfig, fitted, logged: LoggedSeeds, tags: dict[str, str]) -> str | None:
    """Store the best seed's weights in its run, register them and set ``candidate`` on the version."""
    seed = fitted.best.seed
    run_id = logged.run_ids[seed]
    version = registry.register_best(fitted.best_model_dir, logged.model_uris.get(seed), run_id, cfg.register,
                                     reopen=cfg.repeats > 1)
    if version:
        metrics = fitted.best.result.evaluation.metrics
        digest = runs.frenk_tags(weights_sha256=fitted.best.result.weights_digest)
        version_tags = {**tags, **digest, Tag.SEED: str(seed), Tag.RUN_ID: run_id}
        registry.set_candidate(cfg.register, version, version_tags,
                               f"{tags[Tag.MODEL]} (seed {seed}, best of {len(fitted.seeds)} by validation "
                               "macro-F1): "
                               f"test macro-F1 {metrics[Metric.TEST_MACRO_F1]:.4f}; train run {run_id}",
                               alias=registry_alias(tags[Tag.MODEL], tags.get(Tag.KIND)))
    return version


def outcome(cfg: TrainConfig, model: str, fitted, run_ids: dict[int, str], version: str | None,
             parent_run_id: str | None) -> TrainOutcome:
    """Print the one-line summary of a training and return its outcome."""
    done = [SeedRun(r.seed, run_ids[r.seed], r.result.evaluation.metrics, r.selection_score) for r in fitted.seeds]
    best = next(r for r in done if r.seed == fitted.best.seed)
    _report(cfg, model, done, best, version)
    return TrainOutcome(parent_run_id, done, best, version, cfg.group)


def _report(cfg: TrainConfig, model: str, done: list[SeedRun], best: SeedRun, version: str | None) -> None:
    result(
        f"trained {model} on {cfg.lang}/{cfg.labels} with seeds {[r.seed for r in done]}: test macro-F1 "
        + ", ".join(f"{r.metrics[Metric.TEST_MACRO_F1]:.4f}" for r in done)
        + f"; best seed {best.seed} (validation macro-F1 {best.val_macro_f1:.4f})"
        + (f"; registered {cfg.register} version {version} as {registry_alias(model)}" if version else "")
    )
