"""The publish step: gate, export, card, promote, push."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from .. import tracking
from ..config import PublishConfig
from ..files import FILES_KEY, replace_folder
from ..errors import FrenkError, ModelError


@dataclass
class PublishOutcome:
    name: str
    version: str
    output: Path
    run_id: str
    forced: bool
    reason: str


#: the record of a publication; it lists the files publish wrote into the folder
PUBLISH_RECORD = "frenk_publish.json"
#: what a publication held before its record listed its files (an export of a registered model)
EXPORT_FILES = (
    "README.md", "config.json", "model.safetensors", "frenk.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "added_tokens.json",
    "chat_template.jinja",
)

#: card name -> train run parameter
_HYPERPARAMETERS = {
    "epochs": "resolved_epochs", "learning_rate": "resolved_learning_rate", "batch_size (effective)": "resolved_batch_size",
    "per_device_batch_size": "per_device_batch_size", "gradient_accumulation_steps": "gradient_accumulation_steps",
    "max_length": "max_length", "precision": "resolved_precision", "labels": "labels", "device": "device",
}


def publish(cfg: PublishConfig) -> PublishOutcome:
    """Gate, export, card, promote (and push): in that order, so a refusal changes nothing."""
    import datetime
    import json

    from .. import hub
    from ..publishing import gate, model_card

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
    with replace_folder(out, PUBLISH_RECORD, "publication", EXPORT_FILES) as folder:
        _export(cfg, version, folder)
        id2label = json.loads((folder / "config.json").read_text())["id2label"]
        info = {
            "name": cfg.name, "version": version, "lang": tags.get("frenk.lang", cfg.lang), "labels": tags.get("frenk.labels"),
            "id2label": {int(k): v for k, v in id2label.items()}, "system": system,
            "base_model": _base_model(tags),
            "data_source": tags.get("frenk.data_source", params.get("data", "?")), "data_digest": tags.get("frenk.data_digest"),
            "synthetic": synthetic,
            "hyperparameters": {name: params[key] for name, key in _HYPERPARAMETERS.items() if key in params},
            "published": {"run_id": run.info.run_id, "seed": tags.get("frenk.seed"), "metrics": dict(run.data.metrics)},
            "seeds": [{"run_id": r.info.run_id, "seed": r.data.tags.get("frenk.seed"), "metrics": dict(r.data.metrics)} for r in seeds],
            "report": report, "compare_run_id": compare_run_id, "repo_id": cfg.repo_id,
            "max_length": int(params.get("max_length", 128)),
            "example": "Ovo je primjer komentara." if cfg.lang == "hr" else ("To je primer komentarja." if cfg.lang == "sl" else "This is an example comment."),
        }
        (folder / "README.md").write_text(model_card(info), encoding="utf-8")
        written = sorted([entry.name for entry in folder.iterdir()] + [PUBLISH_RECORD])
        (folder / PUBLISH_RECORD).write_text(json.dumps(
            {"name": cfg.name, "version": version, "run_id": run.info.run_id, "compare_run_id": compare_run_id,
             FILES_KEY: written}, indent=2) + "\n")

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


def _base_model(tags: dict[str, str]) -> str | None:
    """The Hub id the model was fine-tuned from; None for the tiny preset and local folders."""
    model_id = tags.get("frenk.model_id", "")
    if not model_id or model_id in ("tiny", "tfidf") or Path(model_id).is_absolute():
        return None
    return model_id


def _export(cfg: PublishConfig, version: str, folder: Path) -> None:
    """Copy the registered model's Hugging Face folder into ``folder`` and check that it loads
    exactly and predicts."""
    from transformers import AutoTokenizer, pipeline

    from ..models import load_classifier

    with tempfile.TemporaryDirectory() as download:
        shutil.copytree(tracking.download_model(cfg.name, version, Path(download)), folder, dirs_exist_ok=True)
    model = load_classifier(str(folder), fine_tuned=True)  # any weight mismatch is an error
    classify = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(str(folder)))
    labels = set(model.config.id2label.values())
    if classify(["check"])[0]["label"] not in labels:
        raise ModelError(f"the exported model predicts labels outside {sorted(labels)}")
