"""A wall-clock limit for calls that can run away (sympy's simplification, mostly).

Implemented with ``SIGALRM`` (a real interval timer), so it works in the main thread on
Unix; elsewhere (worker threads, Windows) the call runs without a limit and the context
manager yields False.  The exception is a ``BaseException`` so that library code with a
broad ``except Exception`` (sympy has some) cannot swallow it; an outer timer is restarted
with what is left of it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

__all__ = ["time_limit", "CallTimeout"]


class CallTimeout(BaseException):
    """The call ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[bool]:
    """Raise :class:`CallTimeout` inside the block once ``seconds`` have passed.

    Yields whether the limit is enforced here (main thread, Unix).
    """
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield False
        return
    armed = [True]

    def alarm(signum: int, frame: object) -> None:
        if armed[0]:
            raise CallTimeout(f"gave up after {seconds:.3g} s")

    start = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    if 0 < previous_delay < seconds:  # an outer limit comes first: keep it
        signal.setitimer(signal.ITIMER_REAL, previous_delay)
    try:
        yield True
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            left = max(previous_delay - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)
