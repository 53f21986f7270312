"""kansci: rediscover physical laws from tabular data with Kolmogorov-Arnold Networks."""

import logging as _logging

_logging.getLogger("kansci").addHandler(_logging.NullHandler())

__version__ = "0.1.0"
