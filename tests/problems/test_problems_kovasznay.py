"""The Kovasznay flow system (three fields, three residuals) against its exact solution."""

from __future__ import annotations

import math

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from kanpde.problems import Kovasznay
from omegaconf import OmegaConf

from kanpde.app import build, conf_dir, solve
from kanpde.figures.fields import solution_figure
from kanpde.pde import ExactSolution
from kanpde.results import read_run


@pytest.mark.parametrize("reynolds", [20.0, 40.0])
@pytest.mark.parametrize("sampler", ["sobol", "uniform"])
def test_exact_solution_satisfies_all_three_equations_and_the_conditions(reynolds, sampler):
    p = Kovasznay(reynolds=reynolds)
    assert p.dim_in == 2 and p.dim_out == 3 and p.terms == ["residual", "velocity", "pressure"]
    pts = p.sample_points(sampler, 2000, 400, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    assert res["residual"].shape == (pts["residual"].shape[0], 3)
    assert res["velocity"].shape[1] == 2 and res["pressure"].shape[1] == 1
    assert torch.allclose(pts["pressure"][:, 0], torch.ones(1, dtype=torch.float64))
    for term, r in res.items():
        assert float(r.detach().abs().max()) < 1e-10, term


def test_each_equation_detects_a_wrong_field():
    """The Re = 20 solution violates the Re = 40 momentum equations, a scaled v breaks
    continuity, and a shifted pressure breaks the outflow condition only."""
    p = Kovasznay(reynolds=40.0)
    pts = p.sample_points("sobol", 512, 128, seed=1)
    res = p.pointwise(ExactSolution(Kovasznay(reynolds=20.0)), pts, engine="autograd")
    assert float(res["residual"][:, :2].detach().abs().max()) > 1e-1

    class Broken(ExactSolution):
        def forward(self, x):
            w = super().forward(x)
            return torch.cat([w[:, :1], 1.1 * w[:, 1:2], w[:, 2:3] + 0.5], dim=1)

    p = Kovasznay()
    res = p.pointwise(Broken(p), pts, engine="autograd")
    assert float(res["residual"][:, 2].detach().abs().max()) > 1e-1  # continuity
    assert float(res["pressure"].detach().abs().min()) > 0.499
    assert float(res["velocity"][:, 0].detach().abs().max()) < 1e-12


def test_the_exact_solution_is_kovasznays():
    p = Kovasznay()
    lam = 10 - math.sqrt(100 + 4 * math.pi**2)
    assert p.lam == pytest.approx(lam, rel=1e-15)
    x = torch.tensor([[0.0, 0.0], [1.0, 0.25]], dtype=torch.float64)
    w = p.exact(x)
    torch.testing.assert_close(w[0], torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64))
    e = math.exp(lam)
    expected = torch.tensor([1.0, lam / (2 * math.pi) * e, 0.5 * (1 - e * e)], dtype=torch.float64)
    torch.testing.assert_close(w[1], expected, rtol=1e-14, atol=1e-15)


def test_jets_and_autograd_give_the_same_system_residuals(jet_net_factory):
    p = Kovasznay()
    net = jet_net_factory([2, 12, 3], seed=2)
    pts = p.sample_points("sobol", 256, 64, seed=0)
    a = p.pointwise(net, pts, engine="autograd")
    j = p.pointwise(net, pts, engine="jets")
    for term in p.terms:
        torch.testing.assert_close(j[term], a[term], rtol=0, atol=1e-10)
        assert float(a[term].detach().abs().max()) > 1e-3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="reynolds"):
        Kovasznay(reynolds=0.0)
    with pytest.raises(ValueError, match="variant"):
        Kovasznay("re100")


def test_a_run_names_its_three_fields_in_the_figures(tmp_path, monkeypatch):
    """run.h5 records the output names; the solution figure titles its rows u, v, p."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="solve", overrides=["problem=kovasznay", "train=smoke",
                                                      "model.widths=[2,4,3]", "figures=false"])
    GlobalHydra.instance().clear()
    plan = build(OmegaConf.to_container(cfg, resolve=True))
    assert solve(plan, tmp_path, "# test\n") == "completed"
    rec = read_run(tmp_path / "run.h5")
    assert rec.attrs["output_names"] == "u,v,p"
    titles = [ax.get_title() for ax in solution_figure(rec).axes if ax.get_title()]
    assert {"prediction u", "reference v", "|error| p"} <= set(titles)
