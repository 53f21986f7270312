"""kansci: rediscover physical laws from tabular data with Kolmogorov-Arnold Networks."""

import logging as _logging

from ._arrays import InputError as InputError
from ._io import ModelFormatError as ModelFormatError
from ._io import load_model as load_model
from ._io import save_model as save_model
from ._layer import KANLayer as KANLayer
from ._model import KAN as KAN
from ._train import fit as fit

_logging.getLogger("kansci").addHandler(_logging.NullHandler())

__version__ = "0.1.0"
