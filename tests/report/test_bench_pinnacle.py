"""python -m kanpde.bench pinnacle: one quick job end to end (a real CLI solve), its table row,
reuse of a completed run, and refused arguments."""

from __future__ import annotations

import pytest

from kanpde.bench import pinnacle


def test_quick_job_runs_and_is_tabled_then_reused(tmp_path, capsys):
    args = ["--tasks", "wave1d_c", "--models", "kan", "--quick", "--out", str(tmp_path / "runs"),
            "--table", str(tmp_path / "table.md")]
    assert pinnacle.main(args) == 0
    run = tmp_path / "runs" / "wave1d_c" / "kan-s0"
    assert (run / "run.h5").is_file()
    table = (tmp_path / "table.md").read_text()
    row = [line for line in table.splitlines() if line.startswith("| Wave1d-C")]
    assert len(row) == 1
    cells = [c.strip() for c in row[0].strip("|").split("|")]
    assert float(cells[1].split()[0]) > 0  # the KAN's rel_l2
    assert cells[2] == "5.88e-01" and cells[3].endswith("(NTK)")
    capsys.readouterr()
    assert pinnacle.main(args) == 0
    assert "done before, reused" in capsys.readouterr().out


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        pinnacle.main(["--tasks", "navier"])
    with pytest.raises(SystemExit):
        pinnacle.main(["--models", "kan,transformer"])


def test_a_field_task_gives_the_mlp_run_an_mlp_field_network(tmp_path):
    import yaml

    from kanpde.results import read_run

    args = ["--tasks", "heat_inv_field", "--models", "mlp", "--quick", "--out", str(tmp_path)]
    assert pinnacle.main(args) == 0
    run = read_run(tmp_path / "heat_inv_field" / "mlp-s0" / "run.h5")
    cfg = yaml.safe_load(run.config)
    assert run.attrs["status"] == "completed" and run.attrs["model"] == "MLP"
    assert cfg["fields"]["a"] == {"_target_": "kanpde.models.MLP", "widths": [2, 20, 20, 1]}
    assert cfg["model"]["widths"][-1] == 1


def test_gray_scott_row_adds_the_error_of_v_alone(tmp_path):
    """GS's overall L2RE is 9.5e-2 for the trivial u = 1, v = 0; its row adds v's own error,
    computed from the run's test-set arrays."""
    from kanpde.results import read_run

    args = ["--tasks", "gray_scott", "--models", "kan", "--quick", "--out", str(tmp_path),
            "--table", str(tmp_path / "table.md")]
    assert pinnacle.main(args) == 0
    folder = tmp_path / "gray_scott" / "kan-s0"
    rec = read_run(folder / "run.h5")
    want = float(((rec.eval["u_pred"][:, 1] - rec.eval["u_ref"][:, 1]) ** 2).sum() ** 0.5
                 / (rec.eval["u_ref"][:, 1] ** 2).sum() ** 0.5)
    assert pinnacle.result(folder, 1)["rel_l2_output"] == pytest.approx(want, rel=1e-12)
    row = [r for r in (tmp_path / "table.md").read_text().splitlines() if r.startswith("| GS")]
    assert len(row) == 1 and f"v alone {want:.2e}" in row[0]


def test_every_case_is_a_task_with_published_numbers():
    """Each pinnacle case file is a bench task (and the reverse), each with PINNacle's row."""
    from kanpde.app import conf_dir

    cases = {p.stem for p in (conf_dir() / "experiment" / "pinnacle_case").glob("*.yaml")}
    assert cases == set(pinnacle.TASKS)
    assert set(pinnacle.PUBLISHED) == set(pinnacle.TASKS)


def test_hard_constrained_wave_case_turns_the_constraint_on(compose):
    cfg = compose(["experiment=pinnacle", "experiment/pinnacle_case=wave1d_c_hard"])
    assert cfg["hard_constraint"] is True and cfg["problem"]["_target_"].endswith("Wave1dC")
    plain = compose(["experiment=pinnacle", "experiment/pinnacle_case=wave1d_c"])
    assert not plain.get("hard_constraint", False)
    assert cfg["train"] == plain["train"] and cfg["match"] == plain["match"]


@pytest.mark.parametrize("task", ["poisson2d_c", "poisson2d_cg"])
def test_long_poisson_cases_double_only_the_step_budget(compose, task):
    cfg = compose(["experiment=pinnacle", f"experiment/pinnacle_case={task}_long"])
    plain = compose(["experiment=pinnacle", f"experiment/pinnacle_case={task}"])
    assert cfg["train"]["phases"][0]["steps"] == 2 * plain["train"]["phases"][0]["steps"] == 400
    cfg["train"]["phases"][0]["steps"] = plain["train"]["phases"][0]["steps"]
    assert cfg == plain


def test_fine_poisson_case_changes_only_the_grid_and_the_steps(compose):
    cfg = compose(["experiment=pinnacle", "experiment/pinnacle_case=poisson2d_cg_fine"])
    long = compose(["experiment=pinnacle", "experiment/pinnacle_case=poisson2d_cg_long"])
    grid, long_grid = cfg["train"]["grid"], long["train"]["grid"]
    assert grid["sizes"] == [*long_grid["sizes"], 40]
    assert grid["extend_at"] == [*long_grid["extend_at"], 200]
    assert grid["update_every"] == 25 and not long_grid["update_every"]
    assert cfg["match"]["kan"].pop("grid_eps") == 1.0
    # at G = 40 the reference KAN (130 edges x (40 + 5 + 2) parameters) outgrows the 4096 +
    # 1024 points: an exact solve in the kernel form needs a dense limit of at least the rows
    phase = cfg["train"]["phases"][0]
    rows = cfg["train"]["n_interior"] + cfg["train"]["n_boundary"]
    long_limit = long["train"]["phases"][0]["dense_max_params"]
    assert 130 * (40 + 5 + 2) > phase["dense_max_params"] >= rows > long_limit
    assert phase["steps"] == 600 > long["train"]["phases"][0]["steps"]
    cfg["train"]["grid"] = long_grid
    phase["dense_max_params"] = long_limit
    phase["steps"] = long["train"]["phases"][0]["steps"]
    assert cfg == long


def test_wide_heat_case_changes_only_the_reference_kan_and_its_grid(compose):
    cfg = compose(["experiment=pinnacle", "experiment/pinnacle_case=heat2d_vc_wide"])
    plain = compose(["experiment=pinnacle", "experiment/pinnacle_case=heat2d_vc"])
    assert cfg["match"]["kan"]["widths"] == [3, 16, 16, 1]
    assert plain["match"]["kan"]["widths"] == [3, 8, 8, 1]
    grid = cfg["train"]["grid"]
    assert (grid["extend_at"], grid["sizes"]) == ([100], [10])
    # 3 x 16 + 16 x 16 + 16 x 1 edges x (10 + 5 + 2) parameters at G = 10: the dense solver holds it
    phase = cfg["train"]["phases"][0]
    assert phase["dense_max_params"] >= (3 * 16 + 16 * 16 + 16) * 17
    cfg["match"]["kan"]["widths"] = plain["match"]["kan"]["widths"]
    cfg["train"]["grid"] = plain["train"]["grid"]
    phase["dense_max_params"] = plain["train"]["phases"][0]["dense_max_params"]
    assert cfg == plain


@pytest.mark.parametrize("task", ["heat2d_cg", "ns2d_cg"])
def test_adaptive_cases_change_only_the_point_policy(compose, task):
    cfg = compose(["experiment=pinnacle", f"experiment/pinnacle_case={task}_adaptive"])
    plain = compose(["experiment=pinnacle", f"experiment/pinnacle_case={task}"])
    assert plain["train"]["resample"]["policy"] == "fixed"
    assert cfg["train"]["resample"]["policy"] == "rad"
    assert cfg["train"]["resample"]["every"] == 25
    cfg["train"]["resample"] = plain["train"]["resample"]
    assert cfg == plain


def test_coarse_back_step_case_holds_the_grid_and_doubles_the_steps(compose):
    cfg = compose(["experiment=pinnacle", "experiment/pinnacle_case=ns2d_cg_coarse"])
    rad = compose(["experiment=pinnacle", "experiment/pinnacle_case=ns2d_cg_adaptive"])
    assert rad["train"]["grid"]["extend_at"] and not cfg["train"]["grid"]["extend_at"]
    assert not cfg["train"]["grid"]["sizes"]
    phase, rad_phase = cfg["train"]["phases"][0], rad["train"]["phases"][0]
    assert phase["steps"] == 2 * rad_phase["steps"] == 400
    phase["steps"] = rad_phase["steps"]
    cfg["train"]["grid"] = rad["train"]["grid"]
    assert cfg == rad
