"""Tuning: the search space (:mod:`.space`, YAML files; bundled defaults in ``spaces/``), the
Optuna study, its storage, sampler and pruner (:mod:`.study`), and the search loop whose
trials train through :func:`frenk.training.fit` (:mod:`.search`).

May import: :mod:`frenk.data`, :mod:`frenk.training`, :mod:`frenk.core.errors`, Optuna. Never
:mod:`frenk.tracking` or :mod:`frenk.steps`: MLflow follows through :class:`TrialListener`.
"""

from .search import SearchPlan, SearchResult, TrialListener, search
from .space import HYPERPARAMETERS, SearchSpace, load_space, parse_space
from .study import default_study_name, sampler_name

__all__ = ["HYPERPARAMETERS", "SearchPlan", "SearchResult", "SearchSpace",
           "TrialListener", "default_study_name", "load_space", "parse_space", "sampler_name", "search"]
