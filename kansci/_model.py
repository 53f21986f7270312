"""The KAN: a stack of KAN layers with named inputs and outputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._grid import refit_grid
from ._io import DTYPES, read_model_file, resolve_primitive, save_model
from ._layer import KANLayer, SymbolicPrimitive

__all__ = ["KAN", "load_model"]


def _check_width(width: Sequence[int]) -> list[int]:
    width = [int(w) for w in width]
    if len(width) < 2 or any(w < 1 for w in width):
        raise ValueError(f"width must list at least two positive layer sizes, e.g. [2, 5, 1]; got {width}")
    return width


class KAN(nn.Module):
    """Kolmogorov-Arnold Network.

    Parameters
    ----------
    width : node counts ``[n_in, hidden..., n_out]``.
    grid : grid intervals G per edge.
    k : spline order (3 = cubic).
    seed : seed of the initialisation (a private generator; the global RNG is untouched).
    grid_range : initial input range of every layer's grid.
    input_names, output_names : labels used in tables, plots and formulas.
    dtype, device : as in torch.
    **layer_options : forwarded to every :class:`KANLayer` (``noise_scale``, ``base_fun``, ...).
    """

    def __init__(
        self,
        width: Sequence[int],
        grid: int = 5,
        k: int = 3,
        seed: int = 0,
        *,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **layer_options,
    ) -> None:
        super().__init__()
        self.width = _check_width(width)
        self.k, self.seed = int(k), int(seed)
        self.grid_range = (float(grid_range[0]), float(grid_range[1]))
        self.layer_options = dict(layer_options)
        self.input_names = self._names(input_names, self.width[0], "x")
        self.output_names = self._names(output_names, self.width[-1], "y")
        gen = torch.Generator().manual_seed(self.seed)
        self.layers = nn.ModuleList(
            KANLayer(
                n_in, n_out, grid, k, grid_range=grid_range, generator=gen,
                dtype=dtype, device=device, **layer_options,
            )
            for n_in, n_out in zip(self.width[:-1], self.width[1:])
        )

    @staticmethod
    def _names(names, n, prefix) -> list[str]:
        if names is None:
            return [f"{prefix}{i}" for i in range(n)] if n > 1 or prefix == "x" else [prefix]
        names = [str(s) for s in names]
        if len(names) != n:
            raise ValueError(f"expected {n} names for the {prefix!r} side, got {len(names)}: {names}")
        return names

    # ------------------------------------------------------------------ info
    @property
    def grid(self) -> int:
        return self.layers[0].grid

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].coef.dtype

    @property
    def device(self) -> torch.device:
        return self.layers[0].coef.device

    def extra_repr(self) -> str:
        return f"width={self.width}, grid={self.grid}, k={self.k}, inputs={self.input_names}"

    # --------------------------------------------------------------- forward
    def _as_input(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if x.ndim != 2 or x.shape[1] != self.width[0]:
            raise ValueError(f"expected inputs of shape (batch, {self.width[0]}), got {tuple(x.shape)}")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def forward_with_hidden(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output and the input of every layer (``hidden[0]`` is ``x``)."""
        hidden = []
        for layer in self.layers:
            hidden.append(x)
            x = layer(x)
        return x, hidden

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output and the edge features of every layer (for the regulariser)."""
        feats = []
        for layer in self.layers:
            x, f = layer.forward_features(x)
            feats.append(f)
        return x, feats

    @torch.no_grad()
    def layer_inputs(self, x) -> list[torch.Tensor]:
        """The inputs of every layer for ``x``, plus the final output as the last entry."""
        out, hidden = self.forward_with_hidden(self._as_input(x))
        return hidden + [out]

    @torch.no_grad()
    def edge_activations(self, x, *, chunk_size: int = 8192) -> list[torch.Tensor]:
        """Every edge's output on ``x``, per layer ``(batch, in, out)``, computed on request."""
        x = self._as_input(x)
        parts: list[list[torch.Tensor]] = [[] for _ in self.layers]
        for start in range(0, x.shape[0], chunk_size):
            h = x[start : start + chunk_size]
            for li, layer in enumerate(self.layers):
                parts[li].append(layer.edge_activations(h))
                h = layer(h)
        return [torch.cat(p) for p in parts]

    @torch.no_grad()
    def predict(self, x) -> torch.Tensor:
        return self(self._as_input(x))

    # ------------------------------------------------------------------ grid
    @torch.no_grad()
    def update_grid(self, x, *, margin: float = 0.01) -> None:
        """Set every input's grid range from the data it sees, keeping each learned function."""
        h = self._as_input(x)
        for layer in self.layers:
            refit_grid(layer, h, from_data=True, margin=margin)
            h = layer(h)

    @torch.no_grad()
    def extend_grid(self, grid: int, x=None) -> None:
        """Grid extension G -> ``grid`` on the current ranges (coarse to fine), keeping the functions.

        ``x`` (optional) adds the data points to the dense fitting points of each input.
        """
        h = None if x is None else self._as_input(x)
        for layer in self.layers:
            nxt = None if h is None else layer(h)
            refit_grid(layer, h, grid=grid)
            h = nxt

    def snapshot(self) -> dict:
        """A copy of the full state (weights, grids), restorable with :meth:`restore`."""
        return {
            "grid": [layer.grid for layer in self.layers],
            "state": {k: v.detach().clone() for k, v in self.state_dict().items()},
        }

    def restore(self, snapshot: dict) -> None:
        """Return to a state taken by :meth:`snapshot` (grid sizes included)."""
        for layer, g in zip(self.layers, snapshot["grid"]):
            layer.resize_grid(g)
        self.load_state_dict(snapshot["state"])

    # -------------------------------------------------------------- symbolic
    def set_symbolic(self, layer: int, i: int, j: int, primitive: SymbolicPrimitive, affine=(1.0, 0.0, 1.0, 0.0)) -> None:
        """Switch edge ``i -> j`` of ``layer`` to ``c*f(a*x+b)+d`` (``affine = (a, b, c, d)``)."""
        self.layers[layer].set_symbolic(i, j, primitive, affine)

    def unset_symbolic(self, layer: int, i: int, j: int) -> None:
        """Return edge ``i -> j`` of ``layer`` to its spline."""
        self.layers[layer].unset_symbolic(i, j)

    def symbolic_edges(self) -> dict[tuple[int, int, int], SymbolicPrimitive]:
        return {(li, i, j): p for li, layer in enumerate(self.layers) for (i, j), p in layer.symbolic_edges().items()}

    # ----------------------------------------------------------------- io
    def config(self) -> dict:
        """A plain, JSON-serialisable description from which :meth:`from_config` rebuilds the model."""
        return {
            "width": list(self.width),
            "grid": [layer.grid for layer in self.layers],
            "k": self.k,
            "seed": self.seed,
            "grid_range": list(self.grid_range),
            "input_names": list(self.input_names),
            "output_names": list(self.output_names),
            "layer_options": dict(self.layer_options),
            "dtype": str(self.dtype).removeprefix("torch."),
            "symbolic": [
                {"layer": li, "i": i, "j": j, "primitive": p.name, "expr": str(getattr(p, "expr", ""))}
                for (li, i, j), p in sorted(self.symbolic_edges().items())
            ],
        }

    @classmethod
    def from_config(cls, config: dict, *, library=None) -> KAN:
        """A model with the architecture and symbolic edges of :meth:`config` (weights fresh).

        Symbolic edges are resolved by primitive name in ``library`` (default library);
        :class:`~kansci.ModelFormatError` names a primitive that is missing there.
        """
        cfg = config
        model = cls(
            cfg["width"], grid=cfg["grid"][0], k=cfg["k"], seed=cfg["seed"], grid_range=tuple(cfg["grid_range"]),
            input_names=cfg["input_names"], output_names=cfg["output_names"],
            dtype=DTYPES[cfg["dtype"]], **cfg["layer_options"],
        )
        for layer, g in zip(model.layers, cfg["grid"]):
            layer.resize_grid(g)
        for entry in cfg["symbolic"]:
            model.set_symbolic(entry["layer"], entry["i"], entry["j"], resolve_primitive(entry, library))
        return model

    def save(self, path) -> None:
        """Save as weights plus a plain JSON config (see :func:`kansci.save_model`)."""
        save_model(self, path)

    @classmethod
    def load(cls, path, *, library=None, map_location=None) -> KAN:
        """Load a model saved by :meth:`save`; never runs code from the file.

        ``library`` resolves the primitives of symbolic edges (default library).  Raises
        FileNotFoundError, or :class:`~kansci.ModelFormatError` for a file of another kind.
        """
        cfg, state = read_model_file(path, map_location=map_location)
        model = cls.from_config(cfg, library=library)
        model.load_state_dict(state)
        if map_location is not None:
            model.to(map_location)
        return model

    @classmethod
    def from_formula(cls, formula, inputs: Sequence[str] | None = None, *, output: str = "y",
                     products: str = "square", X=None, symbolic: bool = True, grid: int = 10, k: int = 3,
                     seed: int = 0, dtype: torch.dtype = torch.float64, library=None, **layer_options) -> KAN:
        """A KAN whose edges are the pieces of ``formula``: start from a hypothesis, fit it, and
        see which parts the data change.

        Sums are nodes, each function ``g(a*u + b)`` is a symbolic edge (a primitive of
        ``library``, or a custom primitive for functions outside it), products ``k*u*v`` are two
        ``x^2`` edges on the nodes ``u+v`` and ``u-v`` (the quarter-square identity, exact for any
        sign) or, with ``products="log"``, ``k*exp(sum p_i log u_i)`` for positive factors.
        ``kansci.formula.compose(model)`` gives the formula back (constants as floats).

        Parameters
        ----------
        formula : str (read by :func:`kansci.parse_expression`, never ``eval``) or sympy.Expr.
        inputs : the input names, in order (default: the formula's names, sorted); inputs the
            formula does not use get no edges.
        output : the output name.
        products : ``"square"`` or ``"log"``, see above.
        X : array-like (n, len(inputs)), optional: data on which every edge's grid is placed and
            its spline fitted to its symbolic function, so that an edge returned to its spline
            (:func:`kansci.symbolic.unfix_symbolic`) starts at the hypothesis.
        symbolic : keep the edges symbolic (default); False returns every edge as its spline
            fitted to the formula's piece (needs ``X``), free to be changed by training.
        grid, k, seed, dtype, **layer_options : as for :class:`KAN`.
        library : a :class:`~kansci.symbolic.Library` to take the primitives from.

        Raises
        ------
        kansci.FormulaSyntaxError
            The text is not a formula, or names an input not in ``inputs``.
        FormulaStructureError (a ValueError)
            A part has no KAN form (a function of two arguments, ``x**y``...); the message names it.
        """
        from ._from_formula import build_from_formula

        return build_from_formula(cls, formula, inputs, output=output, products=products, X=X, symbolic=symbolic,
                                  grid=grid, k=k, seed=seed, dtype=dtype, library=library, **layer_options)

    def fit(self, X, y, **options):
        """Train in place; see :func:`kansci.fit`. Returns the history DataFrame."""
        from ._train import fit

        return fit(self, X, y, **options)


def load_model(path, *, library=None, map_location=None) -> KAN:
    """Read a model written by :func:`kansci.save_model`; see :meth:`KAN.load`."""
    return KAN.load(path, library=library, map_location=map_location)
