"""Helpers to compose the Hydra config tree in tests."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from kanpde.app import conf_dir


@pytest.fixture
def compose_cfg():
    """compose_cfg(overrides) -> plain dict of conf/solve.yaml with the overrides applied."""

    def _compose(overrides: list[str] | None = None) -> dict:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="solve", overrides=list(overrides or []))
        return OmegaConf.to_container(cfg, resolve=True)

    yield _compose
    GlobalHydra.instance().clear()


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
