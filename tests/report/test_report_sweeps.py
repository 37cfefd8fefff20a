"""Expected jobs of a basic-sweeper multirun (the reference order is itertools.product)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from kanpde.report.sweeps import expand_sweep, expected_jobs, find_missing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0,1,2", ["0", "1", "2"]),
        ("kan", ["kan"]),
        ("[2,5,1],[2,10,1]", ["[2,5,1]", "[2,10,1]"]),
        ("[a,b], [c,d],[e]", ["[a,b]", "[c,d]", "[e]"]),
        ("choice(mlp, siren)", ["mlp", "siren"]),
        ("range(3)", ["0", "1", "2"]),
        ("range(2, 11, 4)", ["2", "6", "10"]),
        ("range(0,1,0.25)", ["0.0", "0.25", "0.5", "0.75"]),
        ("'a,b',c", ["'a,b'", "c"]),
        ("{x: 1, y: 2},{x: 3}", ["{x:1,y:2}", "{x:3}"]),  # as Hydra writes them
        ("1e-3,1e-2", ["0.001", "0.01"]),
        ("[]", ["[]"]),
        ("glob(*)", None),
        ("interval(0,1)", None),
        ("[1,2", None),
    ],
)
def test_expand_sweep(value, expected):
    assert expand_sweep(value) == expected


def test_expected_jobs_is_the_product_in_order(tmp_path: Path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n"
        "  sweep: {dir: x, subdir: '${hydra.job.num}'}\n"
        "  sweeper:\n"
        "    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        "    params: {model.grid_size: '3,5', seed: '0,1,2'}\n"
        "  overrides:\n"
        "    task: [experiment=grid_sweep, 'seed=7,8', train=smoke]\n"
    )
    jobs = expected_jobs(tmp_path / "multirun.yaml")
    # the command-line seed replaces the preset's in its place
    ref = [
        [f"model.grid_size={g}", f"seed={s}", "experiment=grid_sweep", "train=smoke"]
        for g, s in itertools.product(["3", "5"], ["7", "8"])
    ]
    assert jobs == ref
    (tmp_path / "0").mkdir()
    (tmp_path / "2").mkdir()
    missing = find_missing([tmp_path])
    assert [m.directory.name for m in missing] == ["1", "3"]
    assert missing[0].overrides == ref[1] and "not started" in missing[0].reason


def test_unknown_sweeps_give_no_expectation(tmp_path: Path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper: {_target_: hydra_plugins.optuna.OptunaSweeper}\n"
    )
    assert expected_jobs(tmp_path / "multirun.yaml") is None
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweep: {subdir: '${hydra.job.override_dirname}'}\n"
        "  overrides: {task: ['seed=0,1']}\n"
    )
    assert expected_jobs(tmp_path / "multirun.yaml") is None
    assert find_missing([tmp_path]) == []
