"""The steps behind the entry points: library work plus tracking, one module each.

Each step function takes a typed config (:mod:`frenk.config`) and returns a result; the entry
points only parse options into the config and call one of these.
"""

from .compare import compare
from .evaluate import evaluate
from .main import main
from .preprocess import preprocess
from .publish import publish
from .train import train
from .tune import tune

__all__ = ["compare", "evaluate", "main", "preprocess", "publish", "train", "tune"]
