"""Every option of every config group composes and instantiates."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from kanpde.app import build
from kanpde.train.config import ConfigError

_spec = importlib.util.spec_from_file_location(
    "cli_conftest", pathlib.Path(__file__).with_name("conftest.py")
)
_conf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conf)
group_options = _conf.group_options



@pytest.mark.parametrize("problem", group_options("problem"))
def test_every_problem_builds(compose_cfg, problem, monkeypatch):
    overrides = [f"problem={problem}", "train=smoke"]
    if problem == "custom":  # the README example of a problem of one's own
        monkeypatch.syspath_prepend(str(pathlib.Path(__file__).parents[2] / "examples"))
        overrides += ["problem._target_=custom_problem.Poisson1D", "model.widths=[1,5,1]"]
    if problem in ("kovasznay", "ns2d_c", "ns2d_cg"):  # three output fields (u, v, p)
        overrides += ["model.widths=[2,5,3]"]
    three = ("poisson_nd", "poisson3d_cg", "heat2d_ms", "heat2d_cg", "heat2d_vc")
    if problem in three:  # three coordinates
        overrides += ["model.widths=[3,5,1]"]
    if problem in ("heat_inv", "gray_scott"):  # (x, y, t) -> (u, a) or (u, v)
        overrides += ["model.widths=[3,5,2]"]
    if problem == "heat_nd":  # five space coordinates and time
        overrides += ["model.widths=[6,5,1]"]
    cfg = compose_cfg(overrides)
    p = build(cfg)
    prob, train = p.problem, p.train
    assert prob.dim_in == cfg["model"]["widths"][0]
    assert train.total_steps > 0


@pytest.mark.parametrize("model", group_options("model"))
def test_every_model_builds(compose_cfg, model):
    cfg = compose_cfg([f"model={model}", "train=smoke"])
    p = build(cfg)
    prob, net = p.problem, p.model
    import torch

    x = torch.rand(5, prob.dim_in, dtype=torch.float64)
    assert net.double()(x).shape == (5, prob.dim_out)


@pytest.mark.parametrize("sampler", group_options("sampler"))
def test_every_sampler_builds(compose_cfg, sampler):
    cfg = compose_cfg([f"sampler={sampler}", "train=smoke"])
    p = build(cfg)
    prob, smp = p.problem, p.sampler
    pts = prob.sample_points(smp, 16, 8, 0)
    assert pts["residual"].shape[1] == prob.dim_in


@pytest.mark.parametrize("train", group_options("train"))
def test_every_train_builds(compose_cfg, train):
    cfg = compose_cfg([f"train={train}"])
    build(cfg)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["model.grid_size=-3"], "model"),
        (["problem.variant=nonexistent"], "problem"),
        (["dtype=float16"], "dtype"),
        (["device=tpu"], "device"),
        (["derivatives=symbolic"], "derivatives"),
        (["seed=-1"], "seed"),
        (["train.lr=-1"], "train.lr"),
        (["model.widths=[3,10,1]"], "model.widths"),
        (["train.phases.0.optimizer=sgd"], "train.phases[0].optimizer"),
        (["+model.colour=red"], "model"),  # '+' adds past the schema: the constructor refuses
    ],
)
def test_bad_config_fails_before_training(compose_cfg, overrides, key):
    cfg = compose_cfg(["train=smoke", *overrides])
    with pytest.raises(ConfigError) as err:
        build(cfg)
    assert str(err.value).startswith(key)
    assert overrides[0].split("=")[0].split(".")[-1].lstrip("+") in str(err.value)
