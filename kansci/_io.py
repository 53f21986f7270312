"""Saving and loading a KAN as weights plus a plain JSON config.

The file is a torch archive holding only strings, numbers and tensors, loaded with
``torch.load(..., weights_only=True)``: loading never runs code from the file.  Symbolic
edges are stored by primitive name (and expression text) and resolved against a primitive
library when loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["save_model", "load_model", "ModelFormatError", "FORMAT", "FORMAT_VERSION"]

FORMAT = "kansci.KAN"
FORMAT_VERSION = 1
_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


class ModelFormatError(ValueError):
    """The file is not a kansci model this version can read."""


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (conventionally ``*.pt``)."""
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": json.dumps(model.config()),
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(payload, Path(path))


def _resolve_primitive(entry: dict, library):
    if library is None:
        from .symbolic import Library

        library = Library.default()
    name = entry["primitive"]
    if name in library:
        return library[name]
    raise ModelFormatError(
        f"the model uses a primitive {name!r} ({entry.get('expr', '')}) that is not in the library; "
        f"add it with library.add({name!r}, ...) and pass library= to load"
    )


def load_model(path, *, library=None, map_location=None):
    """Read a model written by :func:`save_model`."""
    from ._model import KAN

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        payload = torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or corrupt files
        raise ModelFormatError(f"{path} is not a kansci model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not a kansci model file (no '{FORMAT}' format tag)")
    version = payload.get("version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path} has model format version {version}; this kansci reads version {FORMAT_VERSION}. "
            "Re-save the model with the kansci version that wrote it, or refit it"
        )
    cfg = json.loads(payload["config"])
    if cfg.get("dtype") not in _DTYPES:
        raise ModelFormatError(f"{path} has an unsupported dtype {cfg.get('dtype')!r}")
    model = KAN(
        cfg["width"], grid=cfg["grid"][0], k=cfg["k"], seed=cfg["seed"], grid_range=tuple(cfg["grid_range"]),
        input_names=cfg["input_names"], output_names=cfg["output_names"],
        dtype=_DTYPES[cfg["dtype"]], **cfg["layer_options"],
    )
    for layer, g in zip(model.layers, cfg["grid"]):
        layer.resize_grid(g)
    for entry in cfg["symbolic"]:
        model.set_symbolic(entry["layer"], entry["i"], entry["j"], _resolve_primitive(entry, library))
    model.load_state_dict(payload["state"])
    if map_location is not None:
        model.to(map_location)
    return model
