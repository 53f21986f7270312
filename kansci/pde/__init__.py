"""Physics-informed training of KANs (and any torch network) on partial differential equations.

- :func:`gradient`, :func:`laplacian`: derivatives of ``u(x)`` by autograd, kept differentiable
  in the parameters (second derivatives of kansci's cubic B-spline layers are exact);
- :func:`poisson_residual`: the residual of ``laplacian(u) = source``;
- :func:`box_interior`, :func:`box_boundary`: collocation points of a box domain;
- :func:`fit_pinn`: residual + boundary loss, LBFGS/Adam, coarse-to-fine grids for a KAN;
- :func:`extend_covering`: grid extension that keeps a KAN's function exactly, even where a
  hidden layer's inputs have drifted outside its grid;
- :func:`relative_l2`: the error against an exact solution;
- :func:`minimize`: the full-batch optimisation loop underneath (any scalar loss);
- :func:`snap_solution`, :func:`separability`: the symbolic step, a trained solution as a
  closed-form formula (separable solutions factor by factor, others edge by edge).
"""

from ._derivatives import gradient as gradient
from ._derivatives import laplacian as laplacian
from ._derivatives import poisson_residual as poisson_residual
from ._extend import extend_covering as extend_covering
from ._optimize import minimize as minimize
from ._pinn import box_boundary as box_boundary
from ._pinn import box_interior as box_interior
from ._pinn import fit_pinn as fit_pinn
from ._pinn import relative_l2 as relative_l2
from ._symbolic import SolutionFormula as SolutionFormula
from ._symbolic import separability as separability
from ._symbolic import snap_solution as snap_solution

__all__ = [
    "SolutionFormula",
    "box_boundary",
    "box_interior",
    "extend_covering",
    "fit_pinn",
    "gradient",
    "laplacian",
    "minimize",
    "poisson_residual",
    "relative_l2",
    "separability",
    "snap_solution",
]
