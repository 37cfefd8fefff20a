"""`torchrun -m kanpde` on 2 gloo ranks: one run directory, rank 0 writes, a killed rank
ends the job with a clear message and a readable checkpoint, and resume continues it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kanpde.app import build, solve
from kanpde.results import read_run
from kanpde.train import load_checkpoint

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")

# Adam then L-BFGS, a grid extension and point refreshes: every piece of state that a
# distributed checkpoint must carry for all shards.
OVERRIDES = [
    "train=smoke", "problem=heat", "figures=false", "train.n_interior=256",
    "train.phases=[{optimizer:adam,steps:60},{optimizer:lbfgs,steps:8,max_iter:5}]",
    "train.grid.extend_at=[30]", "train.grid.sizes=[8]",
    "train.resample.policy=every", "train.resample.every=25",
    "train.checkpoint_every=5", "train.eval_every=20",
]
TOTAL = 68


def _torchrun(args, cwd, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1",
           "KANPDE_DIST_TIMEOUT_S": "60"}
    env.pop("KANPDE_LAUNCH_TIME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "kanpde", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **kw,
    )


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _worker_pid(launcher: int, rank: int) -> int:
    for pid in _descendants(launcher):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and b"TORCHELASTIC_RUN_ID" in b" ".join(env):
            return pid
    raise AssertionError(f"no worker of rank {rank} below pid {launcher}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One process holding both shards (train.shards=2), uninterrupted."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from kanpde.app import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = OmegaConf.to_container(
            compose(config_name="solve", overrides=[*OVERRIDES, "train.shards=2"])
        )
    GlobalHydra.instance().clear()
    run_dir = tmp_path_factory.mktemp("one_process")
    assert solve(build(cfg), run_dir, "# test\n") == "completed"
    return read_run(run_dir / "run.h5")


def test_torchrun_two_ranks_one_run_dir(tmp_path):
    """No hydra.run.dir given: both ranks resolve the same timestamped directory, rank 0
    writes run.h5, the checkpoint and Hydra's files, nothing else appears."""
    proc = _torchrun(["train=smoke", "figures=false"], cwd=tmp_path)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out
    runs = [p for p in (tmp_path / "results" / "runs").glob("*/*") if p.is_dir()]
    assert len(runs) == 1, runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    rec = read_run(runs[0] / "run.h5")
    assert rec.attrs["status"] == "completed"
    assert rec.attrs["world_size"] == 2 and rec.attrs["n_shards"] == 2
    assert (runs[0] / "checkpoint.pt").is_file() and (runs[0] / ".hydra").is_dir()
    assert out.count("completed after") == 1  # only rank 0 logs


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A 2-rank run whose rank 1 is SIGKILLed after rank 0's first checkpoint."""
    tmp = tmp_path_factory.mktemp("killed")
    run_dir = tmp / "run"
    ckpt = run_dir / "checkpoint.pt"
    proc = _torchrun([*OVERRIDES, f"hydra.run.dir={run_dir}"], cwd=tmp)
    t0 = time.time()
    while not ckpt.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() - t0 < 240, "no checkpoint appeared"
        time.sleep(0.05)
    os.kill(_worker_pid(proc.pid, 1), signal.SIGKILL)
    out = proc.communicate(timeout=240)[0]
    return tmp, run_dir, proc.returncode, out


def test_killing_one_rank_ends_the_job_with_a_readable_checkpoint(killed):
    _, run_dir, code, out = killed
    assert code != 0, out
    step = load_checkpoint(run_dir / "checkpoint.pt")["state"]["step"]  # readable
    assert 0 < step < TOTAL
    assert not (run_dir / "run.h5").exists()
    assert "data-parallel run stopped" in out and "is intact" in out, out
    assert "train.resume=true" in out
    assert "Signal 9 (SIGKILL)" in out, out  # torchrun's own report names the killed rank


@pytest.mark.slow
def test_resume_after_a_killed_rank_matches_one_uninterrupted_process(killed, reference):
    tmp, run_dir, _, _ = killed
    resumed = _torchrun([*OVERRIDES, f"hydra.run.dir={run_dir}", "train.resume=true"], cwd=tmp)
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, out
    rec = read_run(run_dir / "run.h5")
    assert rec.attrs["status"] == "completed" and rec.history["step"][-1] == TOTAL
    for key in ("loss", "rel_l2"):
        assert rec.history[key][-1] == pytest.approx(reference.history[key][-1], rel=1e-9), key
    assert rec.final["rel_l2"] == pytest.approx(reference.final["rel_l2"], rel=1e-9)


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_every_rank_at_the_same_step(tmp_path):
    """Graceful stop: the ranks agree on the signal, rank 0 checkpoints and writes run.h5
    with status "interrupted"."""
    run_dir = tmp_path / "run"
    proc = _torchrun([*OVERRIDES, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    t0 = time.time()
    while not (run_dir / "checkpoint.pt").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() - t0 < 240, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=240)[0]
    assert proc.returncode != 0, out
    rec = read_run(run_dir / "run.h5")
    assert rec.attrs["status"] == "interrupted", out
    assert load_checkpoint(run_dir / "checkpoint.pt")["state"]["step"] == rec.attrs["steps"]
