"""kanpde-report on synthetic run files: the table value by value, bad and missing runs."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest

from kanpde.report import find_run_files, group_runs, load_runs, main

# Poisson, KAN [2,10,1], grid 5 -> 10 -> 20 at steps 20, 40: 30 edges x (G + 3 + 2).
KAN_INIT = 30 * (5 + 5)  # 300
KAN_FINAL = 30 * (20 + 5)  # 750
MLP = 2 * 18 + 18 + 2 * (18 * 18 + 18) + 18 + 1  # [2,18,18,18,1] = 757

KAN_RUNS = [  # seed, rel_l2, mse, wall
    (0, 1.0e-3, 2.0e-7, 100.0),
    (1, 2.0e-3, 5.0e-7, 110.0),
    (2, 6.0e-3, 4.0e-6, 150.0),
]
MLP_RUNS = [(0, 1.0e-2, 3.0e-5, 80.0), (1, 3.0e-2, 1.0e-4, 90.0)]


def _multirun_yaml(n_jobs: int) -> str:
    """A multirun.yaml as Hydra's basic sweeper leaves it: params x task overrides."""
    return (
        "hydra:\n"
        "  sweep:\n    dir: somewhere\n    subdir: ${hydra.job.num}\n"
        "  sweeper:\n"
        "    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        "    max_batch_size: null\n"
        "    params:\n"
        f"      seed: 0,1,2\n"
        "  overrides:\n"
        "    task:\n"
        "    - model=kan,mlp\n"
        f"    - +tag={','.join(str(i) for i in range(n_jobs // 6))}\n"
    )


@pytest.fixture
def study(tmp_path: Path, synth) -> Path:
    """A sweep directory with 3 KAN + 3 MLP seeds (one diverged), a corrupt file, a job
    that left no run.h5, jobs never started, and a second problem with one seed."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    # 12 expected jobs (seed 0,1,2 x model kan,mlp x tag 0,1); dirs 0-7 exist.
    (sweep / "multirun.yaml").write_text(_multirun_yaml(12))
    kan = {
        "model": "KAN",
        "widths": [2, 10, 1],
        "grid_size": 5,
        "final_grid": 20,
        "extend_at": [20, 40],
        "sizes": [10, 20],
        "n_params": KAN_INIT,
    }
    mlp = {"model": "MLP", "widths": [2, 18, 18, 18, 1], "n_params": MLP}
    for seed, rel, mse, wall in KAN_RUNS:
        synth.write_run(
            sweep / str(seed) / "run.h5", rel_l2=rel, mse=mse, wall=wall, seed=seed, **kan
        )
    for seed, rel, mse, wall in MLP_RUNS:
        synth.write_run(
            sweep / str(3 + seed) / "run.h5", rel_l2=rel, mse=mse, wall=wall, seed=seed, **mlp
        )
    synth.write_run(
        sweep / "5" / "run.h5",
        rel_l2=float("nan"),
        mse=float("nan"),
        wall=5.0,
        seed=2,
        status="diverged",
        message="loss is not finite after 5 rollbacks",
        **mlp,
    )
    (sweep / "6").mkdir()
    (sweep / "6" / "run.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    job = sweep / "7"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- seed=1\n- model=mlp\n- +tag=1\n")
    (job / "cli.log").write_text("[INFO] - step 10\n[ERROR] - out of memory\n\n")
    other = tmp_path / "heat_run"
    synth.write_run(
        other / "run.h5",
        rel_l2=0.05,
        mse=1e-3,
        wall=42.0,
        seed=0,
        problem="Heat",
        variant="1d",
        model="KAN",
        widths=[2, 8, 8, 1],
        n_params=88 * 10,
    )
    return tmp_path


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _f(text: str) -> float:
    return math.nan if text == "" else float(text)


def test_summary_values(study: Path, capsys):
    out = study / "report"
    assert main([str(study / "sweep"), str(study / "heat_run"), "-o", str(out)]) == 0
    rows = _read_csv(out / "summary.csv")
    assert [(r["problem"], r["model"]) for r in rows] == [
        ("Heat", "KAN"),
        ("Poisson", "KAN"),
        ("Poisson", "MLP"),
    ]
    heat, kan, mlp = rows

    # KAN: three completed seeds, parameters after the last extension.
    assert kan["widths"] == "[2,10,1]" and kan["grid"] == "5->10->20"
    assert int(kan["params"]) == KAN_FINAL and int(kan["params_init"]) == KAN_INIT
    assert _f(kan["params_ratio_kan"]) == 1.0
    assert (kan["runs"], kan["completed"], kan["seeds"]) == ("3", "3", "0 1 2")
    for col, k in (("rel_l2", 1), ("mse", 2), ("wall_time_s", 3)):
        vals = [r[k] for r in KAN_RUNS]
        assert _f(kan[f"{col}_mean"]) == pytest.approx(statistics.mean(vals), rel=1e-14)
        assert _f(kan[f"{col}_std"]) == pytest.approx(statistics.stdev(vals), rel=1e-12)
        assert _f(kan[f"{col}_min"]) == min(vals) and _f(kan[f"{col}_max"]) == max(vals)
    assert _f(kan["max_abs_mean"]) == pytest.approx(3 * statistics.mean([r[1] for r in KAN_RUNS]))
    assert _f(kan["train_time_s_mean"]) == pytest.approx(
        0.9 * statistics.mean([r[3] for r in KAN_RUNS])
    )
    assert _f(kan["steps_mean"]) == 60.0
    assert kan["rel_h1_mean"] == ""  # no run has it

    # MLP: the diverged seed counts in runs, not in the statistics.
    assert mlp["grid"] == "" and int(mlp["params"]) == MLP == int(mlp["params_init"])
    assert _f(mlp["params_ratio_kan"]) == pytest.approx(MLP / KAN_FINAL, rel=1e-14)
    assert (mlp["runs"], mlp["completed"], mlp["seeds"]) == ("3", "2", "0 1 2")
    vals = [r[1] for r in MLP_RUNS]
    assert _f(mlp["rel_l2_mean"]) == pytest.approx(statistics.mean(vals), rel=1e-14)
    assert _f(mlp["rel_l2_std"]) == pytest.approx(statistics.stdev(vals), rel=1e-12)

    # One seed: a mean, no spread; no KAN with matching settings for the ratio but itself.
    assert _f(heat["rel_l2_mean"]) == 0.05 and heat["rel_l2_std"] == ""
    assert int(heat["params"]) == 880 and heat["grid"] == "5"

    runs = _read_csv(out / "runs.csv")
    assert len(runs) == 7  # 6 readable in the sweep + the heat run; the corrupt one is not
    by_seed = {(r["model"], r["seed"]): r for r in runs if r["problem"] == "Poisson"}
    assert _f(by_seed[("KAN", "1")]["rel_l2"]) == 2.0e-3
    assert by_seed[("MLP", "2")]["status"] == "diverged"
    assert {r["group"] for r in runs if r["model"] == "MLP"} == {"3"}

    printed = capsys.readouterr().out
    assert "7 run(s) read (6 completed) in 3 group(s); 2 flagged, 5 missing" in printed


def test_markdown_flags_bad_and_missing_runs(study: Path):
    out = study / "report"
    assert main([str(study / "sweep"), "-o", str(out)]) == 0
    md = (out / "report.md").read_text()
    table = md.split("## Results")[1].split("\n\n")[1]
    lines = table.splitlines()
    assert len(lines) == 2 + 2  # header, rule, KAN, MLP
    kan = [c.strip() for c in lines[2].strip("|").split("|")]
    assert kan[:6] == ["Poisson (kan_paper)", "KAN", "[2,10,1]", "5->10->20", "750", "1.000"]
    mean, std = (
        statistics.mean([r[1] for r in KAN_RUNS]),
        statistics.stdev([r[1] for r in KAN_RUNS]),
    )
    assert kan[6] == "3/3" and kan[7] == f"{mean:.2e} ± {std:.2e}"
    mlp = [c.strip() for c in lines[3].strip("|").split("|")]
    assert mlp[4:7] == [str(MLP), f"{MLP / KAN_FINAL:.3f}", "2/3"]

    # every path in the report is relative to the report folder
    assert str(study) not in md and "from `../sweep`." in md
    assert str(study) not in (out / "runs.csv").read_text()
    flagged = md.split("## Flagged runs")[1].split("## Missing runs")[0]
    assert "sweep/5/run.h5" in flagged and "diverged" in flagged
    assert "loss is not finite" in flagged
    assert "sweep/6/run.h5" in flagged and "unreadable" in flagged and "corrupt" in flagged
    missing = md.split("## Missing runs")[1]
    assert "sweep/7" in missing and "out of memory" in missing and "seed=1 model=mlp" in missing
    for n in (8, 9, 10, 11):  # expected by multirun.yaml, never started
        assert f"sweep/{n}` " in missing
    # job 8 of the product seed x model x tag (the basic sweeper's order)
    assert "seed=2 model=kan +tag=0" in missing
    for name in (
        "error_vs_params",
        "error_vs_time",
        "curves_poisson_kan_paper",
        "best_poisson_kan_paper_kan",
        "best_poisson_kan_paper_mlp",
    ):
        assert (out / f"{name}.png").stat().st_size > 1000
        assert f"]({name}.png)" in md


def test_empty_directory_is_nothing_to_report(tmp_path: Path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "nothing to report" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_only_corrupt_runs_is_nothing_to_report(tmp_path: Path, capsys):
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "run.h5").write_text("not hdf5")
    assert main([str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "nothing to report" in err and "unreadable" in err


def test_missing_path_is_usage_error(tmp_path: Path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_groups_split_on_config_differences(tmp_path: Path, synth):
    """Runs differing in a non-seed key form separate groups labelled with the key; the
    ratio links each MLP to the KAN with the same non-model settings."""
    common = {"mse": 1e-6, "wall": 10.0}
    for i, n_int in enumerate((10000, 4096)):
        for seed in (0, 1):
            synth.write_run(
                tmp_path / f"k{i}{seed}" / "run.h5",
                rel_l2=1e-3,
                seed=seed,
                n_params=300,
                n_interior=n_int,
                **common,
            )
            synth.write_run(
                tmp_path / f"m{i}{seed}" / "run.h5",
                rel_l2=1e-2,
                seed=seed,
                model="MLP",
                widths=[2, 10, 10, 1],
                n_params=151,
                n_interior=n_int,
                **common,
            )
    runs, bad = load_runs(find_run_files([tmp_path]))
    assert not bad and len(runs) == 8
    groups = group_runs(runs)
    assert len(groups) == 4 and all(len(g.runs) == 2 for g in groups)
    assert sorted(g.setting for g in groups) == [
        "train.n_interior=10000",
        "train.n_interior=10000",
        "train.n_interior=4096",
        "train.n_interior=4096",
    ]
    for g in groups:
        expected = 1.0 if g.first.model == "KAN" else 151 / 300
        assert g.kan_ratio == pytest.approx(expected, rel=1e-14)


def test_keys_added_later_group_with_old_runs_at_their_neutral_value(tmp_path: Path, synth):
    """A run recorded before train.shards / train.sparsity / train.compile existed and one
    with them at their neutral values computed the same thing: one group; a real value
    splits it."""
    neutral = {"l1": 0.0, "entropy": 0.0}
    extras = [
        None,
        {"shards": None, "sparsity": neutral, "compile": False},
        {"shards": 2, "sparsity": neutral},
        {"shards": None, "sparsity": {"l1": 1e-3, "entropy": 0.0}},
        {"shards": None, "sparsity": neutral, "compile": True},
    ]
    for seed, extra in enumerate(extras):
        synth.write_run(tmp_path / f"r{seed}" / "run.h5", rel_l2=1e-3, mse=1e-6, wall=1.0,
                        seed=seed, n_params=300, train_extra=extra)
    runs, bad = load_runs(find_run_files([tmp_path]))
    assert not bad
    groups = group_runs(runs)
    assert sorted(len(g.runs) for g in groups) == [1, 1, 1, 2]
    assert sorted(g.setting for g in groups if len(g.runs) == 1) == [
        "train.compile=true", "train.shards=2", "train.sparsity.l1=0.001",
    ]


def test_recorded_study_rules_do_not_split_groups(tmp_path: Path, synth):
    """A run that records the matching rule it was sized by (``match``) groups with one
    that was sized by hand to the same model: the rule's outcome is in the model keys."""
    rule = {"match": {"kan": {"widths": [2, 10, 1], "grid_size": 5}, "depth": 3,
                      "baselines": {"mlp": {"activation": "tanh"}}}}
    for seed, extra in enumerate([None, rule, rule]):
        synth.write_run(tmp_path / f"r{seed}" / "run.h5", rel_l2=1e-3, mse=1e-6, wall=1.0,
                        seed=seed, n_params=151, model="MLP", widths=[2, 10, 10, 1],
                        top_extra=extra)
    synth.write_run(tmp_path / "other" / "run.h5", rel_l2=1e-3, mse=1e-6, wall=1.0, seed=0,
                    n_params=151, model="MLP", widths=[2, 10, 10, 1], n_interior=4096,
                    top_extra=rule)
    runs, bad = load_runs(find_run_files([tmp_path]))
    assert not bad
    groups = group_runs(runs)
    assert sorted(len(g.runs) for g in groups) == [1, 3]
    assert sorted(g.setting for g in groups) == ["train.n_interior=10000",
                                                 "train.n_interior=4096"]


def test_bad_metric_is_rejected(tmp_path: Path):
    from kanpde.report import build_report

    with pytest.raises(ValueError, match="metric"):
        build_report([tmp_path], metric="accuracy")


def test_group_label_comes_from_a_completed_run(tmp_path: Path, synth):
    """A seed interrupted before the grid extensions does not set the group's G or count."""
    kan = {
        "model": "KAN",
        "widths": [2, 10, 1],
        "grid_size": 5,
        "extend_at": [20, 40],
        "sizes": [10, 20],
        "n_params": KAN_INIT,
        "mse": 1e-6,
        "wall": 10.0,
    }
    synth.write_run(
        tmp_path / "0" / "run.h5",
        rel_l2=0.3,
        seed=0,
        steps=12,
        status="interrupted",
        final_grid=5,
        **kan,
    )
    for seed in (1, 2):
        synth.write_run(
            tmp_path / str(seed) / "run.h5", rel_l2=1e-3, seed=seed, final_grid=20, **kan
        )
    groups = group_runs(load_runs(find_run_files([tmp_path]))[0])
    assert len(groups) == 1
    g = groups[0]
    assert g.grid_label == "5->10->20" and g.n_params == KAN_FINAL
    assert [r.grid_ladder for r in g.runs] == [[5], [5, 10, 20], [5, 10, 20]]
    assert [r.n_params for r in g.runs] == [KAN_INIT, KAN_FINAL, KAN_FINAL]
    assert len(g.completed) == 2 and g.metric("rel_l2")["mean"] == 1e-3
