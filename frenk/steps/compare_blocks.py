"""The compare step across data sets: ``group=<g1>,<g2>,...``, each group a block with its own
test split; a report per block at alpha / blocks, then Friedman, Nemenyi and the replication
count across them (:mod:`frenk.comparison.blocks`), logged on one compare run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace

from ..comparison import CompareOptions, ComparisonReport, build_report, check_comparable
from ..comparison.blocks import BLOCK_CORRECTION, BlockAnalysis, analyse_blocks, to_markdown
from ..comparison.tables import block_table
from ..config import CompareConfig
from ..core.errors import FrenkError
from ..core.log import result
from ..team import access
from ..tracking import block_results, experiments, looks, runs, search

log = logging.getLogger(__name__)

#: metrics every train run logs at the top level (others are read from its results table)
TOP_LEVEL = {"accuracy", "macro_f1"}


@dataclass
class BlocksOutcome:
    analysis: BlockAnalysis
    reports: dict[str, ComparisonReport]
    markdown: str
    run_id: str | None


def _block(cfg: CompareConfig, group: str, opts: CompareOptions):
    """One block's records and usable samples; bad input names the block."""
    records = search.train_runs(cfg.experiment, group, cfg.filter, cfg.by)
    if not set(opts.metrics) <= TOP_LEVEL:
        search.add_results_tables([r for r in records if r.status == "FINISHED"])
    try:
        samples, _, _ = check_comparable(records, opts)
    except FrenkError as exc:
        raise FrenkError(f"block {group}: {exc}") from None
    search.add_results_tables([r for runs_ in samples.values() for r in runs_])
    return records, samples


def _look(opts: CompareOptions, samples, fallback: str) -> CompareOptions:
    """The block's options at its look, read from the compare runs of its own experiment (a
    comparison across blocks spends each block's look but adds none)."""
    used = {r.experiment_id for s in samples.values() for r in s}
    where = used.pop() if len(used) == 1 and None not in used else fallback
    digests = {r.data_digest for s in samples.values() for r in s}
    look, _, _ = looks.count(where, samples, opts.metrics[0], digests,
                             [r.run_id for s in samples.values() for r in s])
    return replace(opts, look=look)


def _analyse(cfg: CompareConfig, found: dict, opts: CompareOptions, target: str):
    reports = {}
    for group, (records, samples) in found.items():
        by_run = search.run_predictions(samples)
        predictions, best = search.best_run_predictions(samples, by_run)
        report = build_report(records, _look(opts, samples, target), predictions, best, by_run)
        reports[group] = replace(report, tuning=search.tuning_budgets(samples),
                                 selection={"group": group, "filter": cfg.filter, "by": cfg.by,
                                            "experiment": cfg.experiment, "blocks": ",".join(found)})
    analysis = analyse_blocks(reports, cfg.alpha)
    rule = (f"Each data set's verdicts at alpha / {len(reports)} ({BLOCK_CORRECTION} across the data sets). "
            "Average rank: over the data sets' mean scores on " + analysis.metric
            + (f" (Friedman p = {analysis.friedman.p:.3g}, Nemenyi CD = {analysis.friedman.critical_difference:.2f})."
               if analysis.friedman else "."))
    ranks = analysis.friedman.average_ranks if analysis.friedman else {}
    return analysis, reports, block_table(reports, analysis.systems, ranks, rule)


def compare_blocks(cfg: CompareConfig) -> BlocksOutcome:
    """Compare the systems within each group of ``cfg.groups`` and across them (see the module)."""
    runs.start_step()
    groups = cfg.groups
    opts = CompareOptions(metrics=cfg.metric_list, baseline=cfg.baseline or None, alpha=cfg.alpha / len(groups),
                          allow_mixed_data=cfg.allow_mixed_data, pairing=cfg.pairing,
                          min_difference=cfg.min_difference)
    found = {g: _block(cfg, g, opts) for g in groups}  # bad input fails here, before anything is logged
    common = set.intersection(*(set(samples) for _, samples in found.values()))
    if len(common) < 2:
        raise FrenkError(f"the blocks {', '.join(groups)} share {len(common)} system(s) ({', '.join(sorted(common))}"
                         "); a comparison across data sets needs at least two systems trained in every block")
    used = {r.experiment_id for _, samples in found.values() for s in samples.values() for r in s}
    target = (experiments.for_step(experiment_id=used.pop() if len(used) == 1 else None)
              or search.current_experiment_id())
    readable = access.read_only([("experiment", target)])
    if readable:
        analysis, reports, _ = _analyse(cfg, found, opts, target)
        markdown = to_markdown(analysis, reports)
        result(markdown)
        log.info(f"compare report not logged: you may only read {readable[0]}")
        return BlocksOutcome(analysis, reports, markdown, None)
    with runs.step_run(f"compare-{len(groups)}-datasets", runs.frenk_tags(step="compare", group=cfg.group),
                       experiment_id=target) as run:
        analysis, reports, table = _analyse(cfg, found, opts, target)
        markdown = to_markdown(analysis, reports)
        params = {f.name: getattr(cfg, f.name) for f in fields(cfg)}
        block_results.log_blocks(analysis, reports, table, markdown, params)
    result(markdown)
    result(f"compare run {run.info.run_id}")
    return BlocksOutcome(analysis, reports, markdown, run.info.run_id)
