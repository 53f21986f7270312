"""kansci: rediscover physical laws from tabular data with Kolmogorov-Arnold Networks.

The public names below are imported on first use (PEP 562), so ``import kansci`` and
``kansci --help`` do not pay for torch, sympy and scipy until something needs them.
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
from typing import TYPE_CHECKING

# public name -> the private module that defines it
_EXPORTS = {
    "InputError": "._arrays",
    "KANRegressor": "._estimator",
    "NotFittedError": "._estimator",
    "FormulaSyntaxError": "._parse",
    "parse_expression": "._parse",
    "ModelFormatError": "._io",
    "save_model": "._io",
    "load_model": "._model",
    "KANLayer": "._layer",
    "KAN": "._model",
    "fit": "._train",
    "Discovery": ".discovery",
    "Discoveries": ".discovery",
    "DiscoveryError": ".discovery",
    "discover": ".discovery",
    "Formula": ".formula",
    "prune_auto": ".prune",
    "train_sparse": ".prune",
    "Library": ".symbolic",
    "Primitive": ".symbolic",
    "auto_symbolic": ".symbolic",
    "fix_symbolic": ".symbolic",
    "suggest": ".symbolic",
    "suggest_edges": ".symbolic",
}
_SUBPACKAGES = ("bench", "cli", "datasets", "discovery", "formula", "plot", "prune", "symbolic")

__all__ = sorted([*_EXPORTS, "datasets", "discovery", "formula", "plot", "prune", "symbolic"])

if TYPE_CHECKING:  # what static tools see; at run time __getattr__ imports these on demand
    from . import datasets, discovery, formula, plot, prune, symbolic
    from ._arrays import InputError
    from ._estimator import KANRegressor, NotFittedError
    from ._io import ModelFormatError, save_model
    from ._layer import KANLayer
    from ._model import KAN, load_model
    from ._parse import FormulaSyntaxError, parse_expression
    from ._train import fit
    from .discovery import Discoveries, Discovery, DiscoveryError, discover
    from .formula import Formula
    from .prune import prune_auto, train_sparse
    from .symbolic import Library, Primitive, auto_symbolic, fix_symbolic, suggest, suggest_edges


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'kansci' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBPACKAGES))


_logging.getLogger("kansci").addHandler(_logging.NullHandler())

__version__ = "0.1.0"
