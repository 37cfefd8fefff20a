"""Every bad setting is refused before any work, in one line, with exit status 2, and
without touching an existing run directory (kanpde.app.precheck)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kanpde.app import cli
from kanpde.core.errors import ConfigError

# (overrides, the key the message must name); <file> is a regular file, <fresh> a directory
# that does not exist; every case without a directory of its own points at one holding
# earlier results.
BAD = [
    (["train.lr=nan"], "train.lr"),
    (["train.lr=inf"], "train.lr"),
    (["train.lr=-1e-3"], "train.lr"),
    (["train.phases=[{optimizer:adam,steps:10,lr:nan}]"], "train.phases[0].lr"),
    (["train.phases=[{optimizer:sgd,steps:10}]"], "train.phases[0].optimizer"),
    (["train.phases=[{optimizer:gauss_newton,steps:5,lr:2.0}]"], "train.phases[0].lr"),
    (["train.phases=[{optimizer:adam,steps:5,final_lr_factor:3}]"],
     "train.phases[0].final_lr_factor"),
    (["train.phases=[{optimizer:gauss_newton,steps:5,damping:nan}]"], "train.phases[0].damping"),
    (["train.max_time_s=nan"], "train.max_time_s"),
    (["train.resample.k=nan"], "train.resample.k"),
    (["train.weighting.alpha=1.5"], "train.weighting.alpha"),
    (["train.rba.gamma=nan"], "train.rba.gamma"),
    (["train.sparsity.l1=inf"], "train.sparsity.l1"),
    (["train.sparsity.l1=1e-3"], "train.phases[0].optimizer"),  # not a sum of squares
    (["+train.loss_weights.residual=nan"], "train.loss_weights.residual"),
    (["+train.loss_weights.initial=1.0"], "train.loss_weights"),  # Poisson has no such term
    (["train.loss_weights.foo=1"], "train.loss_weights.foo"),  # not a key of the config
    (["train.n_interior=0"], "train.n_interior"),
    (["train.eval_every=-1"], "train.eval_every"),
    (["train.grid.extend_at=[5]", "train.grid.sizes=[10,20]"], "train.grid.extend_at"),
    (["train.grid.extend_at=[20,10]", "train.grid.sizes=[10,20]"], "train.grid.extend_at"),
    (["train.grid.sizes=[10,0,40]"], "train.grid.sizes[1]"),
    (["train.grid.ladder=[5,3]"], "train.grid.ladder"),
    (["train.grid.ladder=[]"], "train.grid.ladder"),
    (["train.causal.enabled=true"], "train.causal.enabled"),  # Poisson is steady
    (["model.spline_order=1"], "model.spline_order"),  # below the PDE's order 2
    (["model=kan", "problem=heat", "model.spline_order=1"], "model.spline_order"),
    (["model.grid_size=nan"], "model.grid_size"),
    (["model.grid_size=-3"], "model"),
    (["model.widths=[3,5,1]"], "model.widths"),
    (["model.widths=[2,5,2]"], "model.widths"),
    (["model=siren", "model.omega_0=nan"], "model.omega_0"),
    (["model=transformer"], "model"),
    (["problem.variant=nope"], "problem"),
    (["problem=heat", "problem.t_end=inf"], "problem.t_end"),
    (["problem=heat", "problem.diffusion=-1"], "problem"),
    (["embedding.fourier_sigma=nan"], "embedding.fourier_sigma"),
    (["embedding.periodic=true"], "embedding.periodic"),  # Poisson has no periodic axis
    (["sampler.name=foo"], "sampler"),
    (["dtype=float16"], "dtype"),
    (["device=tpu"], "device"),
    (["seed=-1"], "seed"),
    (["derivatives=magic"], "derivatives"),
    (["hydra.run.dir=<file>"], "hydra.run.dir"),
    (["hydra.run.dir=<file>/run"], "hydra.run.dir"),
    (["hydra.run.dir=/proc/kanpde-run"], "hydra.run.dir"),
    (["train.resume=true", "hydra.run.dir=<fresh>"], "train.resume"),
    (["problem=heat", "learn={conductivity:0.5}"], "learn"),  # not a coefficient of Heat
    (["problem=heat", "learn={diffusion:-1}"], "learn"),
    (["learn={diffusion:0.5}"], "learn"),  # Poisson learns nothing
    (["problem=heat", "data.file=<fresh>/obs.npz"], "data.file"),  # no such file
    (["problem=heat", "data.file=<empty>"], "data.file"),
    (["problem=heat", "data.file=<outside>"], "data.file"),
    (["problem=heat", "data.n=-5"], "data.n"),
    (["problem=heat", "data.n=10", "data.file=<empty>"], "data.file"),
    (["problem=heat", "data.n=10", "data.components=[1]"], "data.n"),
    (["-m", "problem=poisson,heat", "train.causal.enabled=true"], "train.causal.enabled"),
    (["-m", "experiment=compare", "train.lr=nan"], "train.lr"),
]


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    old = tmp_path / "old_run"
    (old / ".hydra").mkdir(parents=True)
    (old / "run.h5").write_bytes(b"earlier results")
    (old / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (old / "cli.log").write_text("earlier log\n")
    (tmp_path / "a_file").write_text("not a directory\n")
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 2)), u=np.zeros((0, 1)))
    np.savez(tmp_path / "outside.npz", x=np.array([[0.5, 0.5], [1.5, 0.5]]), u=np.zeros(2))
    return {"old": old, "file": tmp_path / "a_file", "fresh": tmp_path / "fresh_run",
            "empty": tmp_path / "empty.npz", "outside": tmp_path / "outside.npz"}


@pytest.mark.parametrize(("overrides", "key"), BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_setting_is_one_line_exit_2_before_any_work(overrides, key, places, monkeypatch,
                                                        capsys):
    args = list(overrides)
    for name, path in places.items():
        args = [a.replace(f"<{name}>", str(path)) for a in args]
    if not any(a.startswith(("hydra.run.dir=", "hydra.sweep.dir=")) for a in args):
        where = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        args.append(f"{where}={places['old']}")
    before = _snapshot(places["old"])
    monkeypatch.setenv("KANPDE_LAUNCH_TIME", "2026-01-01T00:00:00")
    monkeypatch.setattr(sys, "argv", ["kanpde", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"kanpde: config error: {key}"), lines[0]
    assert _snapshot(places["old"]) == before  # nothing written, nothing changed
    assert not places["fresh"].exists()


def test_the_console_script_refuses_in_one_line(places):
    """The same through a real process: one stderr line, exit 2, the old run untouched."""
    before = _snapshot(places["old"])
    proc = subprocess.run(
        [sys.executable, "-m", "kanpde", "train.lr=nan", f"hydra.run.dir={places['old']}"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "kanpde: config error: train.lr: must be a finite number, got nan"
    assert proc.stdout == ""
    assert _snapshot(places["old"]) == before


def test_a_launcher_whose_plugin_is_missing_names_what_to_install(tmp_path):
    """A launcher config over a plugin that is not installed: one line naming the package
    (here a copy of the config tree whose Slurm launcher asks for an absent plugin config);
    the local launcher composes on the plain dependencies."""
    import shutil

    from kanpde.app.precheck import precheck
    from kanpde.core.errors import ConfigError

    conf = tmp_path / "conf"
    shutil.copytree(cli.conf_dir(), conf)
    (conf / "hydra" / "launcher" / "slurm.yaml").write_text("defaults:\n  - submitit_slurm_x\n")
    sweep = ["-m", "problem=poisson", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    with pytest.raises(ConfigError, match=r"^hydra/launcher: the launcher 'submitit_slurm_x' is "
                                          r"not installed; it comes with the Hydra launcher "):
        precheck([*sweep, "hydra/launcher=slurm"], conf)
    precheck([*sweep, "hydra/launcher=local"], cli.conf_dir())  # joblib: a dependency
    from kanpde.app.precheck import _hydra_error

    err = _hydra_error(RuntimeError("Could not load 'hydra/launcher/submitit_slurm'"), [])
    assert "pip install 'kanpde[sweep]'" in str(err)


@pytest.mark.parametrize(("argv", "says"), [
    (["problem=helmholtz", "problem.a1=abc"],
     "problem.a1: .*'abc' of type 'str' could not be converted to Integer"),
    (["model.grid_size=1.5"], "model.grid_size: .*could not be converted to Integer"),
])
def test_a_mistyped_group_value_is_refused_at_composition_saying_why(argv, says):
    from kanpde.app.precheck import precheck

    with pytest.raises(ConfigError, match=says):
        precheck(argv, cli.conf_dir())
