"""Formula stage: refine, recognise and tidy a composed formula; name, measure and export it."""

from ._complexity import complexity as complexity
from ._compose import compose as compose
from ._compose import rational_rewrite as rational_rewrite
from ._export_latex import to_latex as to_latex
from ._export_numpy import to_numpy as to_numpy
from ._export_torch import to_torch as to_torch
from ._formula import Formula as Formula
from ._naming import VariableMap as VariableMap
from ._naming import latex_name as latex_name
from ._naming import sanitize_name as sanitize_name
from ._naming import symbols_for as symbols_for
from ._naming import variables_from_symbols as variables_from_symbols
from ._recognise import Recognition as Recognition
from ._physical import CONSTANTS as CONSTANTS
from ._physical import PhysicalConstant as PhysicalConstant
from ._physical import physical_constants_in as physical_constants_in
from ._physical_fit import recognise_physical as recognise_physical
from ._physical_match import ConstantMatch as ConstantMatch
from ._physical_match import match_physical_constant as match_physical_constant
from ._recognise import recognise_constants as recognise_constants
from ._recognise import recognise_with_record as recognise_with_record
from ._refine import RefineInfo as RefineInfo
from ._refine import refine_constants as refine_constants
from ._simplify import simplify_formula as simplify_formula
from ._uncertainty import ConstantEstimate as ConstantEstimate
from ._uncertainty import constant_errors as constant_errors
from ._simplify import tidy as tidy

__all__ = [
    "CONSTANTS",
    "ConstantEstimate",
    "ConstantMatch",
    "PhysicalConstant",
    "Formula",
    "Recognition",
    "RefineInfo",
    "VariableMap",
    "complexity",
    "compose",
    "constant_errors",
    "latex_name",
    "match_physical_constant",
    "physical_constants_in",
    "recognise_physical",
    "recognise_constants",
    "rational_rewrite",
    "recognise_with_record",
    "refine_constants",
    "sanitize_name",
    "simplify_formula",
    "symbols_for",
    "tidy",
    "to_latex",
    "to_numpy",
    "to_torch",
    "variables_from_symbols",
]
