"""Experiments: one per language and label scheme (``frenk-hr-binary``), with a description.

Runs go to ``frenk-<lang>-<labels>`` unless the user chose an experiment: ``MLFLOW_EXPERIMENT_NAME``
or ``MLFLOW_EXPERIMENT_ID``, ``mlflow run --experiment-name/--experiment-id``, or an active run.
Inside ``mlflow run`` of this project MLflow creates the run before frenk's code starts; the
``mlflow.default_experiment_provider`` plugin :mod:`.experiment_plugin` (pyproject.toml) tells it the
experiment from the command line's ``-P lang=``/``-P labels=``, so that the run lands there too.

Steps that read runs (compare, publish, main's reuse) search every experiment unless told one, so
that runs logged before this layout (in "Default") still count.
"""

from __future__ import annotations

import os
import re

import mlflow
from mlflow import MlflowClient

from ..core.choices import LANGS, LANGUAGE_NAMES, SCHEMES
from ..core.errors import ConfigError
from ..core.names import Tag
from ..core.secret_params import argv_params

SCHEME_TEXT = {
    "binary": "two classes, Acceptable / Offensive",
    "multiclass": "six classes of (un)acceptable discourse",
}
NOTE_TAG = "mlflow.note.content"


def experiment_name(lang: str, labels: str) -> str:
    return f"frenk-{lang}-{labels}"


def description(lang: str, labels: str) -> str:
    """The experiment's description (Markdown, shown above its runs in the MLflow UI)."""
    language = LANGUAGE_NAMES.get(lang, lang)
    scheme = SCHEME_TEXT.get(labels, labels)
    return (
        f"**Hate-speech classification of {language} Facebook comments on LGBT and migrant topics "
        f"(FRENK, {labels} labels: {scheme}).**\n\n"
        "Runs: `preprocess` (the data and its digest), `train` (a parent per model with one child run per "
        "seed; its description gives test macro-F1 mean ± sd and links the best seed), `tune` (an Optuna "
        "study, one child per trial), `compare` (paired tests of the models; the verdict is in its "
        "description, the full report in its artifacts), `publish` (what was promoted to `@champion` and why). "
        f"Group or chart by the tag `{Tag.MODEL}` to see one curve per model."
    )


def user_chose_experiment() -> bool:
    """Whether the user (or ``mlflow run``) named the experiment for this process's runs."""
    return bool(os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_ID")
                or os.environ.get("MLFLOW_RUN_ID"))


#: an experiment of model training, not of a GenAI application (MLflow 3.x UIs before 3.17 open it in
#: their machine-learning views; 3.17 decides by a switch per browser: the README says which)
ML_KIND = {"mlflow.experimentKind": "custom_model_development"}


def known(lang: str, labels: str) -> bool:
    """Whether ``lang`` and ``labels`` are a language and a label scheme of FRENK."""
    return lang in LANGS and labels in SCHEMES


def ensure(lang: str, labels: str) -> str:
    """The id of ``frenk-<lang>-<labels>``, created with its description when missing (two
    processes creating it at once both get it). An unknown language or scheme is refused before
    anything is created."""
    if not known(lang, labels):
        raise ConfigError(f"lang={lang!r}, labels={labels!r}: no such language or label scheme "
                          f"(languages: {', '.join(LANGS)}; schemes: {', '.join(SCHEMES)})")
    client = MlflowClient()
    name = experiment_name(lang, labels)
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name, tags={NOTE_TAG: description(lang, labels), **ML_KIND})
        except mlflow.exceptions.MlflowException:
            found = client.get_experiment_by_name(name)  # created by another process meanwhile
            if found is None:
                raise
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def write_targets(lang: str | None, labels: str | None, register: str = "") -> list[tuple[str, str]]:
    """What a step that logs runs (and registers ``register``) will write, as ``(resource type, id)``
    for :func:`frenk.team.access.require_write`: the experiment its run goes to and the
    registered model, each only if it exists already (a user owns what they create). Creates nothing."""
    client, found = MlflowClient(), []
    experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID")
    if os.environ.get("MLFLOW_RUN_ID"):
        experiment_id = client.get_run(os.environ["MLFLOW_RUN_ID"]).info.experiment_id
    if not experiment_id:
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or (experiment_name(lang, labels) if lang and labels else "")
        experiment = client.get_experiment_by_name(name) if name else None
        experiment_id = experiment.experiment_id if experiment is not None else None
    if experiment_id:
        found.append(("experiment", experiment_id))
    if register:
        try:
            client.get_registered_model(register)
            found.append(("registered_model", register))
        except mlflow.exceptions.MlflowException:
            pass  # not there yet: whoever registers it first owns it
    return found


def for_step(lang: str | None = None, labels: str | None = None, experiment_id: str | None = None) -> str | None:
    """The experiment a step's (top) run goes to: None where the user or ``mlflow run`` chose it
    (MLflow's own rule applies), else ``experiment_id`` if given, else ``frenk-<lang>-<labels>``."""
    if user_chose_experiment() or mlflow.active_run() is not None:
        return None
    if experiment_id:
        return experiment_id
    if lang and labels:
        return ensure(lang, labels)
    return None


#: entry points whose runs go to the experiment of their ``lang``/``labels`` parameters
_BY_LANG_LABELS = ("preprocess", "train", "tune", "main")
_GROUP = re.compile(r"^(hr|sl|en)-(binary|multiclass)$")


def project_params(argv: list[str]) -> tuple[str, dict[str, str]]:
    """The entry point and the ``-P name=value`` parameters of an ``mlflow run`` command line."""
    entry, i = "main", 0
    while i < len(argv):
        arg = argv[i]
        value = None
        for flag in ("-e", "--entry-point", "-P", "--param-list"):
            if arg == flag and i + 1 < len(argv):
                value, i = argv[i + 1], i + 1
                break
            if arg.startswith(flag + "=") and flag.startswith("--"):
                value = arg.split("=", 1)[1]
                break
        else:
            flag = None
        if flag in ("-e", "--entry-point") and value is not None:  # a flag found has its value
            entry = value
        i += 1
    return entry, argv_params(argv)  # every form of -P that click takes


def experiment_for_command(argv: list[str]) -> str | None:
    """The experiment id an ``mlflow run`` of this project should use, or None for MLflow's default
    (also for a language or label scheme that does not exist: the step refuses it, and no
    experiment is created for it)."""
    entry, params = project_params(argv)
    if entry in _BY_LANG_LABELS:
        lang, labels = params.get("lang", "hr"), params.get("labels", "binary")
        # an unknown one: MLflow's default experiment, where the step's refusal is recorded; none is created
        return ensure(lang, labels) if known(lang, labels) else None
    if entry == "compare":
        if params.get("experiment"):
            return None  # the experiment it reads; MLflow's default for the compare run itself
        match = _GROUP.match(params.get("group", ""))
        return ensure(*match.groups()) if match else None
    if entry == "publish":
        name = params.get("name") or "frenk-{lang}"
        return _experiment_of_version(name.replace("{lang}", params.get("lang", "hr")), params.get("version", ""))
    if entry == "evaluate":
        return _experiment_of_model(params.get("model", "models:/frenk-hr@champion"))
    return None


def _experiment_of_model(uri: str) -> str | None:
    """The experiment of the train run behind the version an evaluate's ``model`` names (None: MLflow's default,
    where the step's refusal of a model it cannot find is recorded)."""
    from ..core.errors import FrenkError
    from .evaluations import resolve_version

    try:
        mv = resolve_version(uri)
        return MlflowClient().get_run(mv.run_id).info.experiment_id if mv.run_id else None
    except (FrenkError, mlflow.exceptions.MlflowException):
        return None


def _experiment_of_version(name: str, version: str) -> str | None:
    """The experiment of the run behind the version publish would promote (``candidate`` by default)."""
    client = MlflowClient()
    try:
        mv = (client.get_model_version(name, version) if version
              else client.get_model_version_by_alias(name, "candidate"))
        return client.get_run(mv.run_id).info.experiment_id if mv.run_id else None
    except mlflow.exceptions.MlflowException:
        return None
