"""A wall-clock limit for calls that can run away (sympy's simplification, mostly).

Implemented with ``SIGALRM`` (a real interval timer), so it works in the main thread on
Unix; elsewhere (worker threads, Windows) the call runs without a limit.  Nested limits
keep the earliest deadline.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time

__all__ = ["time_limit", "CallTimeout"]


class CallTimeout(TimeoutError):
    """The call ran past its time limit."""


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`CallTimeout` inside the block once ``seconds`` have passed."""
    if seconds is None or not _can_alarm():
        yield
        return
    seconds = max(float(seconds), 1e-3)
    previous_handler = signal.getsignal(signal.SIGALRM)
    previous_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()
    if previous_remaining and previous_remaining < seconds:
        yield  # an outer limit fires first
        return

    def _raise(signum, frame):
        raise CallTimeout(f"gave up after {seconds:.3g} s")

    signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_remaining:
            left = previous_remaining - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
