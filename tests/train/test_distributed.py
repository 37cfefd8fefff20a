"""Data-parallel training: 2 gloo ranks with N points each equal one process with 2N.

The two-rank runs go through torchrun (tests/train/dist_worker.py); the reference is the
same config trained in this process with ``train.shards=2``, i.e. the union of the same two
shards. Adam histories must agree to 1e-10 in float64, L-BFGS final errors as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kanpde.train import distributed
from kanpde.train.collocation import Collocation, shard_seed
from kanpde.train.config import ConfigError, Resample

WORKER = Path(__file__).with_name("dist_worker.py")
BASE = ["figures=false", "dtype=float64", "train.progress=false", "train.n_boundary=64",
        "train.n_interior=128", "train.eval_every=5", "train.checkpoint_every=1000"]
CASES = {
    # Adam, grid extension on the gathered points, RAD per shard, grad-norm term weights.
    # (No grid update here: Adam's first step after the optimizer reset that follows a
    # knot update divides near-zero gradient components by their own magnitude, which
    # turns rounding differences of 1e-16 into 1e-8; the L-BFGS case covers the update.)
    "adam_kan": [
        "problem=poisson", "model=kan", "model.widths=[2,4,1]", "model.grid_size=4",
        "train.phases=[{optimizer:adam,steps:30,lr:0.01}]",
        "train.grid.extend_at=[8]", "train.grid.sizes=[6]",
        "train.resample.policy=rad", "train.resample.every=12",
        "train.resample.n_candidates=512",
        "train.weighting.scheme=grad_norm", "train.weighting.every=10",
    ],
    # causal slabs and RBA point weights on a time-dependent problem, fresh points
    "adam_causal_rba": [
        "problem=heat", "model=mlp", "model.widths=[2,12,12,1]",
        "train.phases=[{optimizer:adam,steps:25,lr:0.005}]",
        "train.causal.enabled=true", "train.causal.n_slabs=4",
        "train.causal.eps_schedule=[0.01,1.0]", "train.causal.threshold=0.5",
        "train.rba.enabled=true", "train.resample.policy=every", "train.resample.every=10",
    ],
    # L-BFGS: loss reduced in the closure, identical line searches, a grid extension.
    # (L-BFGS with repeated knot updates is chaotic: its stopping tests flip on rounding
    # differences, so a perturbation of 1e-15 changes the result at 1e-2; not tested so.)
    "lbfgs": [
        "problem=poisson", "model=kan", "model.widths=[2,4,1]", "model.grid_size=4",
        "train.phases=[{optimizer:lbfgs,steps:6,max_iter:8}]",
        "train.grid.extend_at=[3]", "train.grid.sizes=[6]",
    ],
    # Gauss-Newton: J^T J, J^T rho and the trial losses averaged over the ranks, a grid
    # extension (the damping state starts again on the new shapes)
    "gauss_newton": [
        "problem=poisson", "model=kan", "model.widths=[2,4,1]", "model.grid_size=4",
        "train.phases=[{optimizer:gauss_newton,steps:8}]",
        "train.grid.extend_at=[4]", "train.grid.sizes=[6]",
    ],
    # matrix-free Gauss-Newton (conjugate gradients, products reduced over the ranks)
    "gauss_newton_cg": [
        "problem=heat", "model=mlp", "model.widths=[2,8,1]",
        "train.phases=[{optimizer:gauss_newton,steps:5,solver:cg,cg_max_iter:50}]",
    ],
    # preconditioned CG on the stored sparse Jacobian: the products and the Nystrom sketch
    # reduced over the ranks
    "gauss_newton_pcg": [
        "problem=poisson", "model=kan", "model.widths=[2,4,1]", "model.grid_size=4",
        "train.phases=[{optimizer:gauss_newton,steps:5,solver:pcg,preconditioner:nystrom,"
        "nystrom_rank:10,cg_max_iter:50}]",
    ],
    # the explicit Jacobian by torch.func (the autograd engine): each rank forms its rows
    "gauss_newton_func": [
        "problem=poisson", "model=kan", "model.widths=[2,4,1]", "model.grid_size=4",
        "derivatives=autograd", "train.phases=[{optimizer:gauss_newton,steps:5}]",
    ],
    # the knots follow the gathered points: an update after one step of a negligible
    # learning rate, so the loss after it compares the refits themselves
    "grid_update": [
        "problem=poisson", "model=kan", "model.widths=[2,4,1]", "model.grid_size=4",
        "train.phases=[{optimizer:adam,steps:2,lr:1e-12}]", "train.grid.update_every=1",
        "train.eval_every=1",
    ],
}


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from kanpde.app import conf_dir

    out = {}
    for name, overrides in CASES.items():
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="solve", overrides=[*BASE, *overrides])
        out[name] = OmegaConf.to_container(cfg, resolve=True)
    GlobalHydra.instance().clear()
    return out


@pytest.fixture(scope="module")
def two_ranks(configs, tmp_path_factory):
    """Every case on 2 gloo ranks under torchrun: rank 0's results per case."""
    tmp = tmp_path_factory.mktemp("ddp")
    (tmp / "cases.json").write_text(json.dumps(configs))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(WORKER), str(tmp / "cases.json"), str(tmp)],
        capture_output=True, text=True, env=_env(), timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {name: dict(np.load(tmp / f"{name}.npz")) for name in configs}


def _single(cfg: dict, shards: int) -> dict[str, np.ndarray]:
    sys.path.insert(0, str(WORKER.parent))
    try:
        from dist_worker import train_case
    finally:
        sys.path.pop(0)
    cfg = {**cfg, "train": {**cfg["train"], "shards": shards}}
    return train_case(cfg, distributed.Comm())


@pytest.mark.parametrize("case", ["adam_kan", "adam_causal_rba"])
def test_adam_two_ranks_match_one_process_with_both_shards(configs, two_ranks, case):
    ref = _single(configs[case], shards=2)
    got = two_ranks[case]
    assert float(got["replica_spread"]) == 0.0  # the replicas are bitwise equal
    assert str(got["status"]) == str(ref["status"]) == "completed"
    np.testing.assert_array_equal(got["h_step"], ref["h_step"])
    for key in [k for k in ref if k.startswith("h_") and k != "h_time_s"]:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, atol=1e-14, err_msg=key)
    for key in [k for k in ref if k.startswith("final_")]:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, err_msg=key)
    if case == "adam_causal_rba":  # the mechanisms really ran
        assert np.nanmax(ref["h_causal_eps"]) == 1.0 and np.nanmax(ref["h_rba_max"]) > 1.0
    else:
        assert set(ref["h_grid_size"]) == {4, 6}
        assert not np.allclose(ref["h_weight_residual"][-1], 1.0)


def test_lbfgs_two_ranks_reach_the_error_of_one_process(configs, two_ranks):
    ref = _single(configs["lbfgs"], shards=2)
    got = two_ranks["lbfgs"]
    assert float(got["replica_spread"]) == 0.0
    assert int(got["steps"]) == int(ref["steps"]) == 6
    assert ref["final_rel_l2"] < 0.5 * ref["h_rel_l2"][0]  # it learned something
    for key in [k for k in ref if k.startswith("final_")]:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-8, err_msg=key)
    np.testing.assert_allclose(got["h_loss"], ref["h_loss"], rtol=1e-8)


@pytest.mark.parametrize("case", ["gauss_newton", "gauss_newton_cg", "gauss_newton_pcg",
                                  "gauss_newton_func"])
def test_gauss_newton_two_ranks_match_one_process_with_both_shards(configs, two_ranks, case):
    ref = _single(configs[case], shards=2)
    got = two_ranks[case]
    assert float(got["replica_spread"]) == 0.0
    assert int(got["steps"]) == int(ref["steps"])
    assert ref["h_loss"][-1] < 0.5 * ref["h_loss"][0]  # it learned something
    # a truncated CG solve (50 iterations) amplifies the rounding of the reduced products
    # (another summation order than one process's) to ~1e-7 after a few steps
    rtol = 1e-8 if case in ("gauss_newton", "gauss_newton_func") else 1e-5
    np.testing.assert_allclose(got["h_loss"], ref["h_loss"], rtol=rtol)
    for key in [k for k in ref if k.startswith("final_")]:
        np.testing.assert_allclose(got[key], ref[key], rtol=rtol, err_msg=key)


def test_grid_update_refits_on_every_shards_points(configs, two_ranks):
    ref = _single(configs["grid_update"], shards=2)
    got = two_ranks["grid_update"]
    assert float(got["replica_spread"]) == 0.0
    loss = ref["h_loss"]  # row 2: the loss after the update at step 1
    assert abs(loss[2] - loss[1]) > 1e-6 * loss[1]  # the knots moved
    np.testing.assert_allclose(got["h_loss"], loss, rtol=1e-10)
    np.testing.assert_allclose(got["final_rel_l2"], ref["final_rel_l2"], rtol=1e-10)


def test_two_shards_are_not_one_set(configs):
    """The comparison above is not vacuous: the union of two shards is a different point
    set from the unsharded one, and training on it gives a different history."""
    one = _single(configs["adam_causal_rba"], shards=1)
    two = _single(configs["adam_causal_rba"], shards=2)
    assert not np.allclose(one["h_loss"][1:], two["h_loss"][1:], rtol=1e-6)


# ------------------------------------------------------------------ unit level
class _Problem:
    """Sampling stub: residual points carry (seed, index) so shards are recognisable."""

    terms = ("residual", "boundary")

    def sample_points(self, sampler, n_interior, n_boundary, seed):
        g = torch.Generator().manual_seed(seed)
        return {"residual": torch.rand(n_interior, 2, generator=g, dtype=torch.float64),
                "boundary": torch.rand(n_boundary, 2, generator=g, dtype=torch.float64)}


def _colloc(n_shards, shards, n_interior=8, n_boundary=4, policy="fixed"):
    return Collocation(_Problem(), "sobol", n_interior, n_boundary, Resample(policy=policy),
                       seed=3, device=torch.device("cpu"), dtype=torch.float64,
                       n_shards=n_shards, shards=shards)


def test_local_shards_concatenate_to_the_full_set():
    full = _colloc(4, None).points
    parts = [_colloc(4, [2 * r, 2 * r + 1]).points for r in range(2)]
    for term in full:
        torch.testing.assert_close(torch.cat([p[term] for p in parts]), full[term])
        assert full[term].shape[0] == {"residual": 8, "boundary": 4}[term]
    one = _colloc(1, None).points
    g = torch.Generator().manual_seed(shard_seed(3, 0, 0, 1))
    torch.testing.assert_close(one["residual"],
                               torch.rand(8, 2, generator=g, dtype=torch.float64))


def test_refresh_draws_new_points_and_says_so():
    c = _colloc(1, None, policy="every")
    before = {t: v.clone() for t, v in c.points.items()}
    message = c.refresh(25, torch.nn.Identity(), "autograd")
    assert message == "8 interior points and every other term's points drawn afresh"
    for term, old in before.items():
        assert c.points[term].shape == old.shape
        assert not torch.equal(c.points[term], old)


def test_shard_seeds_differ_per_shard_and_step():
    seeds = {shard_seed(0, s, k, 4) for s in range(3) for k in range(4)}
    assert len(seeds) == 12
    assert shard_seed(0, 5, 0, 1) != shard_seed(0, 5, 0, 2)


def test_global_state_roundtrip_keeps_each_rank_its_shards():
    c = _colloc(2, [1])
    full = _colloc(2, None).global_state(distributed.Comm())
    c.load_global_state(full)
    torch.testing.assert_close(c.points["residual"], full["residual"][4:])


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"n_interior": 9}, "train.n_interior"), ({"n_boundary": 5}, "train.n_boundary")],
)
def test_counts_that_do_not_split_are_config_errors(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        _colloc(2, None, **kwargs)


def test_grid_sampler_cannot_be_sharded():
    from kanpde.pde import make_sampler

    with pytest.raises(ConfigError, match="grid sampler"):
        Collocation(_Problem(), make_sampler("grid"), 8, 4, Resample(), 0,
                    torch.device("cpu"), torch.float64, n_shards=2)


def test_shards_must_be_a_multiple_of_the_world_size():
    assert distributed.resolve_shards(None, 3) == 3
    assert distributed.resolve_shards(4, 2) == 4
    with pytest.raises(ConfigError, match="train.shards"):
        distributed.resolve_shards(3, 2)


def test_single_process_comm_is_the_identity():
    comm = distributed.Comm()
    t = torch.arange(4.0)
    assert comm.all_reduce(t, "mean") is t and comm.all_gather_cat(t) is t
    assert comm.all_true(True) and not comm.all_true(False)
    assert comm.broadcast_object({"a": 1}) == {"a": 1}


@pytest.mark.parametrize(("name", "value"), [("WORLD_SIZE", "two"),
                                             ("KANPDE_DIST_TIMEOUT_S", "-1")])
def test_bad_environment_is_a_clear_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        distributed.env_world_size() if name == "WORLD_SIZE" else distributed.timeout_s()


def test_world_size_without_rendezvous_names_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for k in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ConfigError, match="torchrun"):
        distributed.init_from_env()
