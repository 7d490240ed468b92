"""The publish step: gate, export, card, promote, push."""

from __future__ import annotations

import datetime
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from ..comparison import ComparisonReport
from ..config import PublishConfig
from ..core import interrupts
from ..core.errors import FrenkError
from ..core.files import FILES_KEY, check_replaceable, rewrite_file, staged_folder
from ..core.interrupts import sigterm_as_interrupt
from ..core.log import result
from ..core.names import META_FILE, Tag
from ..publishing import card_facts, check_export, check_exportable, comment_intervals, gate, hub, render_card
from ..publishing.verify import refusal, report_mismatches
from ..team import access
from ..tracking import evaluations, experiments, locks, registry, results, runs, search

log = logging.getLogger(__name__)

#: the record of a publication; it lists the files publish wrote into the folder
PUBLISH_RECORD = "frenk_publish.json"
#: the record's entry for a promotion that is not done yet (the folder is in place, the alias not moved)
PENDING = "pending"
#: what a publication held before its record listed its files (an export of a registered model)
EXPORT_FILES = (
    "README.md", "config.json", "model.safetensors", META_FILE, "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "added_tokens.json",
    "chat_template.jinja",
)


def _refusal(cfg: PublishConfig, version: str, system: str, reason: str) -> FrenkError:
    return FrenkError(
        f"refusing to promote {cfg.name} version {version} ({system}): {reason}. To promote it anyway "
        f"(recorded as {Tag.FORCED}=true): mlflow run . -e publish -P name={cfg.name} -P version={version} "
        f"-P output={cfg.output} -P force=true"
    )


def same_weights(a, b) -> bool:
    """Whether two registered versions hold identical weights (by their frenk.weights_sha256 tags)."""
    digest = (a.tags.get(Tag.WEIGHTS_SHA256) if a is not None else None)
    return bool(digest) and b is not None and b.tags.get(Tag.WEIGHTS_SHA256) == digest


def _version_and_run(cfg: PublishConfig):
    """The version to publish and its (finished) train run; a reader is refused first."""
    # a reader (basic-auth READ) is refused here, before any folder is written or alias moved
    what = f"publish (moving the alias {cfg.alias!r} of {cfg.name})"
    access.require_write([("registered_model", cfg.name)], what)
    registry.repair_versions(cfg.name)  # a registration that a killed train run left half-done
    mv = registry.model_version(cfg.name, cfg.version)
    run = search.get_run(mv.run_id, f"train run of {cfg.name} version {mv.version}")
    # the publish run goes to the train run's experiment (or the one the user or mlflow run chose)
    access.require_write([("experiment", experiments.for_step(experiment_id=run.info.experiment_id)
                           or search.current_experiment_id())], what)
    if not search.finished_trainings([run]):
        raise FrenkError(f"{cfg.name} version {mv.version} comes from train run {run.info.run_id}, whose training did "
                         "not finish (it or its parent run is not FINISHED); train again and publish the new version")
    return mv, run


@dataclass
class PublishOutcome:
    name: str
    version: str
    output: Path
    run_id: str
    forced: bool
    reason: str


def publish(cfg: PublishConfig) -> PublishOutcome:
    """Gate, export, card, promote (and push): in that order, so a refusal changes nothing.

    The promotion (the folder moved into place, the aliases and tags) is one transaction: it runs
    under the registered model's promotion lock, after checking that no other publish moved the
    alias since the gate read it, and a SIGTERM waits until it is done. Otherwise SIGTERM stops
    publish like train: its run KILLED, staging and downloads removed, exit status 130."""
    with sigterm_as_interrupt():
        return _publish(cfg)


def _publish(cfg: PublishConfig) -> PublishOutcome:
    if cfg.verify:  # check a published folder's card against the store (and push it), nothing else
        from .verify import verify_folder

        return verify_folder(cfg)
    out = Path(cfg.output)
    check_replaceable(out, PUBLISH_RECORD, "publication", EXPORT_FILES)  # a folder we may not replace: first
    runs.start_step()
    if cfg.push:
        hub.check_push(cfg.repo_id)  # no token / no network: fail before anything changes
    mv, run = _version_and_run(cfg)
    version = str(mv.version)
    system = run.data.tags.get(Tag.MODEL, "?")
    check_exportable(cfg.name, version, system)
    report, compare_run_id = search.compare_report(cfg.compare_run, system)
    complete_pending(cfg.name, out)  # a promotion that a killed publish left half-done
    champion = registry.alias_version(cfg.name, cfg.alias)
    if same_weights(champion, mv) and str(champion.version) != version:
        reason = (f"{cfg.name} version {version} has the same weights as the @{cfg.alias} version {champion.version} "
                  f"({Tag.WEIGHTS_SHA256}): nothing to promote, {out} left as it is")
        prun_id = _record_nothing_promoted(cfg, run, version, reason)
        result(reason)
        return PublishOutcome(cfg.name, str(champion.version), out, prun_id, False, "same weights as the champion")
    decision = gate(report, system, has_champion=champion is not None and str(champion.version) != version)
    if not decision.allowed and not cfg.force:
        raise _refusal(cfg, version, system, decision.reason)
    prun_id = _export_and_promote(cfg, out, run, version, champion, decision, (report, compare_run_id))
    verb = "forced" if not decision.allowed else "promoted"
    result(f"{verb} {cfg.name} version {version} ({system}) to alias {cfg.alias}: {decision.reason}; "
          f"Hugging Face folder in {out}")
    return PublishOutcome(cfg.name, version, out, prun_id, not decision.allowed, decision.reason)


def _publish_run(cfg: PublishConfig, run, version: str):
    """The publish run (named after the version, tagged from its train run ``run``, in its experiment)."""
    tags = run.data.tags
    pub_tags = runs.frenk_tags(step="publish", model=tags.get(Tag.MODEL, "?"), labels=tags.get(Tag.LABELS),
                               data_digest=tags.get(Tag.DATA_DIGEST), group=tags.get(Tag.GROUP))
    return runs.step_run(f"publish-{cfg.name}-v{version}", pub_tags, experiment_id=run.info.experiment_id)


def _record_nothing_promoted(cfg: PublishConfig, run, version: str, reason: str) -> str:
    """A publish that promotes nothing still has its run, named and tagged like any publish run, with
    ``reason`` as its description (``main`` reads it); returns the run's id."""
    with _publish_run(cfg, run, version) as prun:
        runs.log_params({f.name: getattr(cfg, f.name) for f in fields(cfg)})
        results.describe(f"Nothing promoted: {reason}.")
    return prun.info.run_id


def _export_and_promote(cfg: PublishConfig, out: Path, run, version: str, champion, decision, compared) -> str:
    """The publish run: the folder staged beside ``out``, then the promotion; returns the run's id."""
    report, compare_run_id = compared
    system = run.data.tags.get(Tag.MODEL, "?")
    with _publish_run(cfg, run, version) as prun:
        runs.log_params({f.name: getattr(cfg, f.name) for f in fields(cfg)})
        with staged_folder(out, PUBLISH_RECORD, "publication", EXPORT_FILES, on_staging=runs.note_temp_dir) as staging:
            facts = _stage(cfg, staging.path, version, run, report, compare_run_id,
                           None if decision.allowed else decision.reason)
            runs.set_tags(runs.frenk_tags(lang=facts.lang))
            promotion = {**_promotion(cfg, out, version, run, system, decision, compare_run_id, prun.info.run_id),
                         "previous_version": str(champion.version) if champion is not None else None}
            _write_record(staging.path, cfg.name, version, run.info.run_id, compare_run_id, prun.info.run_id,
                          {**promotion, "repo_id": cfg.repo_id})
            with interrupts.deferred():  # the promotion is not stopped half-way
                with locks.promotion_lock(cfg.name, f"publish run {prun.info.run_id} (version {version})"):
                    _check_champion_unchanged(cfg, out, version, champion)
                    staging.commit()
                    _promote(cfg.name, version, promotion)
                    _settle_record(out)
                results.log_publication(out, {Tag.MODEL_VERSION: version, Tag.COMPARE_RUN: compare_run_id,
                                              Tag.FORCED: str(not decision.allowed).lower()},
                                        promotion["run_description"])
        if cfg.push and not interrupts.stop_requested():
            result(f"pushed to {hub.push_folder(out, cfg.repo_id)}")
    return prun.info.run_id


def _stage(cfg: PublishConfig, folder: Path, version: str, run, report: ComparisonReport, compare_run_id: str,
           forced: str | None = None):
    """Export the registered version into ``folder``, check it loads and predicts, write the card
    (``forced``: the gate's reason against this promotion, which force=true overrode)."""
    with tempfile.TemporaryDirectory(prefix="frenk-publish-") as download:
        runs.note_temp_dir(download)
        shutil.copytree(registry.download_model(cfg.name, version, Path(download)), folder, dirs_exist_ok=True)
    id2label = check_export(folder)  # loads strictly and predicts, before the folder is moved into place
    facts = card_from_store(cfg.name, version, run, (report, compare_run_id), id2label, cfg.repo_id, cfg.lang, forced)
    text = render_card(facts)
    if wrong := report_mismatches(text, facts):  # the card's results must be the report's, never retyped
        raise FrenkError(refusal("refusing to write the card", wrong))
    (folder / "README.md").write_text(text, encoding="utf-8")
    return facts


def card_from_store(name: str, version: str, run, compared: tuple[ComparisonReport, str], id2label: dict[int, str],
                    repo_id: str, lang: str, forced: str | None):
    """The card's facts, all from the store: the train run ``run`` and its seed runs, the compare
    report, the published run's interval over its test comments."""
    report, compare_run_id = compared
    seeds = [search.run_facts(r) for r in search.seed_runs(run)]
    published = search.run_facts(run)
    predictions = search.run_predictions({"published": [published]}).get(published.run_id)
    return card_facts(name, version, published, seeds, report, compare_run_id, id2label, repo_id=repo_id, lang=lang,
                      published_intervals=comment_intervals(predictions) if predictions is not None else None,
                      forced=forced, out_of_domain=evaluations.out_of_domain_rows(name, version))


def refresh_card(name: str, version: str) -> Path | None:
    """Render the card of the folder ``name`` version ``version`` was published to again (after an
    evaluate run: its "Out of domain" table), when that folder still holds this version's settled
    publication; returns the folder, or None when there is none."""
    mv = registry.model_version(name, version)
    out = Path(mv.tags.get(Tag.PUBLISHED_TO) or "")
    record = read_record(out) if mv.tags.get(Tag.PUBLISHED_TO) else {}
    if record.get("name") != name or str(record.get("version")) != version or PENDING in record:
        return None
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    id2label = {int(k): v for k, v in config.get("id2label", {}).items()}
    params = search.get_run(record["publish_run_id"], "publish run").data.params
    compare_run_id = record["compare_run_id"]
    forced = mv.tags.get(Tag.GATE) if mv.tags.get(Tag.FORCED) == "true" else None
    facts = card_from_store(name, version, search.get_run(mv.run_id, "train run"),
                        (search.load_report(compare_run_id), compare_run_id), id2label,
                        _param(params.get("repo_id")), _param(params.get("lang")) or "hr", forced)
    rewrite_file(out / "README.md", render_card(facts))
    return out


def _param(value: str | None) -> str:
    """A parameter as ``mlflow run`` may have logged it (shell-quoted: ``''`` for empty)."""
    return (value or "").strip("'")


def _promotion(cfg: PublishConfig, out: Path, version: str, run, system: str, decision, compare_run_id: str,
               publish_run_id: str) -> dict:
    """What the promotion writes: the version's tags and description, the publish run's description."""
    today = datetime.date.today().isoformat()
    verb = "Forced" if not decision.allowed else "Promoted"
    return {
        "alias": cfg.alias, "replaced_on": today,
        "tags": {Tag.PROMOTED_ON: today, Tag.COMPARE_RUN: compare_run_id, Tag.GATE: decision.reason[:4000],
                 Tag.PUBLISHED_TO: str(out.resolve()), **({} if decision.allowed else {Tag.FORCED: "true"})},
        "description": (f"{verb} to `@{cfg.alias}` ({system}): {decision.reason}. "
                        f"Publish run {results.run_link(publish_run_id)}."),
        "run_description": (f"{verb} **{results.version_link(cfg.name, version)}** ({system}, from train run "
                            f"{results.run_link(run.info.run_id)}) to `@{cfg.alias}`: {decision.reason}. Compare run: "
                            f"{results.run_link(compare_run_id)}. Hugging Face folder: `{out.resolve()}`."),
    }


def _write_record(folder: Path, name: str, version: str, run_id: str, compare_run_id: str, publish_run_id: str,
                  promotion: dict) -> None:
    """The publication record; ``pending`` holds the promotion until it is done (see :func:`complete_pending`)."""
    written = sorted([entry.name for entry in folder.iterdir()] + [PUBLISH_RECORD])
    promotion = dict(promotion)
    (folder / PUBLISH_RECORD).write_text(json.dumps(
        {"name": name, "version": version, "run_id": run_id, "compare_run_id": compare_run_id,
         "publish_run_id": publish_run_id, "repo_id": promotion.pop("repo_id", ""), FILES_KEY: written,
         PENDING: promotion}, indent=2) + "\n")


def _settle_record(out: Path) -> None:
    """The promotion is done: the record loses its ``pending`` entry."""
    record = read_record(out)
    record.pop(PENDING, None)
    rewrite_file(out / PUBLISH_RECORD, json.dumps(record, indent=2) + "\n")


def read_record(out: Path) -> dict:
    """The publication record in ``out`` ({} when there is none or it cannot be read)."""
    try:
        record = json.loads((out / PUBLISH_RECORD).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def _promote(name: str, version: str, promotion: dict, previous: str | None = None, known: bool = False) -> None:
    """Move the alias to ``version`` (the holder read now, or ``previous`` when ``known``)."""
    holder = registry.alias_version(name, promotion["alias"]) if not known else (
        registry.model_version(name, previous) if previous else None)
    registry.promote(name, version, promotion["alias"], promotion["tags"], holder, promotion["replaced_on"],
                     promotion["description"])


def _check_champion_unchanged(cfg: PublishConfig, out: Path, version: str, champion) -> None:
    """Under the lock: refuse when another publish moved the alias since the gate read it."""
    now = registry.alias_version(cfg.name, cfg.alias)
    before = str(champion.version) if champion is not None else None
    if (str(now.version) if now is not None else None) == before:
        return
    raise FrenkError(
        f"another publish moved @{cfg.alias} of {cfg.name} to version {now.version if now else '(none)'} while this "
        "one "
        f"prepared version {version} (it had read @{cfg.alias} = {before or '(none)'}): this publish changed nothing "
        f"({out} and the registry are as the other one left them). Run the same command again to decide against the "
        "new champion")


def complete_pending(name: str, out: Path) -> None:
    """A publish killed between moving its folder into place and moving the alias left ``out``
    ahead of the registry (its record keeps the promotion under ``pending``): finish that
    promotion when the alias is still where that publish found it, and say so."""
    record = read_record(out)
    pending = record.get(PENDING)
    if not isinstance(pending, dict) or record.get("name") != name:
        return
    version, alias, stopped = str(record.get("version")), pending.get("alias", "champion"), record.get("publish_run_id")
    with locks.promotion_lock(name, f"a publish completing run {stopped}"):
        now = registry.alias_version(name, alias)
        now = str(now.version) if now is not None else None
        if now not in (version, pending.get("previous_version")):
            log.info(f"{out} holds {name} version {version}, whose promotion (publish run {stopped}) was stopped "
                  f"half-way, but @{alias} is now version {now}: the folder is not the champion's until a publish "
                  "replaces it")
            return
        if now != version:
            _promote(name, version, pending, pending.get("previous_version"), known=True)
            log.info(f"completed the promotion of {name} version {version} to @{alias} that publish run {stopped} "
                  f"left half-done ({out} already held that version)")
        _settle_record(out)
