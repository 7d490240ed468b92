"""Where models registered before frenk 0.2 look for their pyfunc wrapper (their pickles name
``frenk.pyfunc_model.FrenkTextClassifier``); the wrapper lives in :mod:`frenk.tracking.pyfunc`."""

from .tracking.pyfunc import ARTIFACT, FrenkTextClassifier

__all__ = ["ARTIFACT", "FrenkTextClassifier"]
