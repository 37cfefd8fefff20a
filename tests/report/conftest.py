"""Synthetic run files and Hydra composition helpers for the report tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from kanpde.results import write_run

ROOT = Path(__file__).resolve().parents[2]


def config_text(
    *,
    problem: str = "poisson",
    variant: str = "kan_paper",
    model: str = "KAN",
    widths: list[int] | None = None,
    grid_size: int = 5,
    extend_at: list[int] | None = None,
    sizes: list[int] | None = None,
    seed: int = 0,
    n_interior: int = 10000,
    sampler: str = "sobol",
    train_extra: dict[str, Any] | None = None,
    top_extra: dict[str, Any] | None = None,
) -> str:
    """The YAML text of a resolved kanpde config (the keys the report looks at)."""
    widths = widths or [2, 10, 1]
    model_node: dict[str, Any] = {"_target_": f"kanpde.models.{model}", "widths": widths}
    if model == "KAN":
        model_node.update(grid_size=grid_size, spline_order=3, basis="bspline")
    else:
        model_node.update(activation="tanh")
    cfg = {
        "problem": {"_target_": f"problems.{problem}.X", "variant": variant},
        "model": model_node,
        "sampler": {"_target_": "kanpde.pde.make_sampler", "name": sampler},
        "train": {
            "lr": 0.001,
            "n_interior": n_interior,
            "phases": [{"optimizer": "lbfgs", "steps": 60, "max_iter": 20}],
            "grid": {"extend_at": extend_at or [], "sizes": sizes or [], "update_every": 0},
            "progress": False,
            "checkpoint_every": 10,
            **(train_extra or {}),
        },
        "seed": seed,
        "device": "auto",
        "dtype": "float64",
        "derivatives": "auto",
        "figures": True,
        **(top_extra or {}),
    }
    return yaml.safe_dump(cfg, sort_keys=False)


def write_synthetic_run(
    path: Path,
    *,
    rel_l2: float,
    mse: float,
    wall: float,
    seed: int,
    n_params: int,
    steps: int = 60,
    status: str = "completed",
    message: str = "",
    problem: str = "Poisson",
    variant: str = "kan_paper",
    model: str = "KAN",
    widths: list[int] | None = None,
    grid_size: int = 5,
    final_grid: int | None = None,
    extend_at: list[int] | None = None,
    sizes: list[int] | None = None,
    n_interior: int = 10000,
    sampler: str = "sobol",
    train_extra: dict[str, Any] | None = None,
    n_params_final: int | None = None,
    top_extra: dict[str, Any] | None = None,
) -> Path:
    """A complete run.h5 with the given metrics on a small 2-D evaluation grid.

    ``n_params_final`` (the count after training, as a solve records it) defaults to the
    cubic KAN's ``edges x (G + 5)`` at the final grid when ``n_params`` is that count at the
    first grid, else to ``n_params``."""
    widths = widths or [2, 10, 1]
    if n_params_final is None:
        edges = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=False))
        kan_count = model == "KAN" and n_params == edges * (grid_size + 5)
        n_params_final = edges * ((final_grid or grid_size) + 5) if kan_count else n_params
    x = np.linspace(-1.0, 1.0, 9)
    y = np.linspace(-1.0, 1.0, 7)
    coords = np.stack(np.meshgrid(x, y, indexing="ij"), -1).reshape(-1, 2)
    u_ref = (np.sin(np.pi * coords[:, 0]) * np.sin(np.pi * coords[:, 1] ** 2))[:, None]
    u_pred = u_ref + 0.01 * np.cos(coords.sum(axis=1, keepdims=True))
    t = np.arange(7, dtype=np.float64)
    history = {
        "step": (t * 10).astype(np.int64),
        "time_s": wall * t / 6,
        "loss": np.exp(-t),
        "rel_l2": 0.5 * (rel_l2 / 0.5) ** (t / 6),
        "grid_size": np.full(7, (final_grid or grid_size) if model == "KAN" else 0),
    }
    net = torch.nn.Linear(2, 1).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    text = config_text(
        problem=problem.lower(),
        variant=variant,
        model=model,
        widths=widths,
        grid_size=grid_size,
        extend_at=extend_at,
        sizes=sizes,
        seed=seed,
        n_interior=n_interior,
        sampler=sampler,
        train_extra=train_extra,
        top_extra=top_extra,
    )
    info: dict[str, Any] = {"class": model, "widths": widths}
    if model == "KAN":
        info.update(grid_size=grid_size, spline_order=3, basis="bspline")
    return write_run(
        path,
        config_yaml=text,
        attrs={
            "device": "cpu",
            "dtype": "float64",
            "seed": seed,
            "n_params": n_params,
            "n_params_final": n_params_final,
            "wall_time_s": wall,
            "train_time_s": 0.9 * wall,
            "steps": steps,
            "status": status,
            "message": message,
            "problem": problem,
            "variant": variant,
            "model": model,
            "grid_size": (final_grid or grid_size) if model == "KAN" else 0,
            "derivatives": "auto",
        },
        history=history,
        final={"rel_l2": rel_l2, "mse": mse, "max_abs": 3 * rel_l2},
        eval_fields={"coords": coords, "u_pred": u_pred, "u_ref": u_ref},
        eval_axes=[("x", x), ("y", y)],
        model_state=net.state_dict(),
        model_info=info,
    )


@pytest.fixture
def synth() -> SimpleNamespace:
    return SimpleNamespace(config_text=config_text, write_run=write_synthetic_run)


@pytest.fixture(scope="module")
def compose():
    """compose(overrides, hydra=False) -> plain dict of conf/solve.yaml with the overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from kanpde.app import conf_dir

    def _compose(overrides: list[str], hydra: bool = False) -> dict:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = hydra_compose(
                config_name="solve", overrides=list(overrides), return_hydra_config=hydra
            )
        if hydra:
            return OmegaConf.to_container(cfg.hydra, resolve=False)
        return OmegaConf.to_container(cfg, resolve=True)

    yield _compose
    GlobalHydra.instance().clear()
