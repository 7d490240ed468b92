"""A SIGTERM is never lost, even when it arrives while Python runs a finaliser (where an
exception is printed as "Exception ignored" and dropped): the CI once saw a training finish
with exit 0 after such a SIGTERM."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from frenk.core.interrupts import raise_if_stop_requested, sigterm_as_interrupt


class _SignalsInFinaliser:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):  # the handler runs here, inside the finaliser
            pass


@pytest.fixture
def swallowed(monkeypatch) -> list[BaseException]:
    """What Python dropped as "Exception ignored" (``sys.unraisablehook``)."""
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: seen.append(unraisable.exc_value))
    return seen


def test_a_sigterm_swallowed_by_a_finaliser_is_raised_at_the_next_check(swallowed):
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), sigterm_as_interrupt():
        obj = _SignalsInFinaliser()
        del obj  # the KeyboardInterrupt raised in __del__ is ignored by Python
        raise_if_stop_requested()
    assert swallowed == []  # and not reported as "Exception ignored ... Traceback"
    raise_if_stop_requested()  # outside the block: nothing pending


def test_a_block_that_ends_after_a_swallowed_sigterm_still_stops(swallowed):
    reached_end = False
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), sigterm_as_interrupt():
        obj = _SignalsInFinaliser()
        del obj
        reached_end = True
    assert reached_end and swallowed == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the previous handler is back


def test_no_signal_no_interrupt_and_other_unraisable_errors_still_reported(swallowed):
    class Broken:
        def __del__(self):
            raise ValueError("a real bug in a finaliser")

    with sigterm_as_interrupt():
        obj = Broken()
        del obj
        raise_if_stop_requested()
    assert [type(e) for e in swallowed] == [ValueError]
