import pytest
import torch
from torch import nn

from kanpde.models import KAN
from kanpde.pde import make_derivatives


class Analytic(nn.Module):
    """u = [sin(x) exp(2 y) t, x^2 y^3 + t^2]: a 2-output field with known derivatives."""

    def forward(self, p):
        x, y, t = p[:, 0:1], p[:, 1:2], p[:, 2:3]
        return torch.cat([torch.sin(x) * torch.exp(2 * y) * t, x**2 * y**3 + t**2], dim=1)


def _points(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1


@pytest.mark.parametrize("engine", ["autograd", "func"])
def test_engines_match_analytic_derivatives(engine):
    p = _points()
    x, y, t = p[:, 0:1], p[:, 1:2], p[:, 2:3]
    u = make_derivatives(Analytic(), p, ("x", "y", "t"), engine=engine)
    s, c, e = torch.sin(x), torch.cos(x), torch.exp(2 * y)
    cat = lambda a, b: torch.cat([a, b], dim=1)  # noqa: E731
    torch.testing.assert_close(u.d("x"), cat(c * e * t, 2 * x * y**3), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(u.d("y"), cat(2 * s * e * t, 3 * x**2 * y**2), rtol=1e-13, atol=0)
    torch.testing.assert_close(u.d("t"), cat(s * e, 2 * t), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(u.d2("x"), cat(-s * e * t, 2 * y**3), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(u.d2("y"), cat(4 * s * e * t, 6 * x**2 * y), rtol=1e-13, atol=0)
    torch.testing.assert_close(
        u.d2("x", "y"), cat(2 * c * e * t, 6 * x * y**2), rtol=1e-13, atol=1e-13
    )
    torch.testing.assert_close(u.d2("y", "x"), u.d2("x", "y"), rtol=0, atol=0)
    torch.testing.assert_close(u.d2("y", "t"), cat(2 * s * e, 0 * x), rtol=1e-13, atol=1e-13)
    # the default Laplacian skips t
    torch.testing.assert_close(u.laplacian(), u.d2("x") + u.d2("y"), rtol=0, atol=0)
    torch.testing.assert_close(u.laplacian(["x", "y", "t"]), u.d2("x") + u.d2("y") + u.d2("t"))
    g = u.grad()
    assert g.shape == (50, 3, 2)
    torch.testing.assert_close(g[:, 1], u.d("y"), rtol=0, atol=0)
    torch.testing.assert_close(u.x("y"), y, rtol=0, atol=0)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_autograd_matches_torch_func_hessian(jet_net_factory):
    net = jet_net_factory([3, 16, 16, 1], seed=2)
    p = _points(8)
    u = make_derivatives(net, p, ("x", "y", "t"), engine="autograd")
    for i in range(8):
        h = torch.func.hessian(lambda q: net(q.unsqueeze(0))[0, 0])(p[i])
        for a, na in enumerate("xyt"):
            for b, nb in enumerate("xyt"):
                torch.testing.assert_close(u.d2(na, nb)[i, 0], h[a, b], rtol=1e-12, atol=1e-13)


def test_derivatives_are_cached(monkeypatch):
    calls = {"grad": 0, "forward": 0}
    real_grad = torch.autograd.grad

    def counting_grad(*args, **kwargs):
        calls["grad"] += 1
        return real_grad(*args, **kwargs)

    class Counting(Analytic):
        def forward(self, p):
            calls["forward"] += 1
            return super().forward(p)

    monkeypatch.setattr(torch.autograd, "grad", counting_grad)
    u = make_derivatives(Counting(), _points(), ("x", "y", "t"), engine="autograd")
    _ = (u.value, u.value)
    assert calls == {"grad": 0, "forward": 1}
    u.d("x"), u.d("y"), u.d("x")
    assert calls["grad"] == 2  # one pass per output component gives every first derivative
    u.d2("x"), u.d2("x", "y"), u.d2("y", "x"), u.d2("x")
    assert calls["grad"] == 4  # one more pass per component over u_x
    u.laplacian(), u.laplacian()
    assert calls["grad"] == 6  # adds the pass over u_y only
    assert calls["forward"] == 1


def test_results_carry_parameter_gradients(jet_net_factory):
    net = jet_net_factory([2, 8, 1], seed=1)
    for engine in ("autograd", "jets"):
        net.zero_grad()
        u = make_derivatives(net, _points()[:, :2], ("x", "y"), engine=engine)
        u.laplacian().pow(2).mean().backward()
        # every weight influences the Laplacian (the output bias does not)
        weights = [lin.weight for lin in net.layers]
        assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in weights)


def test_works_inside_no_grad():
    with torch.no_grad():
        u = make_derivatives(Analytic(), _points(), ("x", "y", "t"), engine="autograd")
        assert torch.isfinite(u.d2("x")).all()


def test_jets_and_autograd_agree(jet_net_factory):
    net = jet_net_factory([3, 12, 12, 2], seed=5)
    p = _points(40)
    names = ("x", "y", "t")
    a = make_derivatives(net, p, names, engine="autograd")
    j = make_derivatives(net, p, names, engine="jets", pairs=(("x", "t"),))
    assert j.engine == "jets" and a.engine == "autograd"
    torch.testing.assert_close(j.value, a.value, rtol=0, atol=1e-12)
    for n in names:
        torch.testing.assert_close(j.d(n), a.d(n), rtol=0, atol=1e-10)
        torch.testing.assert_close(j.d2(n), a.d2(n), rtol=0, atol=1e-10)
    torch.testing.assert_close(j.d2("t", "x"), a.d2("x", "t"), rtol=0, atol=1e-10)  # declared
    torch.testing.assert_close(j.d2("x", "y"), a.d2("x", "y"), rtol=0, atol=1e-10)  # fallback
    torch.testing.assert_close(j.laplacian(), a.laplacian(), rtol=0, atol=1e-10)


def test_jet_order_hints(jet_net_factory, monkeypatch):
    net = jet_net_factory([2, 8, 1], seed=3)
    p = _points(10)[:, :2]
    calls = {"jet": 0}
    real = net.forward_jet

    def counting(jet):
        calls["jet"] += 1
        return real(jet)

    monkeypatch.setattr(net, "forward_jet", counting)
    ref = make_derivatives(net, p, ("x", "y"), engine="autograd")
    u0 = make_derivatives(net, p, ("x", "y"), engine="jets", order=0)
    torch.testing.assert_close(u0.value, ref.value)
    assert calls["jet"] == 0
    torch.testing.assert_close(u0.d("x"), ref.d("x"), rtol=0, atol=1e-12)  # builds the jet now
    assert calls["jet"] == 1
    u1 = make_derivatives(net, p, ("x", "y"), engine="jets", order=1)
    assert calls["jet"] == 2
    # autograd of d1 of a second jet built with twice-differentiable layers (the first one
    # may come from the once-differentiable native KAN pass)
    torch.testing.assert_close(u1.d2("y"), ref.d2("y"), rtol=0, atol=1e-12)
    assert calls["jet"] == 3
    u1.d2("x")
    assert calls["jet"] == 3  # cached


def test_auto_engine_choice(jet_net_factory):
    p = _points(5)[:, :2]
    assert make_derivatives(jet_net_factory([2, 4, 1]), p, ("x", "y")).engine == "jets"
    plain = nn.Sequential(nn.Linear(2, 4, dtype=torch.float64), nn.Tanh())
    assert make_derivatives(plain, p, ("x", "y")).engine == "autograd"

    class Unsupported(nn.Module):
        def forward(self, x):
            return x.sum(1, keepdim=True)

        def forward_jet(self, jet):
            raise NotImplementedError

    assert make_derivatives(Unsupported(), p, ("x", "y")).engine == "autograd"
    with pytest.raises(NotImplementedError):
        make_derivatives(Unsupported(), p, ("x", "y"), engine="jets")


def test_float32_inputs_keep_their_dtype(jet_net_factory):
    net = jet_net_factory([2, 8, 1], seed=0, dtype=torch.float32)
    p = _points(6)[:, :2].float()
    for engine in ("autograd", "jets", "func"):
        u = make_derivatives(net, p, ("x", "y"), engine=engine)
        assert u.laplacian().dtype == torch.float32


def test_bad_arguments():
    p = _points(4)
    with pytest.raises(ValueError, match="allowed values"):
        make_derivatives(Analytic(), p, ("x", "y", "t"), engine="forward")
    with pytest.raises(ValueError, match="shape"):
        make_derivatives(Analytic(), p, ("x", "y"))
    with pytest.raises(ValueError, match="forward_jet"):
        make_derivatives(Analytic(), p, ("x", "y", "t"), engine="jets")
    u = make_derivatives(Analytic(), p, ("x", "y", "t"))
    with pytest.raises(ValueError, match="unknown coordinate 'z'"):
        u.d("z")


def test_undeclared_mixed_derivative_of_a_native_kan_trains():
    """Under the jets engine a KAN's jet comes from the once-differentiable native pass; an
    undeclared mixed derivative falls back to autograd of a twice-differentiable jet, so a
    loss using it still backpropagates, with the autograd engine's numbers and gradients."""
    from kanpde.models import KAN

    net = KAN([2, 5, 1], grid_size=6, seed=0, dtype=torch.float64)
    p = _points(30)[:, :2]
    results = []
    for engine in ("jets", "autograd", "func"):
        u = make_derivatives(net, p, ("x", "y"), engine=engine)  # no pairs declared
        loss = (u.d2("x", "y") ** 2).mean() + (u.laplacian() ** 2).mean() + u.value.mean()
        results.append([loss.detach(), *torch.autograd.grad(loss, list(net.parameters()))])
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("engine", ["autograd", "jets", "func"])
def test_coordinates_are_constants_unless_x_requires_grad(jet_net_factory, engine):
    """``u.x(name)`` (coefficients, source terms) adds nothing to the backward pass unless the
    caller's ``x`` requires grad; the values are the coordinates either way."""
    net = jet_net_factory([2, 8, 1], seed=1)
    x = _points()[:, :2]
    u = make_derivatives(net, x, ("x", "y"), engine=engine)
    assert not u.x("y").requires_grad
    torch.testing.assert_close(u.x("y"), x[:, 1:2], rtol=0, atol=0)
    xg = x.clone().requires_grad_(True)
    u = make_derivatives(net, xg, ("x", "y"), engine=engine)
    (g,) = torch.autograd.grad(torch.sin(u.x("x")).sum(), xg)
    torch.testing.assert_close(g[:, 0], torch.cos(x[:, 0]), rtol=0, atol=1e-15)
    assert float(g[:, 1].abs().max()) == 0.0


@pytest.mark.parametrize("engine", ["autograd", "jets", "func"])
def test_derivatives_inside_no_grad_equal_those_outside(engine):
    """The accessor builds its derivative graph itself: inside ``torch.no_grad()`` the
    autograd engine must not lose the columns it differentiates (they were zeros)."""
    from kanpde.models import MLP

    model = MLP([2, 6, 1], seed=0, dtype=torch.float64)
    x = torch.rand(7, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref = make_derivatives(model, x, ("x", "y"), engine=engine, pairs=(("x", "y"),))
    want = [ref.d("x"), ref.d2("x"), ref.d2("x", "y"), ref.laplacian()]
    with torch.no_grad():
        got = make_derivatives(model, x, ("x", "y"), engine=engine, pairs=(("x", "y"),))
        have = [got.d("x"), got.d2("x"), got.d2("x", "y"), got.laplacian()]
    for a, b in zip(have, want, strict=True):
        torch.testing.assert_close(a, b.detach(), rtol=1e-13, atol=1e-13)
    assert float(want[1].detach().abs().max()) > 0


@pytest.mark.parametrize("engine", ["autograd", "func"])
def test_higher_derivatives_match_analytic_formulas(engine):
    p = _points()
    x, y, t = p[:, 0:1], p[:, 1:2], p[:, 2:3]
    u = make_derivatives(Analytic(), p, ("x", "y", "t"), engine=engine)
    s, c, e = torch.sin(x), torch.cos(x), torch.exp(2 * y)
    cat = lambda a, b: torch.cat([a, b], dim=1)  # noqa: E731
    torch.testing.assert_close(u.dn("x", 3), cat(-c * e * t, 0 * x), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(u.dn("x", 4), cat(s * e * t, 0 * x), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(u.dn("y", 4), cat(16 * s * e * t, 0 * x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(u.dn("y", 3), cat(8 * s * e * t, 6 * x**2), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(u.dn("x", 2), u.d2("x"), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(u.dn("t", 1), u.d("t"), rtol=0, atol=0)
    with pytest.raises(ValueError, match="derivative order"):
        u.dn("x", 0)


def test_fourth_derivative_of_a_kan_agrees_across_engines_and_trains():
    """The jets engine's fourth derivative (reverse passes over its twice-differentiable
    jet) equals autograd's and func's, parameter gradients included."""
    torch.manual_seed(0)
    net = KAN([2, 4, 2], grid_size=5, spline_order=5).double()
    p = _points()[:, :2]
    vals, grads = {}, {}
    for engine in ("autograd", "jets", "func"):
        d4 = make_derivatives(net, p, ("x", "t"), engine=engine).dn("x", 4)
        vals[engine] = d4.detach()
        params = [q for q in net.parameters() if q.requires_grad]
        gs = torch.autograd.grad(d4.sum(), params, allow_unused=True)
        grads[engine] = torch.cat([torch.zeros_like(q).flatten() if g is None else g.flatten()
                                   for q, g in zip(params, gs, strict=True)])
    assert float(vals["autograd"].abs().max()) > 1e-3
    for engine in ("jets", "func"):
        torch.testing.assert_close(vals[engine], vals["autograd"], rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(grads[engine], grads["autograd"], rtol=1e-9, atol=1e-9)
