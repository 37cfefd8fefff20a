"""The config's ``fields``: a separate network for a coefficient output (HInv's a(x, y) beside
the solver network u(x, y, t)); bad settings are refused naming the key."""

from __future__ import annotations

import pytest
import torch

from kanpde.app import build
from kanpde.app.solve import solve
from kanpde.models.fields import Fields
from kanpde.results import read_run
from kanpde.train.config import ConfigError

MLP_FIELD = "fields={a:{_target_:kanpde.models.MLP,widths:[2,6,1]}}"


def test_the_preset_builds_a_stationary_coefficient_network(compose_cfg):
    plan = build(compose_cfg(["experiment=heat_inv_field", "train=smoke"]))
    model = plan.model
    assert isinstance(model, Fields) and model.names == ["a"]
    assert list(model.fields["a"].widths) == [2, 6, 1] and model.widths == [3, 8, 8, 1]
    x = torch.rand(6, 3, dtype=torch.float64) * 2 - 1
    x[:, 2] = x[:, 2].abs()
    y = x.clone()
    y[:, 2] = 1 - y[:, 2]  # another time
    out, other = model.double()(x), model(y)
    assert out.shape == (6, 2)
    torch.testing.assert_close(out[:, 1], other[:, 1], rtol=0, atol=0)  # a(x, y) only
    assert not torch.equal(out[:, 0], other[:, 0])


def test_any_model_node_can_be_a_field_network(compose_cfg):
    plan = build(compose_cfg(["problem=heat_inv", "model.widths=[3,5,1]", "train=smoke",
                              MLP_FIELD]))
    assert type(plan.model.fields["a"].net).__name__ == "MLP"


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        (["~fields", "+fields={b:{_target_:kanpde.models.MLP,widths:[2,6,1]}}"], "fields.b",
         "outputs: u, a"),
        (["~fields", "+fields={u:{_target_:kanpde.models.MLP,widths:[3,6,1]}}"], "fields",
         "last outputs"),
        (["fields.a.widths=[3,6,1]"], "fields.a.widths", "2 inputs"),
        (["+fields.a.inputs=[x,z]"], "fields.a.inputs", "x, y, t"),
        (["model.widths=[3,8,2]"], "model.widths", "beside the field networks of a"),
        (["hard_constraint=true"], "fields", "hard_constraint"),
        (["fields.a.grid_size=-1"], "fields.a", "grid_size"),
    ],
)
def test_bad_field_settings_are_refused(compose_cfg, overrides, key, says):
    cfg = compose_cfg(["experiment=heat_inv_field", "train=smoke", *overrides])
    with pytest.raises(ConfigError) as err:
        build(cfg)
    assert str(err.value).startswith(key) and says in str(err.value)


def test_a_problem_without_default_inputs_needs_them(compose_cfg):
    cfg = compose_cfg(["problem=kovasznay", "model.widths=[2,5,2]", "train=smoke",
                       "fields={p:{_target_:kanpde.models.MLP,widths:[1,6,1]}}"])
    with pytest.raises(ConfigError, match=r"^fields.p.inputs: not set"):
        build(cfg)
    cfg["fields"]["p"]["inputs"] = ["y"]
    assert build(cfg).model(torch.zeros(3, 2)).shape == (3, 3)


def test_a_smoke_solve_trains_both_networks(compose_cfg, tmp_path):
    cfg = compose_cfg(["experiment=heat_inv_field", "train=smoke", "figures=false"])
    plan = build(cfg)
    before = {k: v.clone() for k, v in plan.model.state_dict().items()}
    assert solve(plan, tmp_path, "") == "completed"
    run = read_run(tmp_path / "run.h5")
    assert run.attrs["status"] == "completed" and run.final["rel_l2"] < 1.0
    moved = {k.split(".")[0] for k, v in plan.model.state_dict().items()
             if k in before and v.shape == before[k].shape and not torch.equal(v, before[k])}
    assert moved == {"main", "fields"}
