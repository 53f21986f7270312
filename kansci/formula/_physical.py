"""Named physical constants (CODATA, from ``scipy.constants``) as sympy numbers.

A :class:`PhysicalConstant` is a sympy ``NumberSymbol`` like ``pi``: a number with a name.  It
prints as its name (``hbar``), shows in LaTeX as ``\\hbar``, evaluates to its CODATA value
(numpy, torch and ``predict`` see a plain number) and is never refitted as a float constant.
Each constant carries its dimension, so dimensional analysis sees through it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import sympy

__all__ = ["CONSTANTS", "PhysicalConstant", "physical_constant", "physical_constants_in", "prefer_h"]


@dataclass(frozen=True)
class _Spec:
    name: str  # as printed in formulas (a valid identifier)
    codata: str  # key in scipy.constants.physical_constants
    unit: str  # its SI unit, for dimensional analysis
    latex: str
    description: str


_SPECS = (
    _Spec("c", "speed of light in vacuum", "m/s", "c", "speed of light in vacuum"),
    _Spec("h", "Planck constant", "J*s", "h", "Planck constant"),
    _Spec("hbar", "reduced Planck constant", "J*s", r"\hbar", "reduced Planck constant"),
    _Spec("G", "Newtonian constant of gravitation", "m**3/(kg*s**2)", "G", "Newtonian constant of gravitation"),
    _Spec("k_B", "Boltzmann constant", "J/K", "k_{B}", "Boltzmann constant"),
    _Spec("q_e", "elementary charge", "C", "q_{e}", "elementary charge"),
    _Spec("eps_0", "vacuum electric permittivity", "F/m", r"\varepsilon_{0}", "vacuum electric permittivity"),
    _Spec("mu_0", "vacuum mag. permeability", "N/A**2", r"\mu_{0}", "vacuum magnetic permeability"),
    _Spec("m_e", "electron mass", "kg", "m_{e}", "electron mass"),
    _Spec("N_A", "Avogadro constant", "1/mol", "N_{A}", "Avogadro constant"),
    _Spec("sigma_SB", "Stefan-Boltzmann constant", "W/(m**2*K**4)", r"\sigma_{SB}", "Stefan-Boltzmann constant"),
)


class PhysicalConstant(sympy.NumberSymbol):
    """A named CODATA constant inside a formula (``PhysicalConstant("hbar")``).

    Attributes
    ----------
    name : str
        Its name in formulas (``c``, ``h``, ``hbar``, ``G``, ``k_B``, ``q_e``, ``eps_0``,
        ``mu_0``, ``m_e``, ``N_A``, ``sigma_SB``).
    value : float
        CODATA value in SI units (``scipy.constants``).
    uncertainty : float
        CODATA standard uncertainty, SI units (0 for the constants exact since 2019).
    unit : str
        SI unit; ``dimension`` is its :class:`kansci.units.Dimension`.

    Instances are unique per name (sympy compares number symbols by identity).
    """

    is_real = True
    is_positive = True
    is_finite = True
    is_number = True
    is_commutative = True

    def __new__(cls, name: str):
        table = _registry()
        if name not in table:
            raise ValueError(f"unknown physical constant {name!r}; known: {', '.join(table)}")
        return table[name]

    @classmethod
    def _create(cls, spec: _Spec) -> PhysicalConstant:
        import scipy.constants

        obj = sympy.AtomicExpr.__new__(cls)
        value, _, uncertainty = scipy.constants.physical_constants[spec.codata]
        obj._spec = spec
        obj._value = float(value)
        obj._uncertainty = float(uncertainty)
        return obj

    # --------------------------------------------------------------- identity
    def __getnewargs__(self):
        return (self._spec.name,)

    def __getstate__(self):
        return {}

    def __setstate__(self, state):  # the registry instance already carries everything
        pass

    def __reduce__(self):
        return (PhysicalConstant, (self._spec.name,))

    def __reduce_ex__(self, protocol):
        return self.__reduce__()

    def _hashable_content(self):
        return (self._spec.name,)

    def __hash__(self) -> int:
        return hash(("PhysicalConstant", self._spec.name))

    # --------------------------------------------------------------- values
    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def value(self) -> float:
        return self._value

    @property
    def uncertainty(self) -> float:
        return self._uncertainty

    @property
    def relative_uncertainty(self) -> float:
        return self._uncertainty / self._value

    @property
    def unit(self) -> str:
        return self._spec.unit

    @property
    def description(self) -> str:
        return self._spec.description

    @property
    def latex_name(self) -> str:
        return self._spec.latex

    @property
    def dimension(self):
        from ..units._parse import parse_unit

        return parse_unit(self._spec.unit).dimension

    def _as_mpf_val(self, prec):
        return mpmath.libmp.from_str(repr(self._value), prec, mpmath.libmp.round_nearest)

    def approximation_interval(self, number_cls):
        if issubclass(number_cls, sympy.Rational):
            v = sympy.Rational(repr(self._value))
            return (v, v)
        return None

    # --------------------------------------------------------------- printing
    @classmethod
    def class_key(cls):
        return 2, 0, "QPhysicalConstant"  # after pi, before variables: 4*pi*eps_0*r**2

    def _sympystr(self, printer) -> str:
        return getattr(printer, "_kansci_constant_names", {}).get(self._spec.name, self._spec.name)

    def _sympyrepr(self, printer) -> str:
        return f"PhysicalConstant({self._spec.name!r})"

    def _latex(self, printer) -> str:
        return self._spec.latex

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(self._spec.name)

    def _numpycode(self, printer) -> str:
        return repr(self._value)

    _pythoncode = _numpycode
    _lambdacode = _numpycode


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, PhysicalConstant]:
    return {s.name: PhysicalConstant._create(s) for s in _SPECS}


def physical_constant(name: str) -> PhysicalConstant:
    """The constant named ``name`` (see :class:`PhysicalConstant`)."""
    return PhysicalConstant(name)


def physical_constants_in(expr: sympy.Basic) -> dict[str, float]:
    """The named constants a formula uses: ``{name: SI value}``, sorted by name."""
    found = expr.atoms(PhysicalConstant) if isinstance(expr, sympy.Basic) else set()
    return {c.name: c.value for c in sorted(found, key=lambda c: c.name)}


def prefer_h(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` written with ``h`` instead of ``hbar`` when that is shorter (``2*pi*hbar`` -> ``h``)."""
    from ._complexity import complexity

    hbar = _registry()["hbar"]
    if not expr.has(hbar):
        return expr
    alt = expr.xreplace({hbar: _registry()["h"] / (2 * sympy.pi)})
    return alt if complexity(alt) < complexity(expr) else expr


class _Constants:
    """``CONSTANTS["hbar"]`` or ``CONSTANTS.hbar``: the named constants, by name."""

    def __getitem__(self, name: str) -> PhysicalConstant:
        return PhysicalConstant(name)

    def __getattr__(self, name: str) -> PhysicalConstant:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return PhysicalConstant(name)
        except ValueError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(_registry().values())

    def __len__(self) -> int:
        return len(_registry())

    def names(self) -> list[str]:
        return list(_registry())


CONSTANTS = _Constants()
"""All named constants: ``CONSTANTS["eps_0"]``, ``CONSTANTS.hbar``, ``list(CONSTANTS)``."""
