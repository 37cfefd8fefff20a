"""A tiny real KAN run (the smoke schedule) for the explain tests."""

from __future__ import annotations

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from kanpde.app import build, conf_dir, solve


def make_run(run_dir, overrides):
    """Solve with ``train=smoke`` and the overrides into ``run_dir``; return ``run_dir``."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="solve", overrides=["train=smoke", "figures=false",
                                                          *overrides])
        plain = OmegaConf.to_container(cfg, resolve=True)
    finally:
        GlobalHydra.instance().clear()
    plan = build(plain)
    assert solve(plan, run_dir, yaml.safe_dump(plan.config)) == "completed"
    return run_dir


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A completed Poisson `sinsin` run of a KAN [2,2,1] (a few smoke steps)."""
    return make_run(tmp_path_factory.mktemp("explain") / "run",
                    ["problem=poisson", "problem.variant=sinsin", "model.widths=[2,2,1]"])
