"""Turning the scheduler's SIGTERM (Slurm, Kubernetes, ``kill``) into the same clean stop as
Ctrl+C: a KeyboardInterrupt raised in the main thread, which the steps turn into failed or
killed runs, removed temporary folders and a message.

Python ignores an exception raised while it runs a finaliser or a weak-reference callback
("Exception ignored in ..."), and a signal can arrive just then. So the handler also records
the signal, and the long loops call :func:`raise_if_stop_requested` at safe points (each
training step, each seed, each trial): a stop request is never lost, and Python's "Exception
ignored" report of it is not printed."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

_received: list[int] = []
#: inside :func:`deferred`: a SIGTERM is only recorded, and acted on when the block has ended
_deferring: list[bool] = []


def _raise_interrupt(signum, frame) -> None:
    _received.append(signum)
    if not _deferring:
        raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


def stop_requested() -> bool:
    """Whether a SIGTERM arrived in the current :func:`sigterm_as_interrupt` block."""
    return bool(_received)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A section that must not stop half-way (a promotion: folder, alias and tags together): a
    SIGTERM inside it is recorded, not raised; the enclosing :func:`sigterm_as_interrupt` block
    raises it at its end (or the code asks :func:`stop_requested` first). Ctrl+C is not deferred."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()


def raise_if_stop_requested() -> None:
    """Raise KeyboardInterrupt again if a SIGTERM arrived in this block (a no-op otherwise)."""
    if _received:
        raise KeyboardInterrupt(f"received signal {signal.Signals(_received[-1]).name}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only; a no-op elsewhere).

    A block that ends normally after a SIGTERM whose exception was swallowed raises it at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous_hook = sys.unraisablehook

    def quiet_when_recorded(unraisable) -> None:  # no "Exception ignored ... Traceback" for a recorded stop
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and _received):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_when_recorded
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
        raise_if_stop_requested()
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook
        _received.clear()
