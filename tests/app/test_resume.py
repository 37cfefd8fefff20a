"""Killing a run midway and resuming it gives the final state of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from kanpde.app import build, solve
from kanpde.results import read_run
from kanpde.train import load_checkpoint, save_checkpoint

# Adam then L-BFGS, a grid extension and point refreshes in the middle: every piece of state
# a checkpoint must carry. Gauss-Newton: its damping state and a grid extension.
CASES = {
    "adam_lbfgs": ([
        "train=smoke",
        "problem=heat",
        "figures=false",
        "train.n_interior=256",
        "train.phases=[{optimizer:adam,steps:60},{optimizer:lbfgs,steps:8,max_iter:5}]",
        "train.grid.extend_at=[30]",
        "train.grid.sizes=[8]",
        "train.resample.policy=every",
        "train.resample.every=25",
        "train.checkpoint_every=5",
        "train.eval_every=20",
    ], 68),
    "gauss_newton": ([
        "train=smoke",
        "problem=heat",
        "figures=false",
        "train.n_interior=512",
        "train.phases=[{optimizer:gauss_newton,steps:40}]",
        "train.grid.extend_at=[20]",
        "train.grid.sizes=[8]",
        "train.checkpoint_every=5",
        "train.eval_every=10",
    ], 40),
    "inverse": ([  # learned coefficient and a data term: both carried by the checkpoint
        "train=smoke",
        "problem=heat",
        "figures=false",
        "train.n_interior=512",
        "train.phases=[{optimizer:gauss_newton,steps:30}]",
        "train.grid.extend_at=[15]",
        "train.grid.sizes=[8]",
        "train.checkpoint_every=5",
        "train.eval_every=10",
        "data.n=100",
        "data.noise=0.01",
        "learn={diffusion:0.5}",
    ], 30),
}


def _launch(case, run_dir, extra=()):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "kanpde", *CASES[case][0], f"hydra.run.dir={run_dir}", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )


def _wait_for_checkpoint(proc, path, timeout=120.0):
    t0 = time.time()
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"run ended before its first checkpoint: {proc.stdout.read()!r}")
        if time.time() - t0 > timeout:
            proc.kill()
            pytest.fail("no checkpoint appeared")
        time.sleep(0.02)


@pytest.fixture(scope="module", params=list(CASES))
def reference(request, tmp_path_factory):
    """The uninterrupted run of each case: (case, its record)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from kanpde.app import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="solve",
                                             overrides=CASES[request.param][0]))
    GlobalHydra.instance().clear()
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    assert solve(build(cfg), run_dir, "# test\n") == "completed"
    return request.param, read_run(run_dir / "run.h5")


# every case killed hard (the optimizer state comes back from the last checkpoint); the graceful
# stop (SIGTERM: checkpoint and run.h5 "interrupted" at the signal) is the same for every
# optimizer, so one case takes it
@pytest.mark.parametrize(("reference", "sig"), [
    ("adam_lbfgs", signal.SIGKILL), ("gauss_newton", signal.SIGKILL),
    ("inverse", signal.SIGKILL), ("gauss_newton", signal.SIGTERM),
], indirect=["reference"], ids=["adam_lbfgs-SIGKILL", "gauss_newton-SIGKILL", "inverse-SIGKILL",
                                "gauss_newton-SIGTERM"])
def test_kill_and_resume_matches_uninterrupted(tmp_path, reference, sig):
    case, reference = reference
    total = CASES[case][1]
    ckpt = tmp_path / "checkpoint.pt"
    proc = _launch(case, tmp_path)
    _wait_for_checkpoint(proc, ckpt)
    proc.send_signal(sig)
    out = proc.communicate(timeout=120)[0].decode()
    step_at_kill = load_checkpoint(ckpt)["state"]["step"]
    assert 0 < step_at_kill < total, "the run was not stopped midway"
    if sig == signal.SIGTERM:  # graceful: a result file that says so, exit status 1
        assert proc.returncode == 1, out
        assert read_run(tmp_path / "run.h5").attrs["status"] == "interrupted"
    # the wall time of the segment before the stop is carried on: mark it to find it again
    ck = load_checkpoint(ckpt)
    assert ck["state"]["wall_time"] > 0
    ck["state"]["wall_time"] += 1000.0
    save_checkpoint(ckpt, ck)
    t0 = time.perf_counter()
    resumed = _launch(case, tmp_path, ["train.resume=true"])
    out = resumed.communicate(timeout=300)[0].decode()
    segment = time.perf_counter() - t0
    assert resumed.returncode == 0, out
    rec = read_run(tmp_path / "run.h5")
    assert rec.attrs["status"] == "completed"
    prior = ck["state"]["wall_time"]
    assert prior < rec.attrs["wall_time_s"] < prior + segment
    assert rec.history["step"][-1] == total
    ref = reference.history
    for key in ("loss", "rel_l2"):
        assert rec.history[key][-1] == pytest.approx(ref[key][-1], rel=1e-10, abs=1e-14), key
    assert rec.final["rel_l2"] == pytest.approx(reference.final["rel_l2"], rel=1e-10)
    for key in (k for k in reference.final if k.startswith("coef_")):
        assert rec.final[key] == pytest.approx(reference.final[key], rel=1e-10), key


@pytest.mark.parametrize("reference", ["gauss_newton"], indirect=True)
def test_a_completed_run_continues_to_a_longer_budget(tmp_path, reference):
    """Half the steps, then resumed with the full count: the uninterrupted run's result."""
    _, reference = reference
    total = CASES["gauss_newton"][1]
    half = f"train.phases=[{{optimizer:gauss_newton,steps:{total // 2}}}]"
    first = _launch("gauss_newton", tmp_path, [half])
    out = first.communicate(timeout=300)[0].decode()
    assert first.returncode == 0, out
    assert read_run(tmp_path / "run.h5").history["step"][-1] == total // 2
    more = _launch("gauss_newton", tmp_path, ["train.resume=true"])
    out = more.communicate(timeout=300)[0].decode()
    assert more.returncode == 0, out
    rec = read_run(tmp_path / "run.h5")
    assert rec.history["step"][-1] == total
    assert rec.final["rel_l2"] == pytest.approx(reference.final["rel_l2"], rel=1e-10)
    assert rec.history["loss"][-1] == pytest.approx(reference.history["loss"][-1], rel=1e-10)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    proc = _launch("adam_lbfgs", tmp_path, ["train.resume=true"])
    out = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode != 0
    assert "no checkpoint" in out
