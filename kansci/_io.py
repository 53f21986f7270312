"""Saving and loading a KAN as weights plus a plain JSON config.

The file is a torch archive holding only strings, numbers and tensors, loaded with
``torch.load(..., weights_only=True)``: loading never runs code from the file.  Symbolic
edges are stored by primitive name (and expression text) and resolved against a primitive
library when loaded.

This module knows the file format only: :meth:`kansci.KAN.load` (and :func:`kansci.load_model`)
build the model from what :func:`read_model_file` returns, so the dependency runs one way,
``_model -> _io``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["save_model", "read_model_file", "resolve_primitive", "ModelFormatError", "DTYPES", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "kansci.KAN"
FORMAT_VERSION = 1
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


class ModelFormatError(ValueError):
    """The file is not a kansci model this version can read."""


def save_model(model, path) -> None:
    """Write a :class:`~kansci.KAN` to ``path`` (conventionally ``*.pt``); read it back with
    :func:`kansci.load_model` or :meth:`kansci.KAN.load`."""
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": json.dumps(model.config()),
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(payload, Path(path))


def resolve_primitive(entry: dict, library):
    """The primitive a saved symbolic edge names, looked up in ``library`` (default library)."""
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


def read_model_file(path, *, map_location=None) -> tuple[dict, dict]:
    """The checked ``(config, state)`` of a file written by :func:`save_model`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFormatError
        Not a kansci model file, another format version, or an unsupported dtype.
    """
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
    if cfg.get("dtype") not in DTYPES:
        raise ModelFormatError(f"{path} has an unsupported dtype {cfg.get('dtype')!r}")
    return cfg, payload["state"]
