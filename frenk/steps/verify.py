"""``publish -P verify=<folder>``: does every number of a published card come from the tracking
store? The compare report is recomputed from the runs it names (and compared with its
report.json), the card is regenerated from the store (and its numbers compared with the folder's
README.md), and the card's results are checked against the report; any difference is a refusal
(one line), so a card edited by hand is neither taken for the store's nor pushed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ..comparison import CompareOptions, ComparisonReport, check_comparable
from ..config import PublishConfig
from ..core.errors import ConfigError, FrenkError
from ..core.log import result
from ..core.names import Tag
from ..publishing import hub, render_card
from ..publishing.verify import card_differences, refusal, report_differences, report_mismatches
from ..tracking import registry, results, runs, search
from .compare import assemble
from .publish import PUBLISH_RECORD, PublishOutcome, card_from_store, read_record


def recompute_report(report: ComparisonReport) -> ComparisonReport:
    """The report again from the runs ``report`` names, with its options (its looks as counted then)."""
    by = (report.selection or {}).get("by") or Tag.MODEL
    records = search.runs_by_id([r for ids in report.runs.values() for r in ids], by)
    opts = CompareOptions(metrics=report.metrics, baseline=report.baseline, alpha=report.alpha,
                          allow_mixed_data=len(report.data_digests) > 1, pairing=report.pairing,
                          min_difference=report.min_difference, look=report.look)
    search.add_results_tables(records)
    samples, _, _ = check_comparable(records, opts)
    again, _, _ = assemble(records, opts, samples, report.decisions, report.selection)
    return replace(again, skipped=report.skipped)  # runs skipped then were not read again


def _id2label(folder: Path) -> dict[int, str]:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return {int(k): str(v) for k, v in config["id2label"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        raise ConfigError(f"{folder}/config.json has no id2label: give the output folder of a publish") from None


def verify_folder(cfg: PublishConfig) -> PublishOutcome:
    """Check the card in ``cfg.verify`` against the store; with ``cfg.push``, push the folder when it agrees."""
    folder = Path(cfg.verify)
    record = read_record(folder)
    if not record.get("compare_run_id") or not record.get("run_id") or not (folder / "README.md").is_file():
        raise ConfigError(f"{folder} holds no card that frenk published ({PUBLISH_RECORD} naming its runs, "
                          "README.md): give the output folder of a publish")
    runs.configure()
    report = search.load_report(record["compare_run_id"])
    differences = report_differences(report.to_dict(), recompute_report(report).to_dict())
    run = search.get_run(record["run_id"], "published train run")
    version = registry.model_version(record.get("name", cfg.name), str(record.get("version", "")))
    forced = version.tags.get(Tag.GATE) if version.tags.get(Tag.FORCED) == "true" else None
    facts = card_from_store(record.get("name", cfg.name), str(version.version), run,
                            (report, record["compare_run_id"]), _id2label(folder), record.get("repo_id", ""),
                            cfg.lang, forced)
    card = (folder / "README.md").read_text(encoding="utf-8")
    differences += card_differences(card, render_card(facts)) + report_mismatches(card, facts)
    if differences:
        raise FrenkError(refusal(f"{folder / 'README.md'} is not the store's card", differences)
                         + "; publish again to regenerate it")
    message = (f"verified {folder / 'README.md'}: every number is the tracking store's (compare run "
               f"{record['compare_run_id']} recomputed from its {sum(len(v) for v in report.runs.values())} runs)")
    results.describe_project_run("publish-verified", message[0].upper() + message[1:] + ".")
    result(message)
    if cfg.push:  # only a card that verified is pushed
        hub.check_push(cfg.repo_id)
        result(f"pushed to {hub.push_folder(folder, cfg.repo_id)}")
    return PublishOutcome(facts.name, facts.version, folder, "", False, "verified")
