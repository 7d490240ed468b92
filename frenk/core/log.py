"""The ``frenk`` logger: every message frenk prints goes through it, in one format.

* notices (INFO) on stdout: ``frenk: <message>``;
* warnings on stderr: ``frenk: warning: <message>`` (errors: ``frenk: error: <message>``, which the
  CLI prints itself, :func:`frenk.cli.print_error`);
* a step's results (the compare report, the tune summary, what publish promoted) on stdout as
  they are, through :func:`result`.

:func:`configure` installs the handler once (the CLI calls it; the tests' conftest too). A program
that imports frenk and configures nothing gets Python's default: warnings on stderr, no notices.
"""

from __future__ import annotations

import logging
import os
import sys

#: the logger every frenk module's logger descends from (``logging.getLogger(__name__)``)
LOGGER = "frenk"
#: the logger of a step's results, printed without a prefix
RESULT = f"{LOGGER}.result"


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == RESULT:
            return message
        if record.levelno >= logging.ERROR:
            return f"frenk: error: {message}"
        if record.levelno >= logging.WARNING:
            return f"frenk: warning: {message}"
        return f"frenk: {message}"


class _Handler(logging.Handler):
    """Writes to the current ``sys.stdout`` / ``sys.stderr`` (looked up at each message, so that a
    redirected or captured stream gets it), flushing each line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 (logging's own convention)
            self.handleError(record)


def configure(verbose: bool = False) -> None:
    """Install frenk's handler on the ``frenk`` logger (once; a second call only sets the level)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(h, _Handler) for h in logger.handlers):
        handler = _Handler()
        handler.setFormatter(_Format())
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def result(text: str) -> None:
    """Print a step's result (a report, a summary) as it is, on stdout."""
    logging.getLogger(RESULT).info(text)


#: set to 1 for the libraries' own detail back (weights-loading and download bars, MLflow's notices)
VERBOSE_ENV = "FRENK_VERBOSE"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0", "false", "False")


def quiet_progress_bars() -> None:
    """No progress bars from Hugging Face (``Loading weights``, ``Writing model shards``, downloads),
    datasets or MLflow's artifact transfers, unless :data:`VERBOSE_ENV` is set (a user's own
    ``HF_HUB_DISABLE_PROGRESS_BARS`` or ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR`` is kept). The
    environment reaches libraries imported later and spawned processes; libraries already imported
    are told directly."""
    if verbose():
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    if "datasets" in sys.modules:
        from datasets.utils import logging as datasets_logging

        datasets_logging.disable_progress_bar()
