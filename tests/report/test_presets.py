"""The study presets (conf/experiment/) and launchers (conf/hydra/launcher/) compose, build,
hold what a fair comparison must hold fixed, and match parameter counts within 10%."""

from __future__ import annotations

import pytest

from kanpde.app import build
from kanpde.models import count_parameters
from kanpde.report.sweeps import expand_sweep

MODEL_KEYS = ("model",)


def _cases(compose, experiment: str) -> list[str]:
    """The experiment/case values the preset's sweep runs (from its hydra.sweeper.params)."""
    hydra = compose([f"experiment={experiment}"], hydra=True)
    params = hydra["sweeper"]["params"]
    cases = expand_sweep(str(params["experiment/case"]))
    assert cases, f"{experiment}: no experiment/case sweep"
    return cases


def _final_grid(cfg: dict) -> int | None:
    """The KAN grid size after the last extension that the schedule reaches."""
    if not cfg["model"]["_target_"].endswith(".KAN"):
        return None
    total = sum(p["steps"] for p in cfg["train"]["phases"])
    g = cfg["model"]["grid_size"]
    for at, size in zip(
        cfg["train"]["grid"]["extend_at"], cfg["train"]["grid"]["sizes"], strict=True
    ):
        if at < total:
            g = size
    return g


def _trained_count(cfg: dict) -> int:
    """The real parameter count of the model as it ends training (grid extended)."""
    _, model, *_ = build(cfg)
    g = _final_grid(cfg)
    if g is not None and g != model.net.grid_size:
        model.net.extend_grid(g)
    return count_parameters(model)


def _without_model(cfg: dict) -> dict:
    out = {k: v for k, v in cfg.items() if k not in MODEL_KEYS}
    out["train"] = {k: v for k, v in cfg["train"].items() if k != "grid"}  # KAN-only schedule
    return out


def test_compare_is_fair_and_matched(compose):
    cases = _cases(compose, "compare")
    hydra = compose(["experiment=compare"], hydra=True)
    assert expand_sweep(str(hydra["sweeper"]["params"]["seed"])) == ["0", "1", "2"]
    by_problem: dict[str, dict[str, tuple[int, dict]]] = {}
    for case in cases:
        cfg = compose(["experiment=compare", f"experiment/case={case}"])
        problem, model = case.strip("[]").split(",")
        by_problem.setdefault(problem, {})[model.split("_")[0]] = (_trained_count(cfg), cfg)
    assert sorted(by_problem) == ["allen_cahn", "darcy", "heat", "poisson"]
    for problem, models in by_problem.items():
        assert sorted(models) == ["fourier", "kan", "mlp", "siren"], problem
        kan_count, kan_cfg = models["kan"]
        for name, (count, cfg) in models.items():
            # matched: within 10% of the KAN's count after its last grid extension
            assert abs(count / kan_count - 1) <= 0.10, (problem, name, count, kan_count)
            # same problem, sampler, points, optimizer schedule and budget for every model
            assert _without_model(cfg) == _without_model(kan_cfg), (problem, name)
    # the counts the preset's comments state
    assert by_problem["poisson"]["kan"][0] == 30 * (40 + 7) == 1410
    assert by_problem["heat"]["kan"][0] == 88 * (20 + 7) == 2376
    assert by_problem["allen_cahn"]["kan"][0] == 96 * (20 + 7) == 2592  # periodic embedding
    assert by_problem["poisson"]["mlp"][0] == 1401 and by_problem["poisson"]["fourier"][0] == 1407
    assert by_problem["heat"]["siren"][0] == 2377 and by_problem["heat"]["fourier"][0] == 2431
    assert by_problem["allen_cahn"]["mlp"][0] == 2410


def test_grid_sweep_points(compose):
    cases = _cases(compose, "grid_sweep")
    assert len(cases) == len(set(cases)) == 35
    seen: dict[tuple, int] = {}
    mlp_counts: dict[str, list[int]] = {}
    for case in cases:
        cfg = compose(["experiment=grid_sweep", f"experiment/case={case}"])
        parts = case.strip("[]").split(",")
        count = _trained_count(cfg)
        if parts[1].startswith("kan"):
            g_block = parts[2]
            target = int(g_block.removeprefix("ext").removeprefix("g"))
            assert _final_grid(cfg) == target, case
            assert cfg["model"]["grid_size"] == (3 if g_block.startswith("ext") else target)
            widths = cfg["model"]["widths"]
            edges = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=False))
            assert count == edges * (target + 5), case
            seen[(parts[0], tuple(widths), g_block)] = count
        else:
            mlp_counts.setdefault(parts[0], []).append(count)
    assert len(seen) == 27
    for counts in mlp_counts.values():
        assert counts == sorted(counts) and counts == [81, 261, 921, 3441]


def test_paper_poisson(compose):
    cases = _cases(compose, "paper_poisson")
    counts = {}
    for case in cases:
        cfg = compose(["experiment=paper_poisson", f"experiment/case={case}"])
        assert cfg["sampler"]["name"] == "uniform"
        assert (cfg["train"]["n_interior"], cfg["train"]["n_boundary"]) == (10000, 800)
        assert cfg["problem"]["variant"] == "kan_paper" and cfg["problem"]["loss_weights"] is None
        counts[tuple(cfg["model"]["widths"])] = _trained_count(cfg)
    assert counts == {(2, 10, 1): 750, (2, 100, 100, 100, 1): 20601}


@pytest.mark.parametrize(
    ("launcher", "target", "extra"),
    [
        ("local", "JoblibLauncher", {"n_jobs": 2}),
        ("slurm", "SlurmLauncher", {"partition": None, "timeout_min": 60, "max_num_timeout": 0}),
    ],
)
def test_launchers_compose(compose, launcher, target, extra):
    hydra = compose([f"hydra/launcher={launcher}"], hydra=True)
    conf = hydra["launcher"]
    assert conf["_target_"].endswith(target)
    for key, value in extra.items():
        assert conf[key] == value
    over = compose(
        [f"hydra/launcher={launcher}", "hydra.launcher.timeout_min=7"]
        if launcher == "slurm"
        else [f"hydra/launcher={launcher}", "hydra.launcher.n_jobs=4"],
        hydra=True,
    )
    key = "timeout_min" if launcher == "slurm" else "n_jobs"
    assert over["launcher"][key] == (7 if launcher == "slurm" else 4)
