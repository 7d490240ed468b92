"""The team stack and a client's side of it; imports no MLflow (and nothing of frenk but the core).

* :mod:`.server`: the stack (PostgreSQL, ``mlflow server`` as a separate process, basic-auth) behind
  ``frenk-serve`` (``python -m frenk.team.server``);
* :mod:`.connection`: where the tracking server is (``MLFLOW_TRACKING_URI``), the credentials a
  client sends, and the check before any work that it answers and accepts them;
* :mod:`.access`: basic-auth permissions, asked over REST before a step changes anything.

:mod:`frenk.tracking` builds on :mod:`.connection`; the steps ask :mod:`.access`.
"""
