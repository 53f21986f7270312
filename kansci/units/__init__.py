"""Units and dimensional analysis: read units (pint), Buckingham pi groups, consistency checks."""

from ._analysis import DimensionalCheck as DimensionalCheck
from ._analysis import check_dimensions as check_dimensions
from ._buckingham import dimension_matrix as dimension_matrix
from ._buckingham import pi_groups as pi_groups
from ._buckingham import target_prefactor as target_prefactor
from ._dimension import BASES as BASES
from ._dimension import DIMENSIONLESS as DIMENSIONLESS
from ._dimension import Dimension as Dimension
from ._parse import Unit as Unit
from ._parse import parse_unit as parse_unit
from ._parse import parse_units as parse_units
from ._parse import parse_units_text as parse_units_text
from ._parse import split_header_units as split_header_units

__all__ = [
    "BASES",
    "DIMENSIONLESS",
    "DimensionalCheck",
    "Dimension",
    "Unit",
    "check_dimensions",
    "dimension_matrix",
    "parse_unit",
    "parse_units",
    "parse_units_text",
    "pi_groups",
    "split_header_units",
    "target_prefactor",
]
