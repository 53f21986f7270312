import pickle

import numpy as np
import pytest
import scipy.special
import sympy
import torch

from kansci._evaluate import TorchExpression, numpy_function, torch_function

x, y = sympy.symbols("x y", real=True)
lam = sympy.Symbol("lambda")

RNG = np.random.default_rng(0)
XS = RNG.uniform(0.2, 0.9, 50)
YS = RNG.uniform(-0.9, 0.9, 50)

CASES = [
    (x + 2 * y, XS + 2 * YS),
    (x * y - 3, XS * YS - 3),
    (x**2, XS**2),
    (x**-2, XS**-2.0),
    (1 / x, 1 / XS),
    (x**3 * y, XS**3 * YS),
    (sympy.sqrt(x), np.sqrt(XS)),
    (1 / sympy.sqrt(x), 1 / np.sqrt(XS)),
    (x ** sympy.Rational(1, 3), XS ** (1 / 3)),
    (x**1.7, XS**1.7),
    (2**y, 2.0**YS),
    (x**y, XS**YS),
    (sympy.exp(-(x**2)) * sympy.log(x), np.exp(-(XS**2)) * np.log(XS)),
    (
        sympy.sin(sympy.pi * x) + sympy.cos(y) - sympy.tan(x),
        np.sin(np.pi * XS) + np.cos(YS) - np.tan(XS),
    ),
    (
        sympy.cot(x) + sympy.sec(x) + sympy.csc(x),
        1 / np.tan(XS) + 1 / np.cos(XS) + 1 / np.sin(XS),
    ),
    (
        sympy.asin(y) + sympy.acos(y) * sympy.atan(y),
        np.arcsin(YS) + np.arccos(YS) * np.arctan(YS),
    ),
    (
        sympy.sinh(y) + sympy.cosh(y) + sympy.tanh(y),
        np.sinh(YS) + np.cosh(YS) + np.tanh(YS),
    ),
    (
        sympy.asinh(y) + sympy.acosh(1 + x) + sympy.atanh(y),
        np.arcsinh(YS) + np.arccosh(1 + XS) + np.arctanh(YS),
    ),
    (sympy.Abs(y) * sympy.sign(y), np.abs(YS) * np.sign(YS)),
    (sympy.erf(y) + sympy.erfc(x), scipy.special.erf(YS) + scipy.special.erfc(XS)),
    (sympy.E * x + sympy.pi, np.e * XS + np.pi),
    (sympy.atan2(y, x), np.arctan2(YS, XS)),
    (sympy.Max(x, y), np.maximum(XS, YS)),
]


@pytest.mark.parametrize("expr, expected", CASES, ids=[str(c[0]) for c in CASES])
def test_numpy_and_torch_agree_with_numpy_reference(expr, expected):
    f = numpy_function(expr, [x, y])
    np.testing.assert_allclose(f(XS, YS), expected, rtol=1e-12)
    g = torch_function(expr, [x, y])
    out = g(torch.tensor(XS), torch.tensor(YS))
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)


def test_constant_expression_broadcasts_to_inputs():
    f = numpy_function(sympy.sqrt(2) * sympy.pi, [x])
    out = f(np.zeros(7))
    assert out.shape == (7,)
    np.testing.assert_allclose(out, np.sqrt(2) * np.pi)
    g = torch_function(sympy.Integer(3), [x, y])
    t = g(torch.zeros(4, dtype=torch.float32), torch.zeros(4, dtype=torch.float32))
    assert t.shape == (4,) and t.dtype == torch.float32 and torch.all(t == 3)


def test_symbol_named_like_a_keyword_works():
    f = numpy_function(lam**2 + 1, [lam])
    np.testing.assert_allclose(f(np.array([2.0, 3.0])), [5.0, 10.0])


def test_invalid_points_give_nan_without_warnings():
    f = numpy_function(sympy.log(x), [x])
    with np.errstate(all="raise"):
        out = f(np.array([-1.0, 1.0]))
    assert np.isnan(out[0]) and out[1] == 0.0


def test_errors_are_clear():
    with pytest.raises(ValueError, match="not among the given symbols"):
        numpy_function(x + y, [x])
    with pytest.raises(TypeError, match="string"):
        numpy_function("x + 1", [x])
    with pytest.raises(ValueError, match="cannot evaluate"):
        numpy_function(sympy.gamma(x), [x])
    f = numpy_function(x + y, [x, y])
    with pytest.raises(TypeError, match="expected 2 inputs"):
        f(XS)


def test_torch_follows_dtype_and_is_differentiable():
    expr = x**2 * sympy.sin(x) + sympy.exp(y) / x
    g = torch_function(expr, [x, y])
    xt = torch.tensor(XS, requires_grad=True)
    yt = torch.tensor(YS)
    g(xt, yt).sum().backward()
    dfdx = numpy_function(sympy.diff(expr, x), [x, y])(XS, YS)
    np.testing.assert_allclose(xt.grad.numpy(), dfdx, rtol=1e-10)
    out32 = g(
        torch.tensor(XS, dtype=torch.float32), torch.tensor(YS, dtype=torch.float32)
    )
    assert out32.dtype == torch.float32


def test_torch_expression_parameters_and_to_sympy():
    expr = 1.5 * sympy.sin(2.0 * x) + 0.25 * y**2 - sympy.Rational(1, 3)
    module = TorchExpression(expr, [x, y])
    assert module.constants.numel() == 3  # the floats; the rational stays exact
    assert module.to_sympy() == expr
    X = torch.tensor(np.column_stack([XS, YS]))
    out = module(X)
    assert out.shape == (50,)
    np.testing.assert_allclose(
        out.detach().numpy(), numpy_function(expr, [x, y])(XS, YS), rtol=1e-12
    )
    with torch.no_grad():
        module.constants[0] = 3.0
    assert module.to_sympy().has(sympy.Float(3.0))


def test_torch_expression_rationals_become_parameters_but_not_exponents():
    expr = sympy.Rational(1, 2) * x**2 + 3 * y
    module = TorchExpression(expr, [x, y], rationals=True)
    assert module.constants.numel() == 2
    assert module.to_sympy() == expr  # unchanged values stay exact


def test_torch_expression_constants_train():
    X = torch.tensor(np.column_stack([XS, YS]))
    target = torch.tensor(2.0 * np.sin(3.0 * XS) + YS)
    module = TorchExpression(1.0 * sympy.sin(2.5 * x) + y, [x, y])
    opt = torch.optim.LBFGS(
        module.parameters(), max_iter=100, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = torch.mean((module(X) - target) ** 2)
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(module.constants.detach().numpy(), [2.0, 3.0], atol=1e-5)


def test_torch_expression_shape_error_and_pickle():
    module = TorchExpression(0.5 * x + y, [x, y])
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        module(torch.zeros(3, 3))
    clone = pickle.loads(pickle.dumps(module))
    X = torch.rand(5, 2, dtype=torch.float64)
    torch.testing.assert_close(clone(X), module(X))
    assert "0.5" in repr(module)
