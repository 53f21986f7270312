"""Progress bars only where someone watches: a tqdm bar when asked for and stderr is a terminal.

A bar written to a captured stderr (a batch log, a CI job, a pipe) is one line per update;
there nobody watches it move, so it is left out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar", "stderr_is_terminal"]


def stderr_is_terminal() -> bool:
    """Whether ``sys.stderr`` (as it is now) is an interactive terminal."""
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable: Iterable | None = None, *, enabled: bool, **options: Any):
    """A ``tqdm`` bar over ``iterable``, drawn only when ``enabled`` and stderr is a terminal.

    Otherwise the same object, disabled: it iterates, ``update``, ``set_postfix`` and ``close``
    work and nothing is written.  ``options`` go to ``tqdm`` (``desc``, ``total``, ``leave``...).
    """
    from tqdm import tqdm

    return tqdm(iterable, disable=not (enabled and stderr_is_terminal()), **options)
