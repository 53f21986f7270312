"""Choosing the torch device: ``None``/"cpu" (the default), "cuda", "cuda:N", "auto".

Asking for a device that is not there is bad input, so it raises :class:`kansci.InputError`
with one line that says what to use instead, before any work is done.
"""

from __future__ import annotations

import torch

from ._arrays import InputError

__all__ = ["resolve_device", "DEVICE_HELP"]

DEVICE_HELP = "'cpu' (default), 'cuda', 'cuda:N' or 'auto' (a GPU when there is one)"


def _no_cuda_reason() -> str:
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) was built without CUDA"
    return "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"


def resolve_device(device=None) -> torch.device:
    """The ``torch.device`` to run on.

    Parameters
    ----------
    device : None or "cpu" (the CPU), "cuda" / "cuda:N" (a GPU), "auto" (the first GPU when
        one is available, else the CPU), or a ``torch.device``.

    Raises
    ------
    kansci.InputError
        When the device is unknown, or a GPU is asked for and none is available.
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"unknown device {device!r}; use {DEVICE_HELP}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise InputError(f"device {device!r} is not supported; use {DEVICE_HELP}")
    if not torch.cuda.is_available():
        raise InputError(f"device {str(device)!r} was asked for, but {_no_cuda_reason()}; use device 'cpu'")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"device {str(device)!r} does not exist: {torch.cuda.device_count()} CUDA GPU(s) visible; "
                         "use 'cuda:0'")
    return dev
