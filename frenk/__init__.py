"""frenk: MLflow-tracked hate-speech classification experiments on the FRENK datasets.

Importing the package does no work: no directories are made, no tracking URI is set
and no logging is configured.
"""

__version__ = "0.1.0"
