"""The bottom layer: what every other frenk package shares, importing no other frenk package.

:mod:`~frenk.core.names` (the tag and metric names, one source), :mod:`~frenk.core.choices` (the
languages, label schemes, precisions, engines, samplers, pruners and other closed sets the
configs and the README offer), :mod:`~frenk.core.errors` (the error types, the one-line
explanations, the limits), :mod:`~frenk.core.checks` (single values: numbers, model names, aliases),
:mod:`~frenk.core.log` (the frenk logger), :mod:`~frenk.core.fields` (config fields with help text),
:mod:`~frenk.core.files` (all-or-nothing folders, staging names), :mod:`~frenk.core.interrupts`
(SIGTERM as Ctrl+C), :mod:`~frenk.core.provenance` (the code version), :mod:`~frenk.core.state`
(JSON + npy + parquet state, never a pickle) and :mod:`~frenk.core.secret_params` (no password
in a parameter; URL redaction).

May import: the standard library and third-party packages. Never another frenk package
(``tests/unit/test_architecture.py`` checks it).
"""
