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
    params = inspect.signature(get_object(node.pop("_target_"))).parameters
    for key, value in node.items():
        assert key in params, f"{path.name}: {key!r} is not an argument of the constructor"
        if key in REQUIRED and params[key].default is inspect.Parameter.empty:
            continue
        default = params[key].default
        if isinstance(default, tuple):
            default = list(default)
        assert value == default, f"{path.name}: {key} = {value!r}, the constructor's {default!r}"


def _defaults(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        else:
            out[f.name] = f.default_factory()
    return out


def test_train_yaml_is_train_config_default():
    """conf/train/default.yaml is TrainConfig(): every key, every phase key, the grid."""
    yaml = _plain(CONF / "train" / "default.yaml")
    assert TrainConfig.from_dict(yaml) == TrainConfig()
    python = dataclasses.asdict(TrainConfig())
    assert set(yaml) == set(python), set(yaml) ^ set(python)
    for key in yaml:
        if key == "phases":  # a phase written in the YAML sets every key it gives
            assert len(yaml[key]) == len(python[key])
            for got, want in zip(yaml[key], python[key], strict=True):
                assert got == {k: want[k] for k in got}, f"train.phases: {got} vs {want}"
        else:
            assert yaml[key] == python[key], f"train.{key}: {yaml[key]!r} vs {python[key]!r}"
