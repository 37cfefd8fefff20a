"""One set of defaults: what the YAML config tree sets equals the Python defaults, so a
solve from Python (``TrainConfig()``, ``KAN(widths)``, ``Poisson()``) runs the same
experiment as ``kanpde`` on defaults."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from kanpde.app.cli import conf_dir
from kanpde.train.config import TrainConfig

CONF = conf_dir()
TARGETS = sorted(p for group in ("problem", "model", "sampler")
                 for p in (CONF / group).glob("*.yaml") if p.stem != "custom")
REQUIRED = {"widths", "name"}  # constructor arguments without a default (a choice, not a default)


def _plain(path: Path) -> dict:
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_yaml_value_is_its_constructors_default(path):
    node = _plain(path)
    node.pop("defaults", None)  # the option's schema (checked below)
    params = inspect.signature(get_object(node.pop("_target_"))).parameters
    for key, value in node.items():
        assert key in params, f"{path.name}: {key!r} is not an argument of the constructor"
        if key in REQUIRED and params[key].default is inspect.Parameter.empty:
            continue
        default = params[key].default
        if isinstance(default, tuple):
            default = list(default)
        assert value == default, f"{path.name}: {key} = {value!r}, the constructor's {default!r}"


def _composed(overrides=()) -> dict:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return OmegaConf.to_container(compose("solve", overrides=list(overrides)),
                                          resolve=True)
    finally:
        GlobalHydra.instance().clear()


def test_composed_defaults_are_the_python_defaults():
    """``kanpde`` on defaults: ``train`` is ``TrainConfig()`` (every key, every phase key)
    and the top level is the schema's defaults; the YAML sets nothing beside them."""
    from kanpde.app.schema import SolveSchema

    cfg = _composed()
    assert TrainConfig.from_dict(cfg["train"]) == TrainConfig()
    assert cfg["train"] == dataclasses.asdict(TrainConfig())
    schema = OmegaConf.to_container(OmegaConf.structured(SolveSchema))
    for key, value in schema.items():
        if key not in ("problem", "model", "sampler"):
            assert cfg[key] == value, f"{key}: composed {cfg[key]!r}, schema {value!r}"


@pytest.mark.parametrize(("override", "says"), [
    ("train.lrr=1", "train.lrr"),
    ("train.phases=[{optimizr:adam}]", "optimizr"),
    ("train.n_interior=abc", "train.n_interior"),
    ("seeed=1", "seeed"),
    ("data.noise=loud", "data.noise"),
    ("embedding.periodik=true", "embedding.periodik"),
    ("train.grid.ladder=[5,x]", "train.grid.ladder"),
    ("problem.varient=sinsin", "varient"),
    ("model.grid_size=1.5", "grid_size"),
    ("model.widths=[2,x,1]", "widths"),
    ("problem=helmholtz problem.a1=abc", "a1"),
    ("problem=heat problem.t_end=soon", "t_end"),
    ("model=siren model.omega_0=fast", "omega_0"),
    ("sampler.name=5", None),
    ("experiment=compare match.depth=x", "match.depth"),
    ("experiment=compare match.baselines.kann={a:1}", "kann"),
])
def test_an_unknown_or_mistyped_key_fails_at_composition(override, says):
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if says is None:  # a well-typed value composes (its range is the constructor's to check)
        _composed(override.split())
        return
    with pytest.raises((HydraException, OmegaConfBaseException), match=says):
        _composed(override.split())


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_group_option_is_typed_by_its_constructor(path):
    """Each option lists its schema first; the composed node names every argument of the
    constructor (but those the assembly passes) with the constructor's default where the
    YAML sets none."""
    from kanpde.app.group_schemas import PASSED_BY_ASSEMBLY

    group = path.parent.name
    node = _plain(path)
    name = "sampler" if group == "sampler" else path.stem
    assert node["defaults"][0] == f"/schema/{group}/{name}@_here_"
    composed = _composed([f"{group}={path.stem}"] + (
        ["model.widths=[3,4,1]"] if path.stem == "poisson_nd" else []))[group]
    params = inspect.signature(get_object(node["_target_"])).parameters
    for key, p in params.items():
        if key in PASSED_BY_ASSEMBLY or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        assert key in composed, f"{path.name}: {key} missing from the composed node"
        if key not in node and p.default is not inspect.Parameter.empty:
            default = list(p.default) if isinstance(p.default, tuple) else p.default
            assert composed[key] == default, key


def test_one_build_per_solve(tmp_path, monkeypatch):
    """``kanpde`` builds the problem, its observations and the model once per solve: the
    up-front check's plan is the one that trains (composition: once by the check, once by
    Hydra's application, which then reuses the plan)."""
    import sys

    from kanpde.problems.poisson import Poisson

    import kanpde.app.assemble as assemble
    from kanpde.app import cli
    from kanpde.models import KAN
    from kanpde.results import read_run

    counts = {"problem": 0, "model": 0, "observations": 0}

    def counting(cls_or_mod, name, key):
        original = getattr(cls_or_mod, name)

        def wrapper(*args, **kwargs):
            counts[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(cls_or_mod, name, wrapper)

    counting(Poisson, "__init__", "problem")
    counting(KAN, "__init__", "model")
    counting(assemble, "generate_observations", "observations")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("KANPDE_LAUNCH_TIME", "2026-01-01T00:00:00")
    monkeypatch.setattr(sys, "argv", ["kanpde", "train=smoke", "figures=false", "data.n=20",
                                      f"hydra.run.dir={tmp_path}"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    assert counts == {"problem": 1, "model": 1, "observations": 1}
    assert read_run(tmp_path / "run.h5").attrs["status"] == "completed"
