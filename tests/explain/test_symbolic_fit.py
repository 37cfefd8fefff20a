"""Symbolic fits recover known a*g(b*x+c)+d; ranking; sympy composition equals the network."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from kanpde.explain import (
    LIBRARY,
    EdgeFit,
    SymbolicKAN,
    fit_edge,
    fit_function,
    formula_error,
    rank_fits,
    tidy,
)
from kanpde.explain.formula import nice_number
from kanpde.models import KAN, ScaledModel

# true (a, b, c, d) per library function, on x in [-0.7, 1.3]
CASES = {
    "x": (2.0, 1.0, 0.0, 0.5), "x^2": (1.5, 0.8, 0.3, -0.2), "x^3": (0.7, 1.2, -0.4, 0.1),
    "x^4": (0.3, 1.1, 0.2, 0.4), "exp": (0.5, 1.3, 0.2, -1.0), "sin": (1.2, 2.5, 0.4, 0.3),
    "cos": (0.8, 3.0, -0.5, 0.2), "tanh": (1.1, 2.0, -0.3, 0.0), "log": (0.9, 1.5, 2.0, 0.1),
    "sqrt": (1.3, 0.8, 1.0, -0.5), "abs": (0.6, 1.7, -0.5, 0.2), "1/x": (0.4, 1.0, 2.0, 0.3),
    "gaussian": (1.0, 1.5, -0.4, 0.1), "sigmoid": (2.0, 3.0, -1.0, -0.5),
    "arctan": (1.0, 2.0, 0.5, 0.0),
}


def test_every_library_function_is_covered():
    assert set(CASES) | {"0"} == set(LIBRARY)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_recovers_the_function(name):
    a, b, c, d = CASES[name]
    g = LIBRARY[name].numpy
    x = np.linspace(-0.7, 1.3, 300)
    fit = fit_function(x, a * g(b * x + c) + d, name)
    assert fit.unexplained < 1e-20 and fit.r2 == pytest.approx(1.0, abs=1e-15)
    # the parameters are equivalent: the same function beyond the sampled range
    xe = np.linspace(-0.9, 1.5, 97)
    assert LIBRARY[name].valid(fit.b * xe + fit.c).all()
    np.testing.assert_allclose(fit.evaluate(xe), a * g(b * xe + c) + d, rtol=1e-8, atol=1e-8)


def test_identifiable_parameters():
    x = np.linspace(-1, 1, 200)
    fit = fit_function(x, 2.0 * x + 0.5, "x")
    assert fit.params() == pytest.approx((2.0, 1.0, 0.0, 0.5), abs=1e-12)
    fit = fit_function(x, -0.5 * np.tanh(2.0 * x - 0.3) + 1.0, "tanh")
    sign = np.sign(fit.b)  # tanh is odd: (a, b, c) and (-a, -b, -c) are the same function
    assert (sign * fit.a, sign * fit.b, sign * fit.c, fit.d) == pytest.approx(
        (-0.5, 2.0, -0.3, 1.0), abs=1e-7)


def test_ranking_prefers_the_true_and_simplest_function():
    x = np.linspace(-1, 1, 400)
    assert rank_fits(fit_edge(x, np.sin(np.pi * x)))[0].name in ("sin", "cos")
    assert rank_fits(fit_edge(x, 3 * x - 1))[0].name == "x"
    assert rank_fits(fit_edge(x, (x - 0.2) ** 2))[0].name == "x^2"
    assert rank_fits(fit_edge(x, np.exp(1.5 * x)))[0].name == "exp"
    with pytest.raises(ValueError, match="not in the library"):
        fit_edge(x, x, ["x", "bessel"])


def _locked_network(seed=0):
    kan = KAN([2, 3, 1], seed=seed, dtype=torch.float64)
    model = ScaledModel(kan, [0.0, -1.0], [2.0, 3.0])
    rng = np.random.default_rng(seed)
    names = ["x", "sin", "tanh", "exp", "x^2", "cos", "gaussian", "arctan", "sigmoid"]
    locked, k = {}, 0
    for l, layer in enumerate(kan.layers):
        for i in range(layer.in_features):
            for j in range(layer.out_features):
                a, b, c, d = rng.uniform(-1, 1, 4)
                locked[(l, i, j)] = EdgeFit(names[k % len(names)], a, b, c, d, 1.0, 0.0, 1)
                k += 1
    return model, SymbolicKAN(model, locked)


def test_sympy_expression_equals_the_torch_network():
    _, sym = _locked_network()
    assert sym.fully_symbolic
    expr = sym.expression(["x", "t"])[0]
    rng = np.random.default_rng(1)
    pts = np.stack([rng.uniform(0, 2, 200), rng.uniform(-1, 3, 200)], axis=1)
    net = sym(torch.as_tensor(pts)).detach().numpy()[:, 0]
    err = formula_error(expr, ["x", "t"], pts, net)
    assert err["max_abs"] < 1e-10


def test_partially_locked_network_has_no_formula():
    model = ScaledModel(KAN([2, 2, 1], seed=0, dtype=torch.float64), [0, 0], [1, 1])
    sym = SymbolicKAN(model, {(0, 0, 0): EdgeFit("x", 1, 1, 0, 0, 1, 0, 1)})
    assert not sym.fully_symbolic
    with pytest.raises(ValueError, match="unlocked"):
        sym.expression(["x", "y"])
    # unlocked edges still compute the spline: the edge (0,0,0) alone differs
    x = torch.rand(5, 2, dtype=torch.float64)
    assert torch.isfinite(sym(x)).all()
    with pytest.raises(ValueError, match="pruned"):
        with torch.no_grad():
            model.net.layers[1].edge_mask[1, 0] = 0
        SymbolicKAN(model, {(1, 1, 0): EdgeFit("x", 1, 1, 0, 0, 1, 0, 1)})


def test_nice_numbers_and_tidy():
    assert nice_number(3.14159265, 1e-6) == sympy.pi
    assert nice_number(0.4999999, 1e-5) == sympy.Rational(1, 2)
    assert nice_number(-1.0471975512, 1e-8) == -sympy.pi / 3
    assert nice_number(1e-9, 1e-6) == 0
    assert nice_number(0.1234567, 1e-6) is None
    x, y = sympy.symbols("x y", real=True)
    raw = (0.50000000001 * sympy.cos(1.5 * (2.0943951023931953 * x - 2.0943951023931953 * y))
           - 0.4999999999 * sympy.cos(3.14159265358979 * x + 3.14159265358979 * y) + 1e-12)
    g = np.linspace(-1, 1, 21)
    pts = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    ref = np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1])
    f = tidy(raw, ["x", "y"], pts, ref)
    assert sympy.simplify(f.expr - sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)) == 0
    assert f.error["max_abs"] < 1e-14 and f.stage == "simplified"
    # a snap that would change the function is refused
    wrong = 1.01 * sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)
    assert tidy(wrong, ["x", "y"], pts, ref, tol=0.05).error["max_abs"] <= 2 * 0.01 + 1e-12
