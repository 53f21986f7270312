"""Units in discovery: read them, check formulas against them, name physical constants.

With units, discovery (1) searches among the dimensionless groups first (``_dimensional``),
(2) drops every candidate that no choice of its constants' units makes dimensionally
consistent (``exp`` of a length, a length plus a time), (3) names fitted constants that match
products of CODATA constants of the right dimension within their uncertainty, and (4)
reports the unit of every constant of the chosen formula.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sympy

from .._arrays import InputError
from ..units import Dimension, Unit, check_dimensions, parse_unit, parse_units, split_header_units
from ._dimensional import COMPLETION, MAX_COMPLETION
from ._rounding import normalise_ratio, snap_rounding

__all__ = ["UnitsSetup", "setup_units", "install_physical_constants", "snap_rounding", "normalise_ratio"]

log = logging.getLogger("kansci")



@dataclass
class UnitsSetup:
    """The units of a problem's columns, as dimensions and SI factors per symbol."""

    units: dict[str, Unit]  # column -> Unit (inputs and target)
    symbols: dict  # Symbol -> (Dimension, factor)
    target: tuple[Dimension, float]
    target_name: str
    columns: list[str]
    constants: bool = True  # physical constants may complete the dimensions

    # ---------------------------------------------------------------- reading
    @staticmethod
    def read_header(df: pd.DataFrame, units):
        """Units from ``name [unit]`` headers: (renamed frame, units).

        Only when every column's name ends in a bracketed unit that pint reads; otherwise the
        names are left as they are (``m [kg]`` beside ``v (m/s)`` is just a name).  Units given
        as well (``units``, by bare or full column name) take precedence over the header's.
        """
        if not isinstance(df, pd.DataFrame):
            return df, units
        names, found = split_header_units([str(c) for c in df.columns])
        if len(found) != len(names) or len(set(names)) != len(names):  # every column needs one
            return df, units
        try:
            for text in found.values():
                parse_unit(text)
        except InputError as exc:  # brackets that are not units: leave the names alone
            log.debug("header brackets are not units (%s); ignoring them", exc)
            return df, units
        mapping = dict(zip([str(c) for c in df.columns], names))
        renamed = df.copy()
        renamed.columns = names
        renamed.attrs["kansci_header_units"] = mapping
        if units is not None:
            from ..units._parse import units_mapping

            found = {**found, **{mapping.get(c, c): u for c, u in units_mapping(units).items()}}
        return renamed, found

    def restrict(self, problem) -> UnitsSetup:
        """The same units for a problem with fewer input columns."""
        cols = list(problem.columns)
        syms = {s: self.symbols[s] for s in problem.symbols}
        return UnitsSetup({c: u for c, u in self.units.items() if c in cols or c == self.target_name},
                          syms, self.target, self.target_name, cols, self.constants)

    # ---------------------------------------------------------------- search
    def stages(self):
        from ._dimensional import dimensional_strategy
        from ._stages import default_strategies
        from ._symmetry import with_symmetry

        def reduced_stages():
            # the groups may have symmetries of their own (theta1 - theta2), tested before the
            # expression search: a reduction's share of the time is often too short for both
            return with_symmetry(default_strategies(), before="search")

        return [("units", lambda ctx: dimensional_strategy(ctx, self, stages=reduced_stages), 0.6)]

    def install(self, ctx, *, physical_constants: bool) -> None:
        self.constants = bool(physical_constants)
        check_formable(self)
        ctx.hooks.append(self.consistency_hook)
        if physical_constants:
            install_physical_constants(ctx, self)

    def consistent(self, expr) -> bool:
        chk = check_dimensions(expr, self.symbols, self.target)
        return chk.consistent or not chk.analysed

    def consistency_hook(self, ctx, cands):
        kept = [c for c in cands if self.consistent(c.expr)]
        if len(kept) < len(cands):
            ctx.diagnostics["dimensionally_inconsistent"] = ctx.diagnostics.get("dimensionally_inconsistent", 0) + len(cands) - len(kept)
            log.debug("units: rejected %d dimensionally inconsistent formula(s)", len(cands) - len(kept))
        return kept

    # ---------------------------------------------------------------- report
    def annotate(self, result, chosen) -> None:
        """Units of the columns and of every fitted constant of the chosen formula."""
        from ..formula._refine import Model

        result.units = {c: str(u) for c, u in self.units.items()}
        expr = chosen.expr
        chk = check_dimensions(expr, self.symbols, self.target)
        try:
            values = Model(expr, list(self.symbols)).p0
        except ValueError:
            values = []
        rows = []
        for v, info in zip(values, chk.constants):
            unit = None if info is None else str(info[0])
            si = None if info is None else float(v) * info[1]
            rows.append({"value": float(v), "unit": unit, "si_value": si})
        result.constant_units = rows


def setup_units(units, problem, available: Sequence[str], *, target_name: str | None = None) -> UnitsSetup:
    """Parse and check the units of a problem (every input and the target need one).

    Raises
    ------
    kansci.InputError
        Unknown unit, a unit for a column the table does not have, a column without a unit.
    """
    from ..units._parse import units_mapping

    units = units_mapping(units)
    unknown = [c for c in units if c not in available]
    if unknown:
        raise InputError(f"units are given for column(s) {unknown}, which the table does not have; its columns are {list(available)}")
    target = target_name or problem.target
    given = {c: u for c, u in units.items() if c in problem.columns or c == target}
    parsed = parse_units(given, [*problem.columns, target])
    syms = {s: (parsed[c].dimension, parsed[c].factor) for s, c in zip(problem.symbols, problem.columns)}
    return UnitsSetup(parsed, syms, (parsed[target].dimension, parsed[target].factor), target,
                      list(problem.columns))


def check_formable(setup: UnitsSetup) -> None:
    """Raise a one-line InputError when the target's unit cannot be formed from the inputs'
    units (and, when allowed, up to three physical constants)."""
    from ..units._linear import solve
    from ..units import dimension_matrix
    from ..formula import PhysicalConstant
    import itertools

    dims = [d for d, _ in setup.symbols.values()]
    tdim = setup.target[0]
    pool = [PhysicalConstant(n).dimension for n in COMPLETION] if setup.constants else []
    for size in range(0, (MAX_COMPLETION if setup.constants else 0) + 1):
        for extra in itertools.combinations(pool, size):
            all_dims = dims + list(extra)
            if not all_dims:
                continue
            if solve(dimension_matrix(all_dims), list(tdim.exponents)) is not None:
                return
    inputs = ", ".join(f"{c} [{setup.units[c]}]" for c in setup.columns)
    extra = " even with physical constants" if setup.constants else " (physical constants are off)"
    raise InputError(
        f"the target's unit {setup.units[setup.target_name]} ({tdim}) cannot be formed from the inputs' "
        f"units ({inputs}){extra}; check the units or add the missing input"
    )


# ----------------------------------------------------------------------------- hooks
def install_physical_constants(ctx, setup: UnitsSetup | None) -> None:
    """Name fitted constants that match physical constants (with units: of the right dimension)."""
    from ..formula._physical_fit import recognise_physical
    from ._candidates import score

    def hook(ctx, cands):
        out = list(cands)
        seen = {c.key() for c in cands}
        for c in cands:
            if not c.expr.atoms(sympy.Float) or len(c.expr.atoms(sympy.Float)) > 8:
                continue
            X, y = ctx.raw.subset(ctx.raw.train)
            try:
                new = recognise_physical(
                    c.expr, ctx.raw.symbols, X, y,
                    units=None if setup is None else setup.symbols,
                    target=None if setup is None else setup.target,
                )
            except Exception as exc:  # naming is an improvement, never a requirement
                log.debug("physical constants: %s", exc)
                continue
            if new is None or new == c.expr:
                continue
            s = score(new, ctx.raw, c.source + "+constants", **c.notes)
            if s is not None and s.key() not in seen:
                seen.add(s.key())
                out.append(s)
        return out

    ctx.hooks.append(hook)
