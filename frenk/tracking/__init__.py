"""Tracking: the only package that imports MLflow.

* :mod:`.runs`: MLflow pointed at the tracking URI (checked before work starts, :mod:`frenk.team.connection`),
  step runs, tags, parameters, orphaned runs;
* :mod:`.experiments`: one experiment per language and label scheme (and its ``mlflow run`` plugin);
* :mod:`.results`: logging what the library returns (data, training results, reports);
* :mod:`.listeners`: training listeners that log each seed as a (child) run;
* :mod:`.registry`: pyfunc models, registration, aliases, export of a version;
* :mod:`.locks`: the promotion lock of a registered model (one publish moves its aliases at a time);
* :mod:`.search`: finding runs (comparison groups, seeds, reports, reusable runs);
* :mod:`.projects`: running entry points as MLflow project runs;
* :mod:`.pyfunc`: the pyfunc wrapper of a trained model;
* :mod:`.preflight`: the MLflow plugin that checks the server inside ``mlflow run``;
* :mod:`.outage`: a server that goes down during a training (the guard, the recovery folder);
* :mod:`.refusals`: the ``mlflow run`` run of a refused command, named and described as the refusal.

May import every library package (it logs what they return) and :mod:`frenk.team` (the connection);
never :mod:`frenk.steps`. The team stack and its permission checks (:mod:`frenk.team`) import no MLflow.
"""
