"""The study presets (conf/experiment/) and launchers (conf/hydra/launcher/): every job of
every sweep preset passes the up-front check and builds (each job built once, by the check);
a single run of every preset does too; the studies hold fixed what a fair comparison must
hold fixed; the matching and ladder rules give the counts the presets state."""

from __future__ import annotations

import pytest

from kanpde.app import conf_dir
from kanpde.app.precheck import check_sweep, precheck
from kanpde.app.study_rules import final_grid
from kanpde.models import count_parameters

PRESETS = sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))
SWEEPS = {"compare": 48, "grid_sweep": 27, "grid_sweep_mlp": 8, "lshape": 6, "paper_poisson": 6,
          "pinnacle": 26}


def _trained_count(plan) -> int:
    """The real parameter count of the plan's model as it ends training (grid extended)."""
    cfg, model = plan.config, plan.model
    if cfg["model"]["_target_"].endswith(".KAN"):
        g = final_grid(cfg["model"]["grid_size"], cfg["train"])
        if g != model.net.grid_size:
            model.net.extend_grid(g)
    return count_parameters(model)


@pytest.fixture(scope="module")
def studies():
    """{preset: [(overrides, resolved config, trained count)]} for every sweep preset: the
    jobs as the up-front check expands them (Hydra's basic sweeper over the preset's
    hydra.sweeper.params), each checked and built once."""
    out = {}
    for name in SWEEPS:
        plans = check_sweep(conf_dir(), [f"experiment={name}", "hydra/launcher=local"])
        assert plans is not None
        out[name] = [(job, plan.config, _trained_count(plan)) for job, plan in plans]
    return out


def test_every_preset_is_listed(compose):
    swept = [p for p in PRESETS
             if compose([f"experiment={p}"], hydra=True)["sweeper"].get("params")]
    assert sorted(swept) == sorted(SWEEPS)


@pytest.mark.parametrize("preset", PRESETS)
def test_single_run_of_every_preset_passes_the_check(preset):
    checked = precheck([f"experiment={preset}"], conf_dir())
    assert checked is not None
    _, plan = checked
    assert count_parameters(plan.model) > 0 and plan.train.total_steps > 0


@pytest.mark.parametrize(("preset", "n"), sorted(SWEEPS.items()))
def test_every_job_composes_and_builds(studies, preset, n):
    rows = studies[preset]
    assert len(rows) == n
    configs = [repr(sorted(cfg.items())) for _, cfg, _ in rows]
    assert len(set(configs)) == n, f"{preset}: two jobs run the same config"


def _without_model(cfg: dict) -> dict:
    out = {k: v for k, v in cfg.items() if k != "model"}
    out["train"] = {k: v for k, v in cfg["train"].items() if k != "grid"}  # KAN-only schedule
    return out


def _value(job: list[str], key: str) -> str:
    return next(o.split("=", 1)[1] for o in job if o.startswith(f"{key}="))


def test_compare_is_fair_and_matched(studies):
    by_case: dict[tuple[str, str], dict[str, tuple[int, dict]]] = {}
    for job, cfg, count in studies["compare"]:
        key = (_value(job, "experiment/compare_case"), _value(job, "seed"))
        by_case.setdefault(key, {})[_value(job, "model")] = (count, cfg)
    assert sorted({p for p, _ in by_case}) == ["allen_cahn", "darcy", "heat", "poisson"]
    assert sorted({s for _, s in by_case}) == ["0", "1", "2"]
    for key, models in by_case.items():
        assert sorted(models) == ["fourier_mlp", "kan", "mlp", "siren"], key
        kan_count, kan_cfg = models["kan"]
        for name, (count, cfg) in models.items():
            # matched: within 3% of the KAN's count after its last grid extension
            assert abs(count / kan_count - 1) <= 0.03, (key, name, count, kan_count)
            # same problem, sampler, points, optimizer schedule and budget for every model
            assert _without_model(cfg) == _without_model(kan_cfg), (key, name)
    counts = {(p, m): c for (p, s), models in by_case.items() if s == "0"
              for m, (c, _) in models.items()}
    # the counts the case files state
    assert counts["poisson", "kan"] == 30 * (40 + 7) == 1410
    assert counts["poisson", "mlp"] == counts["poisson", "siren"] == 1401
    assert counts["poisson", "fourier_mlp"] == counts["darcy", "fourier_mlp"] == 1407
    assert counts["heat", "kan"] == 88 * (20 + 7) == 2376
    assert counts["heat", "siren"] == 2377 and counts["heat", "fourier_mlp"] == 2431
    assert counts["allen_cahn", "kan"] == 96 * (20 + 7) == 2592  # periodic embedding
    assert counts["allen_cahn", "mlp"] == 2551 and counts["allen_cahn", "fourier_mlp"] == 2577


def test_grid_sweep_ladders(studies):
    seen = {}
    for job, cfg, count in studies["grid_sweep"]:
        ladder = [int(g) for g in _value(job, "train.grid.ladder").strip("[]").split(",")]
        assert cfg["model"]["grid_size"] == ladder[0]
        assert [cfg["model"]["grid_size"], *cfg["train"]["grid"]["sizes"]] == ladder
        at = cfg["train"]["grid"]["extend_at"]
        assert at == [i * 100 // len(ladder) for i in range(1, len(ladder))]  # equal shares
        widths = cfg["model"]["widths"]
        edges = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=False))
        assert cfg["model"]["spline_order"] == 3
        assert count == edges * (ladder[-1] + 5), job
        seen[(cfg["problem"]["_target_"], tuple(widths), tuple(ladder))] = count
    assert len(seen) == 27
    mlp_counts: dict[str, list[int]] = {}
    for job, cfg, count in studies["grid_sweep_mlp"]:
        mlp_counts.setdefault(_value(job, "experiment/grid_case"), []).append(count)
        kan_like = next(c for _, c, _ in studies["grid_sweep"]
                        if c["problem"] == cfg["problem"])
        assert _without_model(cfg) == _without_model(kan_like)  # the KANs' points and budget
    assert mlp_counts == {"poisson": [81, 261, 921, 3441], "heat": [81, 261, 921, 3441]}


def test_paper_poisson(studies):
    counts = {}
    for _, cfg, count in studies["paper_poisson"]:
        assert cfg["sampler"]["name"] == "uniform"
        assert (cfg["train"]["n_interior"], cfg["train"]["n_boundary"]) == (10000, 800)
        assert cfg["problem"]["variant"] == "kan_paper" and cfg["problem"]["loss_weights"] is None
        counts[tuple(cfg["model"]["widths"])] = count
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
