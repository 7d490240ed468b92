"""The compare step: read train runs by tag, test, report, log."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace

from ..comparison import CompareOptions, ComparisonReport, build_report, check_comparable, render_markdown
from ..comparison.build import run_frames
from ..comparison.looks import decisions_warning
from ..comparison.stability import comment_table, flips_markdown
from ..config import CompareConfig
from ..core.log import result
from ..team import access
from ..tracking import comment_texts, experiments, looks, results, runs, search
from .compare_blocks import BlocksOutcome, compare_blocks

log = logging.getLogger(__name__)

#: metrics every train run logs at the top level (others are read from its results table)
TOP_LEVEL = {"accuracy", "macro_f1"}


@dataclass
class CompareOutcome:
    report: ComparisonReport
    markdown: str
    run_id: str | None


def compare(cfg: CompareConfig) -> CompareOutcome | BlocksOutcome:
    """Read the train runs, run the tests the design calls for, print and log the report.

    The compare run opens before the predictions are downloaded, so that it records its host,
    process and temporary folder from the start (a killed compare is found by the orphan scan).
    Several groups (``group=hr-binary,sl-binary``) are a comparison across data sets (:mod:`.compare_blocks`)."""
    if len(cfg.groups) > 1:
        return compare_blocks(cfg)
    runs.start_step()
    records = search.train_runs(cfg.experiment, cfg.group, cfg.filter, cfg.by)
    opts = CompareOptions(metrics=cfg.metric_list, baseline=cfg.baseline or None, alpha=cfg.alpha,
                          allow_mixed_data=cfg.allow_mixed_data, pairing=cfg.pairing,
                          min_difference=cfg.min_difference)
    if not set(opts.metrics) <= TOP_LEVEL:  # a per-class metric: it is in the runs' results tables
        search.add_results_tables([r for r in records if r.status == "FINISHED"])
    samples, _, _ = check_comparable(records, opts)  # bad input fails here, before anything is downloaded or logged
    search.add_results_tables([r for runs_ in samples.values() for r in runs_])  # for the per-fold view
    used = {r.experiment_id for s in samples.values() for r in s}
    target = (experiments.for_step(experiment_id=used.pop() if len(used) == 1 else None)
              or search.current_experiment_id())
    readable = access.read_only([("experiment", target)])  # where the run would go
    test_data = {r.data_digest for s in samples.values() for r in s}
    look, look_tags, decisions = looks.count(target, samples, opts.metrics[0], test_data,
                                             [r.run_id for s in samples.values() for r in s])
    opts = replace(opts, look=look)
    if readable:  # a reader may compare; the report is printed, not logged
        report, markdown, _ = assemble(records, opts, samples, decisions, _selection(cfg))
        result(markdown)
        log.info(f"compare report not logged: you may only read {readable[0]}")
        return CompareOutcome(report, markdown, None)
    with runs.step_run(_run_name(cfg, samples), runs.frenk_tags(step="compare", group=cfg.group or None),
                       experiment_id=target) as run:
        runs.set_tags(look_tags)
        report, markdown, by_run = assemble(records, opts, samples, decisions, _selection(cfg))
        digests = report.data_digests
        if len(digests) == 1:
            runs.set_tags(runs.frenk_tags(data_digest=digests[0]))
        results.log_compare(report, markdown, {f.name: getattr(cfg, f.name) for f in fields(cfg)})
        _log_stability(report, samples, by_run)
    result(markdown)
    result(f"compare run {run.info.run_id}")
    return CompareOutcome(report, markdown, run.info.run_id)


def _selection(cfg: CompareConfig) -> dict[str, str]:
    return {"group": cfg.group, "filter": cfg.filter, "by": cfg.by, "experiment": cfg.experiment}


def assemble(records, opts: CompareOptions, samples, decisions: dict[str, int],
             selection: dict[str, str] | None) -> tuple[ComparisonReport, str, dict]:
    """The report (every run's test predictions downloaded: the verdict over seeds and test
    comments, the per-example view of the best runs, the stability), its Markdown and the
    predictions by run id."""
    by_run = search.run_predictions(samples)
    predictions, best = search.best_run_predictions(samples, by_run)
    report = build_report(records, opts, predictions, best, by_run)
    worn = [w for d, n in decisions.items() if (w := decisions_warning(d, n))]
    report = replace(report, decisions=decisions, warnings=report.warnings + tuple(worn),
                     tuning=search.tuning_budgets(samples),
                     selection=selection)
    return report, render_markdown(report), by_run


def _log_stability(report: ComparisonReport, samples, by_run: dict) -> None:
    """stability.json (per test comment, with its text where the prepared folder is here) and flips.md."""
    stability = report.stability
    if stability is None or not stability.computed:  # the note says why, in flips.md too
        log.info(f"prediction stability skipped: {stability.note if stability else 'no predictions'}")
        if stability is not None:
            results.log_stability(None, flips_markdown(stability, None))
        return
    frames = run_frames(samples, by_run)
    texts, names, source = comment_texts.comment_texts([r.run_id for runs_ in samples.values() for r in runs_][:5])
    table = comment_table(frames, texts, names)
    results.log_stability(table, flips_markdown(stability, table, source=source))


def _run_name(cfg: CompareConfig, samples) -> str:
    """``compare-<lang>-<labels>`` when the compared runs share them, else ``compare-<group>``."""
    kinds = {(r.lang, r.labels) for runs_ in samples.values() for r in runs_}
    if len(kinds) == 1 and None not in next(iter(kinds)):
        return "compare-{}-{}".format(*kinds.pop())
    return f"compare-{cfg.group or 'filter'}"
