"""kansci: rediscover physical laws from tabular data with Kolmogorov-Arnold Networks."""

import logging as _logging

from . import datasets as datasets
from ._arrays import InputError as InputError
from ._estimator import KANRegressor as KANRegressor
from ._estimator import NotFittedError as NotFittedError
from ._parse import FormulaSyntaxError as FormulaSyntaxError
from ._parse import parse_expression as parse_expression
from ._io import ModelFormatError as ModelFormatError
from ._io import load_model as load_model
from ._io import save_model as save_model
from ._layer import KANLayer as KANLayer
from ._model import KAN as KAN
from ._train import fit as fit
from .discovery import Discovery as Discovery
from .discovery import DiscoveryError as DiscoveryError
from .discovery import discover as discover
from .formula import Formula as Formula
from .prune import prune_auto as prune_auto
from .prune import train_sparse as train_sparse
from .symbolic import Library as Library
from .symbolic import Primitive as Primitive
from .symbolic import auto_symbolic as auto_symbolic
from .symbolic import fix_symbolic as fix_symbolic
from .symbolic import suggest as suggest
from .symbolic import suggest_edges as suggest_edges

_logging.getLogger("kansci").addHandler(_logging.NullHandler())

__version__ = "0.1.0"
