"""The Model Registry: logging a trained model as a pyfunc model, registering it, the
``candidate`` alias, promotion with aliases, and exporting a registered version's folder."""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
import warnings
from pathlib import Path

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from ..core.errors import TrackingError
from ..core.names import META_FILE, PREFIX, Tag, replaced_tags
from ..publishing import registry_alias
from ..training import BASELINE, TFIDF_FILE, kind_of_saved
from .locks import check_model_name
from .model_code import CONFIG_ARTIFACT
from .pyfunc import ARTIFACT
from .runs import resume_run, verbose

log = logging.getLogger(__name__)

#: the code a registered model ships and runs when loaded (MLflow "models from code"): it imports no
#: frenk, so the model loads wherever mlflow and transformers do, whatever ``frenk`` is importable there
MODEL_CODE = Path(__file__).resolve().with_name("model_code.py")
#: one column of strings, named or not: the scoring server takes inputs, instances, dataframe_split and
#: dataframe_records (a type hint on predict would take {"inputs": [...]} only)
SIGNATURE = ModelSignature(inputs=Schema([ColSpec("string")]))


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    reqs = []
    for name in ("mlflow", "torch", "transformers", "scikit-learn", "pandas", "numpy", "joblib", "safetensors",
                 "tokenizers"):
        try:
            reqs.append(f"{name}=={version(name).split('+')[0]}")
        except Exception:
            continue
    return reqs


#: MLflow's notice on every model logged without an input example (frenk gives the signature instead,
#: and an example would load the model once more at logging); FRENK_VERBOSE=1 shows it
NO_EXAMPLE_NOTICE = r".*input example was not provided"


def model_config(model_dir: Path) -> dict[str, str]:
    """What the model's code (:data:`MODEL_CODE`, no frenk import) needs to know about its folder."""
    meta = json.loads((model_dir / META_FILE).read_text())
    return {"artifact": ARTIFACT, "meta_file": META_FILE, "saved_as": kind_of_saved(model_dir, meta).saved_as,
            "joblib_file": TFIDF_FILE}


def log_model(model_dir: Path, registered_name: str | None):
    """Log a model folder as an MLflow pyfunc model from code (and register it); returns the ModelInfo."""
    active = mlflow.active_run()
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="frenk-model-config-") as tmp:
        if not verbose():
            warnings.filterwarnings("ignore", message=NO_EXAMPLE_NOTICE, category=UserWarning)
        config = Path(tmp) / f"{CONFIG_ARTIFACT}.json"  # an artifact: MLflow logs a model_config as run params
        config.write_text(json.dumps(model_config(model_dir)))
        return mlflow.pyfunc.log_model(
            name=model_name(active.info.run_name if active else ""),
            python_model=str(MODEL_CODE),
            artifacts={ARTIFACT: str(model_dir), CONFIG_ARTIFACT: str(config)},
            signature=SIGNATURE,
            pip_requirements=_pip_requirements(),
            registered_model_name=registered_name or None,
        )


def model_name(run_name: str) -> str:
    """A logged model's name: its run's (``tiny-hr-s42``), so that two models of an experiment differ in the UI."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", run_name or "")[:100] or "model"


#: the registered model's description, set when it has none
MODEL_DESCRIPTION = (
    "FRENK hate-speech classifiers trained by `frenk` ({lang}). Aliases: `@champion` is the published version "
    "(see its description for why), `@candidate` the newest trained transformer, `@baseline` the TF-IDF baseline, "
    "`@previous-champion` the one before. Each version's description gives its test macro-F1 and train run."
)


def describe_model(name: str, lang: str) -> None:
    """Give registered model ``name`` its description, unless it has one (a user's text stays)."""
    client = MlflowClient()
    if not (client.get_registered_model(name).description or "").strip():
        client.update_registered_model(name, description=MODEL_DESCRIPTION.format(lang=lang))


def register(model_uri: str, name: str):
    return mlflow.register_model(model_uri, name)


def set_candidate(name: str, version: str | int, tags: dict[str, str], description: str = "",
                  alias: str = "candidate") -> None:
    """Alias ``alias`` (``candidate``; ``baseline`` for the TF-IDF baseline) on ``version`` and tag
    the version with the run's frenk tags.

    Two trainings that register ``name`` at the same moment (two GPU machines) may set the alias
    in either order; it must end on the newer version. So after setting it, the newest version
    made by a train run of the same kind takes it back: whichever process writes last has seen
    the newest version (its own registration came before its write).
    """
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    if description:
        client.update_model_version(name, str(version), description=description)
    describe_model(name, tags.get(Tag.LANG, "?"))
    _set_alias(client, name, alias, version)
    newest = newest_trained_version(name, _is_baseline(tags))
    if newest is not None and int(newest) > int(version):
        _set_alias(client, name, alias, newest)


def _set_alias(client: MlflowClient, name: str, alias: str, version, attempts: int = 5) -> None:
    """Set an alias; when two processes create the same new alias at once, MLflow's SQL store
    (it checks, then inserts) fails the slower one with a unique-key error: by then the alias
    exists, so setting it again updates it."""
    for attempt in range(attempts):
        try:
            client.set_registered_model_alias(name, alias, str(version))
            return
        except MlflowException as exc:
            if attempt + 1 == attempts or not ("duplicate key" in str(exc) or "UNIQUE constraint" in str(exc)):
                raise
            time.sleep(0.2 * (attempt + 1))


def _is_baseline(tags: dict[str, str]) -> bool:
    """Whether a version's (or run's) tags say it is of a kind that gets the baseline alias (by its
    ``frenk.kind`` tag, or for versions registered before it, the kind of its ``frenk.model``)."""
    return registry_alias(tags.get(Tag.MODEL, ""), tags.get(Tag.KIND)) == BASELINE


def newest_trained_version(name: str, baseline: bool = False) -> str | None:
    """The highest version of ``name`` registered by a frenk train run (tagged ``frenk.step=train``),
    among the baselines (TF-IDF) or among the other models."""
    versions = [int(v.version) for v in MlflowClient().search_model_versions(f"name='{name}'", max_results=10000)
                if v.tags.get(Tag.STEP) == "train" and _is_baseline(v.tags) == baseline]
    return str(max(versions)) if versions else None


def model_version(name: str, version: str, alias: str = "candidate"):
    """A registered model version by number, else the one carrying ``alias``."""
    check_model_name(name)
    client = MlflowClient()
    try:
        return client.get_model_version(name, version) if version else client.get_model_version_by_alias(name, alias)
    except MlflowException:
        what = f"version {version}" if version else f"a version with alias {alias!r}"
        raise TrackingError(
            f"registered model {name!r} has no {what}; train with -P register={name} first or pass -P version=<n>"
        ) from None


def alias_version(name: str, alias: str):
    """The version holding ``alias``, or None."""

    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def download_model(name: str, version: str, dst: Path) -> Path:
    """The Hugging Face folder inside a registered pyfunc model (exported, not retrained)."""
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(dst)))
    return local / "artifacts" / ARTIFACT


def promote(name: str, version: str, alias: str, tags: dict[str, str], previous, replaced_on: str,
            description: str = "") -> None:
    """Set ``alias`` on ``version``; the previous holder keeps a dated tag and the alias
    ``previous-<alias>`` so it stays reachable. ``description`` goes before the version's own
    (what it was trained as), which stays."""
    client = MlflowClient()
    if previous is not None and str(previous.version) != str(version):
        on_tag, by_tag = replaced_tags(alias)
        client.set_model_version_tag(name, str(previous.version), on_tag, replaced_on)
        client.set_model_version_tag(name, str(previous.version), by_tag, str(version))
        _set_alias(client, name, f"previous-{alias}", previous.version)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    if description:
        own = client.get_model_version(name, str(version)).description or ""
        kept = own.split(MARK, 1)[-1].strip() if MARK in own else own.strip()
        combined = f"{description}{MARK}{kept}" if kept else description
        client.update_model_version(name, str(version), description=combined)
    _set_alias(client, name, alias, version)


#: between a version's promotion note and the description it got at training
MARK = "\n\nTrained as: "


def version_of(name: str, run_ids: set[str]):
    """The newest registered version of ``name`` made by one of ``run_ids``, or None."""
    versions = [v for v in MlflowClient().search_model_versions(f"name='{name}'") if v.run_id in run_ids]
    return max(versions, key=lambda v: int(v.version)) if versions else None


def register_best(model_dir: Path | None, model_uri: str | None, run_id: str, name: str, reopen: bool) -> str | None:
    """Store the best seed's model and register it under ``name`` (empty: store only).

    ``model_uri``: the model was logged already (keep="all"); else it is logged now from
    ``model_dir`` into the seed's run ``run_id`` (reopened when it is a finished child run).
    Returns the new version, or None when nothing was registered.
    """
    if model_uri:
        return str(register(model_uri, name).version) if name else None
    if model_dir is None:
        return None
    if reopen:
        with resume_run(run_id):
            info = log_model(model_dir, name or None)
    else:
        info = log_model(model_dir, name or None)
    return str(info.registered_model_version) if name else None


def _training_status(run) -> tuple[str, str | None]:
    """(status of the run, status of its parent or None)."""
    parent = run.data.tags.get("mlflow.parentRunId")
    if not parent:
        return run.info.status, None
    try:
        return run.info.status, mlflow.get_run(parent).info.status
    except MlflowException:
        return run.info.status, "DELETED"


def _complete(client, name: str, version, run) -> None:
    """Give a version of a finished training the tags (and, unless a newer version holds it,
    the ``candidate`` alias) that the train run did not get to set."""
    hidden = (Tag.HOST, Tag.PID, Tag.TEMP_DIRS, Tag.REPEATS, Tag.CODE_VERSION)
    tags = {k: v for k, v in run.data.tags.items() if k.startswith(PREFIX) and k not in hidden}
    for key, value in {**tags, Tag.RUN_ID: run.info.run_id}.items():
        client.set_model_version_tag(name, str(version.version), key, value)
    alias = registry_alias(tags.get(Tag.MODEL, ""), tags.get(Tag.KIND))
    holder = alias_version(name, alias)
    if holder is None or int(holder.version) < int(version.version):
        client.set_registered_model_alias(name, alias, str(version.version))


def repair_versions(name: str) -> list[str]:
    """Make every registration of ``name`` by a frenk train run whole: a version whose training
    did not finish (the process was killed after registering) is deleted; a version of a
    finished training that lacks its tags is completed. Versions of running trainings and of
    other code are left alone. One line says what changed; returns the versions changed."""
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return []
    deleted, completed = [], []
    for v in versions:
        if not v.run_id:
            continue  # registered from no run: not a frenk training's
        try:
            run = mlflow.get_run(v.run_id)
        except MlflowException:
            continue
        status, parent = _training_status(run)
        if run.data.tags.get(Tag.STEP) != "train" or "RUNNING" in (status, parent):
            continue
        if status != "FINISHED" or parent not in (None, "FINISHED"):
            client.delete_model_version(name, str(v.version))
            deleted.append(str(v.version))
        elif Tag.RUN_ID not in v.tags:
            _complete(client, name, v, run)
            completed.append(str(v.version))
    if deleted or completed:
        log.info(f"registered model {name}: "
              + "; ".join(filter(None, [
                  f"deleted version(s) {', '.join(deleted)} (their training did not finish)" if deleted else "",
                  f"completed the tags of version(s) {', '.join(completed)}" if completed else ""])))
    return deleted + completed
