"""The names frenk writes into a tracking store, one home each: run tags, registered-model and
version tags, Optuna study and trial attributes, the files beside a model's weights, and the
library's metric names.

Nothing else in ``frenk/`` spells a ``frenk.*`` name (``tests/unit/test_names.py`` fails on such
a literal anywhere else); :mod:`frenk.tracking` serialises these, and the README's tag table lists
them. A value here is part of users' stores: change one only with a reader for the old name.
"""

from __future__ import annotations

#: the namespace of every frenk tag and attribute
PREFIX = "frenk."


class Tag:
    """Run tags (and, where named so, registered-model and model-version tags)."""

    # what a run is
    STEP = "frenk.step"  #: the entry point: preprocess, train, tune, compare, publish, main, evaluate
    LANG = "frenk.lang"
    LABELS = "frenk.labels"
    DATA_DIGEST = "frenk.data_digest"  #: digest of the prepared splits
    DATA_SOURCE = "frenk.data_source"  #: the preprocess source: hub, sample or a path
    CODE_VERSION = "frenk.code_version"  #: digest of the project's source (frenk.core.provenance)
    MAIN_RUN = "frenk.main_run"  #: the main run a step ran under
    STEPS = "frenk.steps"  #: on a main run: its steps, step:run id, comma-separated
    # a train run and its seed runs
    MODEL = "frenk.model"  #: the preset's name
    KIND = "frenk.kind"  #: the model kind (frenk.training.kinds), which decides the registry alias
    ENGINE = "frenk.engine"  #: a transformer's training loop
    SEED = "frenk.seed"  #: the repeat's seed, seed + r (with vary=both also its init and data seed)
    INIT_SEED = "frenk.init_seed"  #: the seed of the model's own randomness: the head's initialisation, dropout
    DATA_SEED = "frenk.data_seed"  #: the seed of the order of the training examples
    GROUP = "frenk.group"  #: the comparison group compare selects on
    REPEATS = "frenk.repeats"
    BEST_RUN_ID = "frenk.best_run_id"
    BEST_SEED = "frenk.best_seed"
    MODEL_ID = "frenk.model_id"  #: the Hub id of the base model
    TUNE_RUN = "frenk.tune_run"  #: the tune run whose best parameters a training used
    RELOAD_CHECK = "frenk.reload_check"
    RELOAD_MAX_PROB_DIFF = "frenk.reload_max_prob_diff"  #: the largest probability change on reload
    RESULTS_TABLE = "frenk.results_table"  #: a run logged in the sectioned layout (value: the table's file)
    SCORED_CLASSES = "frenk.scored_classes"  #: JSON list of the classes test macro-F1 averages over
    # stop and resume
    RESUME_FOLDER = "frenk.resume_folder"
    CONTINUED_BY = "frenk.continued_by"  #: on a stopped parent: the run that resumed it
    TRAIN_DIGEST = "frenk.train_digest"  #: digest of what a resumed training must match
    TRACKING_USER = "frenk.tracking_user"  #: the basic-auth user that started a run
    # Slurm (train -P slurm=...)
    SLURM_JOB = "frenk.slurm_job"  #: a seed run's array task (<array job>_<index>); a parent's: the array job
    SLURM_ARRAY_INDEX = "frenk.slurm_array_index"  #: a seed run's index in the array
    SLURM_FINISH_JOB = "frenk.slurm_finish_job"  #: on a parent: the job that summarised it and registered the best
    MISSING_SEEDS = "frenk.missing_seeds"  #: on a parent whose seed tasks failed for good: their seeds
    # orphans: who started a run, and what it left on disk
    HOST = "frenk.host"
    PID = "frenk.pid"
    TEMP_DIRS = "frenk.temp_dirs"
    ORPHANED = "frenk.orphaned"
    # tune
    STUDY = "frenk.study"
    SAMPLER = "frenk.sampler"
    BEST_TRIAL = "frenk.best_trial"
    TRIAL = "frenk.trial"
    TRIAL_STATE = "frenk.trial_state"
    DUPLICATE_OF = "frenk.duplicate_of"  #: a trial run that repeated an earlier configuration
    SEEDS = "frenk.seeds"  #: a trial's trained tuning seeds; a tune run's: the study's (comma-separated)
    TIED_TRIALS = "frenk.tied_trials"  #: a tune run's trials that its seeds cannot tell from the best
    # compare
    SYSTEMS = "frenk.systems"
    COMPARED_RUNS = "frenk.compared_runs"
    BEST_SYSTEM = "frenk.best_system"
    LOOK = "frenk.look"  #: which look at one test set (systems, deciding metric, data digests) a compare is
    LOOK_KEY = "frenk.look_key"  #: digest of the systems, the deciding metric and the data digests
    LOOK_RUNS = "frenk.look_runs"  #: digest of the compared run ids (the same runs again: the same look)
    BLOCKS = "frenk.blocks"  #: a comparison across data sets: its blocks (groups), comma-separated
    # model versions (publish) and the promotion lock's registered model
    RUN_ID = "frenk.run_id"
    WEIGHTS_SHA256 = "frenk.weights_sha256"
    MODEL_VERSION = "frenk.model_version"
    COMPARE_RUN = "frenk.compare_run"
    GATE = "frenk.gate"
    FORCED = "frenk.forced"
    PROMOTED_ON = "frenk.promoted_on"
    PUBLISHED_TO = "frenk.published_to"
    LOCK_FOR = "frenk.lock_for"
    LOCK_HOST = "frenk.lock_host"
    LOCK_PID = "frenk.lock_pid"
    LOCK_STARTED = "frenk.lock_started"
    LOCK_TOKEN = "frenk.lock_token"
    # evaluate: a registered version scored on other data (out of domain), and the version's links back
    EVALUATED_MODEL = "frenk.evaluated_model"  #: on an evaluate run: the registered model (its version: MODEL_VERSION)
    EVALUATED_SPLIT = "frenk.evaluated_split"  #: the split of the prepared folder (test, validation, train, all; file)
    TOPICS = "frenk.topics"  #: the topics of the evaluated comments, comma-separated
    LABEL_MAPPING = "frenk.label_mapping"  #: how the data's gold labels became the model's (e.g. multiclass->binary)
    PREDICTIONS_ONLY = "frenk.predictions_only"  #: true: the data had no labels, the run holds predictions only
    EVALUATE_RUNS = "frenk.evaluate_runs"  #: on a model version: its evaluate runs, comma-separated
    # dataset inputs
    SOURCE = "frenk.source"
    PREPARED = "frenk.prepared"


class Attr:
    """Optuna study and trial user attributes."""

    GRID = "frenk.grid"  #: a study's grid, stored once
    METRIC = "frenk.metric"
    WORKER = "frenk.worker"
    DUPLICATE_OF = "frenk.duplicate_of"
    RETRY_OF = "frenk.retry_of"
    #: a trial created after another worker took the budget's last place (both read the count at once)
    SURPLUS = "frenk.surplus"
    #: a study's tuning seeds (a list), and a trial's value on each seed it trained ({seed: value})
    SEEDS = "frenk.seeds"
    SEED_VALUES = "frenk.seed_values"


class Metric:
    """The library's metric names (training results, the comparison, the card). The tracking
    store shows the top-level ones in UI sections (``test/macro_f1``):
    :mod:`frenk.tracking.metric_names` maps between the two."""

    TEST_ACCURACY = "test_accuracy"
    TEST_MACRO_F1 = "test_macro_f1"
    FINAL_VAL_ACCURACY = "final_val_accuracy"
    FINAL_VAL_MACRO_F1 = "final_val_macro_f1"
    TRAIN_SECONDS = "train_seconds"
    #: the training loss's first logged value minus its last (<= 0: the loss did not fall)
    TRAIN_LOSS_DROP = "train_loss_drop"
    PEAK_GPU_MEMORY_MB = "peak_gpu_memory_mb"
    RELOAD_MAX_PROB_DIFF = "reload_max_prob_diff"
    TEST_ACCURACY_MEAN = "test_accuracy_mean"
    TEST_ACCURACY_STD = "test_accuracy_std"
    TEST_MACRO_F1_MEAN = "test_macro_f1_mean"
    TEST_MACRO_F1_STD = "test_macro_f1_std"
    # per epoch
    VAL_MACRO_F1 = "val_macro_f1"
    VAL_ACCURACY = "val_accuracy"
    VAL_LOSS = "val_loss"
    TRAIN_LOSS = "train_loss"
    # on compare runs, per pair: compare/<metric>/<a>_vs_<b>/<statistic> (see pair_metric)
    PAIR_STATISTICS = ("p_value", "difference", "ci_low", "ci_high")

    @staticmethod
    def pair_metric(metric: str, a: str, b: str, statistic: str) -> str:
        """The compare run's metric of one pair's ``statistic`` (characters MLflow refuses become _)."""
        safe = "".join(ch if ch.isalnum() or ch in "_-. " else "_" for ch in f"{a}_vs_{b}")
        return f"compare/{metric}/{safe}/{statistic}"


#: the file beside a saved model's weights: max_length, labels, what a reloading wrapper needs
META_FILE = "frenk.json"


def tag_names() -> frozenset[str]:
    """Every tag of :class:`Tag`."""
    return frozenset(v for k, v in vars(Tag).items() if k.isupper())


def replaced_tags(alias: str) -> tuple[str, str]:
    """The tags a version keeps when a newer one takes ``alias``: when, and by which version."""
    return f"{PREFIX}{alias}_replaced_on", f"{PREFIX}{alias}_replaced_by"


def search_tag(tag: str) -> str:
    """A tag as an MLflow search filter spells it: ``tags.`frenk.step```."""
    return f"tags.`{tag}`"
