"""The closed sets the steps accept, one home each: the configs (:mod:`frenk.config`) offer them
as click choices, the library packages check against them, and the README's parameter tables
list them (``tests/unit/test_names.py`` checks the README against these)."""

from __future__ import annotations

from typing import Literal

from .names import Metric

#: FRENK's languages, and their names on the model card and in experiment descriptions
LANGS = ("hr", "sl", "en")
LANGUAGE_NAMES = {"hr": "Croatian", "sl": "Slovenian", "en": "English"}
#: FRENK's topics
TOPICS = ("lgbt", "migrants")
#: label schemes: Acceptable/Offensive, or the six FRENK classes
SCHEMES = ("binary", "multiclass")
#: the splits of a prepared folder that evaluate scores ("all": the three together)
EVAL_SPLITS = ("test", "validation", "train", "all")
#: numeric precision of a training ("auto": bf16/fp16 on a GPU that has it, fp32 on CPU)
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
#: the training loops of transformer models: this project's (the Trainer) or simpletransformers'
ENGINES = ("frenk", "simpletransformers")
#: with repeats, whose weights stay on disk
KEEP_CHOICES = ("best", "all", "none")
#: Optuna samplers and pruners of the tune step
SAMPLERS = ("auto", "grid", "tpe", "random", "bruteforce")
PRUNERS = ("auto", "median", "hyperband", "none")
#: validation metrics a study may optimise, and their direction
TUNE_METRICS: dict[str, Literal["maximize", "minimize"]] = {
    Metric.VAL_MACRO_F1: "maximize", Metric.VAL_ACCURACY: "maximize", Metric.VAL_LOSS: "minimize"}
#: the hyperparameters a search space, params= and args= may set
TUNABLE = ("learning_rate", "epochs", "batch_size", "warmup_ratio", "weight_decay", "max_length")
#: which source of randomness a training's repeats vary (frenk.training.seeds): both seeds at once
#: (each repeat r: seed + r for both), the initialisation only, the data order only, or the two
#: crossed (repeats = k * k: k init seeds x k data seeds)
VARY = ("both", "init", "data", "cross")
#: how compare treats two systems' runs: as independent samples ("none", the default), or paired
#: by seed and data digest ("seed": declared when same-seed runs share randomness, as in an
#: ablation of one model)
PAIRINGS = ("none", "seed")

#: the default practical margin (macro-F1 or accuracy units): half a point. One run's test-set
#: standard error is about 0.01-0.02 at FRENK's test sizes and the seed sd 0.003-0.015, so a
#: smaller difference is below what one test set can resolve and below what a paper would act on
MIN_DIFFERENCE = 0.005

#: the first tuning seed: a study's k seeds are TUNING_SEED_BASE, +1, ..., far from train's seeds
#: (42, 43, ... by default), so that a training of the tuned model never replays a trial
TUNING_SEED_BASE = 1_000_000
#: a study's seeds per configuration when tune is not told (raced: most configurations train fewer)
TUNING_SEEDS = 3
#: the one-sided level at which racing prunes a configuration that is clearly worse than the incumbent:
#: loose on purpose (a configuration as good as the incumbent is pruned at its first look about this
#: often, and then it rarely was grid x seeds' choice either: bench/results/racing_known_truth.md)
RACE_ALPHA = 0.2
#: the one-sided level at which the parent run calls a finished configuration worse than the best
#: (the others are "not clearly worse": the seeds cannot tell them from the best)
TIED_ALPHA = 0.05
#: a trial's Optuna steps: seed index x STEP_STRIDE + epoch, so per-epoch pruners compare the same
#: seed and epoch across trials
STEP_STRIDE = 1000
