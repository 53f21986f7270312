"""Thread count for small problems.

Elementwise and matrix kernels on a few thousand rows gain nothing from a second thread, and
on a shared, busy machine every parallel region waits for a descheduled thread: measured
here, a 1,000-row fit ran 6-9x slower with 2 threads than with 1 while other processes
were busy.  Small fits therefore run single-threaded; large ones keep torch's setting.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["threads_for", "use_threads"]

# rows x (sum over layers of in*(G+k)) below which one thread is used
_SMALL_WORK = 4_000_000


def threads_for(n_rows: int, model, requested: int | str | None = "auto") -> int | None:
    """The thread count to use, or None to keep torch's current setting."""
    if requested is None:
        return None
    if requested != "auto":
        return int(requested)
    work = n_rows * sum(layer.in_dim * layer.n_basis for layer in model.layers)
    return 1 if work < _SMALL_WORK else None


@contextlib.contextmanager
def use_threads(n: int | None):
    """Temporarily run torch with ``n`` intra-op threads (no change when None)."""
    if n is None or n == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
