"""The publish step: gate, export, card, promote, push."""

from __future__ import annotations

import datetime
import json
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from ..config import PublishConfig
from ..errors import FrenkError
from ..files import FILES_KEY, check_replaceable, replace_folder
from ..publishing import card_facts, check_export, check_exportable, gate, render_card
from ..publishing import hub
from ..tracking import access, experiments, registry, results, runs, search

#: the record of a publication; it lists the files publish wrote into the folder
PUBLISH_RECORD = "frenk_publish.json"
#: what a publication held before its record listed its files (an export of a registered model)
EXPORT_FILES = (
    "README.md", "config.json", "model.safetensors", "frenk.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "added_tokens.json",
    "chat_template.jinja",
)


def _refusal(cfg: PublishConfig, version: str, system: str, reason: str) -> FrenkError:
    return FrenkError(
        f"refusing to promote {cfg.name} version {version} ({system}): {reason}. To promote it anyway "
        f"(recorded as frenk.forced=true): mlflow run . -e publish -P name={cfg.name} -P version={version} "
        f"-P output={cfg.output} -P force=true"
    )


def same_weights(a, b) -> bool:
    """Whether two registered versions hold identical weights (by their frenk.weights_sha256 tags)."""
    digest = (a.tags.get("frenk.weights_sha256") if a is not None else None)
    return bool(digest) and b is not None and b.tags.get("frenk.weights_sha256") == digest


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
    """Gate, export, card, promote (and push): in that order, so a refusal changes nothing."""
    out = Path(cfg.output)
    check_replaceable(out, PUBLISH_RECORD, "publication", EXPORT_FILES)  # a folder we may not replace: first
    runs.start_step()
    if cfg.push:
        hub.check_push(cfg.repo_id)  # no token / no network: fail before anything changes
    mv, run = _version_and_run(cfg)
    version = str(mv.version)
    system = run.data.tags.get("frenk.model", "?")
    check_exportable(cfg.name, version, system)
    report, compare_run_id = search.compare_report(cfg.compare_run, system)
    champion = registry.alias_version(cfg.name, cfg.alias)
    if same_weights(champion, mv) and str(champion.version) != version:
        print(f"{cfg.name} version {version} has the same weights as the @{cfg.alias} version {champion.version} "
              f"(frenk.weights_sha256): nothing to promote, {out} left as it is")
        return PublishOutcome(cfg.name, str(champion.version), out, "", False, "same weights as the champion")
    decision = gate(report, system, has_champion=champion is not None and str(champion.version) != version)
    if not decision.allowed and not cfg.force:
        raise _refusal(cfg, version, system, decision.reason)

    with replace_folder(out, PUBLISH_RECORD, "publication", EXPORT_FILES) as folder:
        with tempfile.TemporaryDirectory(prefix="frenk-publish-") as download:
            shutil.copytree(registry.download_model(cfg.name, version, Path(download)), folder, dirs_exist_ok=True)
        id2label = check_export(folder)  # loads strictly and predicts, before the folder is moved into place
        seeds = [search.run_facts(r) for r in search.seed_runs(run)]
        facts = card_facts(cfg.name, version, search.run_facts(run), seeds, report, compare_run_id, id2label,
                           repo_id=cfg.repo_id, lang=cfg.lang)
        (folder / "README.md").write_text(render_card(facts), encoding="utf-8")
        written = sorted([entry.name for entry in folder.iterdir()] + [PUBLISH_RECORD])
        (folder / PUBLISH_RECORD).write_text(json.dumps(
            {"name": cfg.name, "version": version, "run_id": run.info.run_id, "compare_run_id": compare_run_id,
             FILES_KEY: written}, indent=2) + "\n")

    today = datetime.date.today().isoformat()
    version_tags = {
        "frenk.promoted_on": today, "frenk.compare_run": compare_run_id, "frenk.gate": decision.reason[:4000],
        "frenk.published_to": str(out.resolve()), **({} if decision.allowed else {"frenk.forced": "true"}),
    }
    pub_tags = runs.frenk_tags(step="publish", model=system, lang=facts.lang, labels=run.data.tags.get("frenk.labels"),
                               data_digest=run.data.tags.get("frenk.data_digest"), group=run.data.tags.get("frenk.group"))
    with runs.step_run(f"publish-{cfg.name}-v{version}", pub_tags, experiment_id=run.info.experiment_id) as prun:
        runs.log_params({f.name: getattr(cfg, f.name) for f in fields(cfg)})
        verb = "Forced" if not decision.allowed else "Promoted"
        reason = f"{verb} to `@{cfg.alias}` ({system}): {decision.reason}."
        description = (f"{verb} **{results.version_link(cfg.name, version)}** ({system}, from train run "
                       f"{results.run_link(run.info.run_id)}) to `@{cfg.alias}`: {decision.reason}. Compare run: "
                       f"{results.run_link(compare_run_id)}. Hugging Face folder: `{out.resolve()}`.")
        results.log_publication(out, {"frenk.model_version": version, "frenk.compare_run": compare_run_id,
                                      "frenk.forced": str(not decision.allowed).lower()}, description)
        registry.promote(cfg.name, version, cfg.alias, version_tags, champion, today,
                         f"{reason} Publish run {results.run_link(prun.info.run_id)}.")
        if cfg.push:
            print(f"pushed to {hub.push_folder(out, cfg.repo_id)}")
    verb = "forced" if not decision.allowed else "promoted"
    print(f"{verb} {cfg.name} version {version} ({system}) to alias {cfg.alias}: {decision.reason}; Hugging Face folder in {out}")
    return PublishOutcome(cfg.name, version, out, prun.info.run_id, not decision.allowed, decision.reason)
