"""Command-line options generated from the typed step configs.

Each entry point is ``command(ConfigClass, step_function)``: one click option per
dataclass field (with the field's help text and choices), the parsed options build the
config (whose ``__post_init__`` validates them), and the step function does the work.
A :class:`~frenk.core.errors.FrenkError`, and what :func:`~frenk.core.errors.explain` recognises (the tracking
server's 401/403, a full disk, any ``OSError``), is printed as one clear line and exits with status 2
(``--debug`` or ``FRENK_DEBUG=1`` shows its traceback too); an interrupt (Ctrl+C, SIGTERM
during training) is one line and exit status 130. :func:`print_error` is the one place that prints
an error: control characters in it (from a file's content, say) are escaped. Under ``mlflow run``,
whose run exists before the step starts, a refusal (a FrenkError, a parameter click refuses) is also
recorded on that run: named ``<step>-refused``, tagged with its step (``Tag.STEP``), the error line as its description.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
import typing
from collections.abc import Callable

import click

from .core.errors import FrenkError, explain
from .core.log import configure as configure_logging
from .core.log import quiet_progress_bars
from .core.secret_params import SecretInParameter, refuse_credentials


def _forget_leaked_run() -> str:
    """Under ``mlflow run`` (which logged the parameters before the step started), delete its run;
    what was done, as the end of the error line."""
    if not os.environ.get("MLFLOW_RUN_ID"):
        return ""
    from .tracking.runs import forget_leaked_run

    return ". " + forget_leaked_run(os.environ["MLFLOW_RUN_ID"])


def _record_refusal(step: str, message: str) -> None:
    """Under ``mlflow run``, the run it created before the step started records the refusal
    (:func:`frenk.tracking.refusals.record_refusal`); nothing where there is no such run."""
    if not os.environ.get("MLFLOW_RUN_ID"):
        return
    from .tracking.refusals import record_refusal

    record_refusal(step, message)


def escape(text: str) -> str:
    """``text`` with control and other unprintable characters as escapes (``\\x00``, ``\\n``)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


#: an error longer than this (a file's content in it, say) keeps its beginning and its end
MAX_ERROR_CHARS = 2000


def print_error(message: str) -> None:
    """The one line ``frenk: error: <message>`` on stderr, control characters escaped, at most
    :data:`MAX_ERROR_CHARS` characters (the middle of a longer one is cut)."""
    text = escape(str(message))
    if len(text) > MAX_ERROR_CHARS:
        cut = len(text) - MAX_ERROR_CHARS
        text = f"{text[:MAX_ERROR_CHARS - 600]} [... {cut} characters ...] {text[-600:]}"
    click.echo(f"frenk: error: {text}", err=True)


def debug_wanted() -> bool:
    return os.environ.get("FRENK_DEBUG", "") not in ("", "0", "false", "False")


class _WholeNumber(click.ParamType):
    """An integer option that also takes ``42.0``: MLproject declares numbers as floats, and
    ``mlflow run`` passes them as written. ``42.5`` is refused."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if not number.is_integer():
            self.fail(f"{value!r} is not a whole number", param, ctx)
        return int(number)


_TYPES = {"str": click.STRING, "int": _WholeNumber(), "float": click.FLOAT, "bool": click.BOOL}


def _click_type(f: dataclasses.Field) -> click.ParamType:
    choices = f.metadata.get("choices")
    if choices:
        return click.Choice(list(choices))
    name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if name not in _TYPES:
        raise TypeError(f"config field {f.name} has unsupported type {name}")
    return _TYPES[name]


def _configure_and_run(config_cls: type, step: Callable[[typing.Any], typing.Any], kwargs: dict) -> None:
    """No secret in a parameter, then the config (validated), then the step."""
    for name, value in kwargs.items():
        refuse_credentials(name, value)
    step(config_cls(**kwargs))


def command(config_cls: type, step: Callable[[typing.Any], typing.Any]) -> click.Command:
    """Return a click command that parses ``config_cls``'s fields and runs ``step(config)``."""

    step_name = getattr(step, "__name__", "step")

    def run(debug: bool = False, **kwargs: typing.Any) -> None:
        debug = debug or debug_wanted()
        configure_logging(verbose=debug)
        quiet_progress_bars()
        try:
            _configure_and_run(config_cls, step, kwargs)
        except SecretInParameter as exc:
            print_error(f"{exc}{_forget_leaked_run()}")
            sys.exit(2)
        except Exception as exc:
            message = str(exc) if isinstance(exc, FrenkError) else explain(exc)
            if message is None:
                raise
            if debug:
                traceback.print_exc()
            print_error(message)
            _record_refusal(step_name, escape(message))
            sys.exit(2)
        except KeyboardInterrupt as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"frenk: interrupted ({exc or 'Ctrl+C'}); the runs in progress are marked KILLED", err=True)
            sys.exit(130)

    cmd = click.option("--debug", is_flag=True, default=False,
                       help="show the traceback of an error (also FRENK_DEBUG=1)")(run)
    for f in reversed(dataclasses.fields(config_cls)):
        if not f.init:
            continue
        cmd = click.option(
            f"--{f.name.replace('_', '-')}",
            f.name,
            type=_click_type(f),
            default=f.default,
            show_default=True,
            help=f.metadata.get("help", ""),
        )(cmd)
    return click.command(cls=_StepCommand, help=(config_cls.__doc__ or "").strip(), step_name=step_name)(cmd)


class _StepCommand(click.Command):
    """A step's command: a parameter that click itself refuses (``--lang de``: not a choice, a typo'd
    option, ``--repeats x``) is one line ``frenk: error: <click's message>`` (with its "did you mean")
    and exit status 2, and is recorded like a refused config (:func:`_record_refusal`)."""

    def __init__(self, *args: typing.Any, step_name: str = "step", **kwargs: typing.Any):
        super().__init__(*args, **kwargs)
        self.step_name = step_name

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            message = " ".join(exc.format_message().split())
            print_error(message)
            _record_refusal(self.step_name, escape(message))
            sys.exit(2)
