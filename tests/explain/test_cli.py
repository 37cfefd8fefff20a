"""kanpde-explain on a tiny real run: outputs, the run record, exit codes, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from kanpde.app.explain_cli import main
from kanpde.results import read_group_attrs, read_run

from .conftest import make_run

FAST = ["--functions", "x,x^2,sin", "--finetune-steps", "2", "--points", "256"]


def test_explain_writes_figures_formula_and_record(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = read_run(run / "run.h5")
    assert main([str(run), *FAST, "--prune", "0.05", "--retrain-steps", "2"]) == 0
    for name in ("explain_network.png", "explain_layer0.png", "explain_layer1.png",
                 "formula.txt", "formula.tex", "explain.json"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    report = json.loads((run / "explain.json").read_text())
    assert report["widths"] == [2, 2, 1]
    pr = report["pruning"]
    assert pr["edges_before"] == 6 and pr["edges_after"] <= 6
    assert set(pr) >= {"accuracy_before", "accuracy_pruned", "accuracy_after_retraining"}
    assert report["model_accuracy"]["rel_l2"] == pytest.approx(before.final["rel_l2"], rel=1e-6)
    formula = report["formula"]
    assert formula["text"] and formula["error"]["max_abs"] >= 0
    assert "u(x, y) = " in (run / "formula.txt").read_text()
    # the run record: still a valid run file, with the explain group added
    after = read_run(run / "run.h5")
    assert after.final == before.final and after.history.keys() == before.history.keys()
    assert {"score_0", "score_1", "mask_0", "mask_1"} <= set(after.extra["explain"])
    attrs = read_group_attrs(run / "run.h5", "explain")
    assert attrs["formula"] == formula["text"]
    assert json.loads(attrs["report"])["widths"] == [2, 2, 1]
    # running again replaces the record
    assert main([str(run), *FAST, "--no-symbolic", "--no-figures"]) == 0
    assert "formula" not in read_group_attrs(run / "run.h5", "explain")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--prune", "1.5"], "prune"),
        (["--functions", "x,bessel"], "bessel"),
        (["--lock", "7.0.0"], "lock"),
        (["--lock", "0-0-0"], "lock"),
        (["--finetune-steps", "-1"], "finetune_steps"),
        (["--no-such-option"], "unrecognized"),
    ],
)
def test_bad_options_exit_2(tiny_run, capsys, args, needle):
    with pytest.raises(SystemExit) as exc:
        code = main([str(tiny_run), "--no-figures", *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_missing_dir_corrupt_file_and_mlp_run(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "run.h5").write_bytes(b"not hdf5")
    assert main([str(bad)]) == 1
    mlp = make_run(tmp_path / "mlp", ["model=mlp", "model.widths=[2,8,1]"])
    assert main([str(mlp)]) == 2
    assert "no KAN backbone" in capsys.readouterr().err


def test_console_entry_point_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kanpde.explain", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_hard_constraint_run_is_explained_without_formula(tmp_path):
    run = make_run(tmp_path / "hc", ["problem=poisson", "model.widths=[2,2,1]",
                                     "hard_constraint=true"])
    assert main([str(run), "--no-figures", "--prune", "0.01", "--retrain-steps", "1"]) == 0
    report = json.loads((run / "explain.json").read_text())
    assert report["formula"]["text"] is None and "not supported" in report["formula"]["note"]
    assert report["pruning"]["edges_before"] == 6
