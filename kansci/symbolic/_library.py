"""`Library`: an ordered, name-keyed collection of primitives that edges are snapped to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from ._custom import custom_primitive
from ._defaults import DEFAULT_PRIMITIVES
from ._primitive import Primitive

__all__ = ["Library"]


class Library(Mapping[str, Primitive]):
    """An ordered mapping ``name -> Primitive``.

    Parameters
    ----------
    primitives : iterable of Primitive, optional
        Entries in order; names must be unique.

    Examples
    --------
    >>> lib = Library.default()          # a fresh copy; changing it never changes the default
    >>> lib.add("sinh", "sinh(x)")       # parsed without eval
    >>> small = lib.subset(["x", "x^2", "sin", "0"])
    """

    def __init__(self, primitives: Iterable[Primitive] = ()) -> None:
        self._items: dict[str, Primitive] = {}
        for primitive in primitives:
            if not isinstance(primitive, Primitive):
                raise TypeError(
                    f"Library entries must be Primitive objects, got {type(primitive).__name__}"
                )
            if primitive.name in self._items:
                raise ValueError(f"duplicate primitive name {primitive.name!r}")
            self._items[primitive.name] = primitive

    @classmethod
    def default(cls) -> Library:
        """A new library holding the default primitives (see ``kansci.symbolic._defaults``)."""
        return cls(DEFAULT_PRIMITIVES)

    # --- Mapping ------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Primitive:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(
                f"no primitive named {name!r}; available: {', '.join(self._items)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Library([{', '.join(self._items)}])"

    # --- editing ------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        text: str,
        complexity: int | None = None,
        *,
        domain: tuple[float, float] | None = None,
        replace: bool = False,
    ) -> Primitive:
        """Add a primitive given as a formula in one variable.

        Parameters
        ----------
        name : str
            New key; must not exist yet unless ``replace=True``.
        text : str
            E.g. ``"sinh(x)"`` or ``"x*exp(-x)"``; parsed by ``kansci._parse`` (never
            ``eval``), any single variable name is accepted.
        complexity : int, optional
            Default ``1 + sympy.count_ops(expr)``.
        domain : (float, float), optional
            Where the function is real and finite. Found numerically when omitted (sampling
            ``[-1e6, 1e6]``; isolated non-finite samples become poles).
        replace : bool
            Allow overwriting an existing entry of the same name.

        Returns
        -------
        Primitive
            The entry added. Its symmetries (odd/even, scale- or shift-free) are detected
            numerically; its torch form clamps ``u`` into the domain interval but does not
            guard poles inside it.

        Raises
        ------
        ValueError
            Name clash, bad name or complexity, text that does not parse or has not exactly
            one variable (``kansci._parse.FormulaSyntaxError``), constant expression.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"primitive name must be a non-empty str, got {name!r}")
        if name in self._items and not replace:
            raise ValueError(
                f"a primitive named {name!r} already exists ({self._items[name].expr}); pass "
                f"replace=True to overwrite it or choose another name"
            )
        if complexity is not None and (not isinstance(complexity, int) or complexity < 0):
            raise ValueError(f"complexity must be an int >= 0, got {complexity!r}")
        primitive = custom_primitive(name, text, complexity, domain)
        self._items[name] = primitive
        return primitive

    def remove(self, name: str) -> None:
        """Remove the entry ``name`` (KeyError listing the names when absent)."""
        self[name]  # raises the helpful KeyError
        del self._items[name]

    def subset(self, names: Iterable[str]) -> Library:
        """A new library with only ``names``, in the order given."""
        names = [names] if isinstance(names, str) else list(names)
        return Library(self[name] for name in names)

    def copy(self) -> Library:
        """A shallow copy (primitives are immutable, so this is a full copy in effect)."""
        return Library(self._items.values())
