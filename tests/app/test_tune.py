"""``kanpde-tune``: a smoke search fills its SQLite study (pruned trials marked, each trial an
ordinary run folder), a killed search continues to the requested count, bad presets are
refused in one line with exit status 2 before any trial, and ``kanpde-report`` reads the
folder."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from kanpde.app.cli import conf_dir
from kanpde.app.tune.cli import main as tune_main
from kanpde.app.tune.cli import prepare
from kanpde.report.study import main as report_main
from kanpde.results import read_run

SMOKE = ["search=kan_poisson", "train=smoke", "search.seed=0"]


def _study(folder: Path) -> optuna.Study:
    url = f"sqlite:///{folder / 'study.db'}"
    return optuna.load_study(study_name=optuna.get_all_study_names(url)[0], storage=url)


def test_smoke_search_holds_its_trials_and_reports(tmp_path):
    folder = tmp_path / "search"
    assert tune_main(SMOKE + ["search.trials=6", f"search.dir={folder}"]) == 0
    trials = _study(folder).get_trials()
    assert len(trials) == 6
    states = {t.state for t in trials}
    assert states <= {TrialState.COMPLETE, TrialState.PRUNED} and TrialState.PRUNED in states
    for t in trials:  # every trial is a run folder whose status matches its state
        run = read_run(folder / t.user_attrs["run_dir"] / "run.h5")
        want = "completed" if t.state == TrialState.COMPLETE else "pruned"
        assert run.attrs["status"] == want
        if t.state == TrialState.COMPLETE:
            assert t.value == pytest.approx(run.final["rel_l2"])
            assert t.intermediate_values  # reported during training
    # a rerun of the same command finds the study complete and runs nothing
    assert tune_main(SMOKE + ["search.trials=6", f"search.dir={folder}"]) == 0
    assert len(_study(folder).get_trials()) == 6
    out = tmp_path / "report"
    assert report_main([str(folder), "-o", str(out)]) == 0
    text = (out / "search.md").read_text()
    assert "Best: trial" in text and text.count("| complete |") + text.count("| pruned |") == 6
    assert (out / "history.png").is_file() and (out / "best_config.yaml").is_file()


def test_killed_search_continues_to_the_requested_count(tmp_path):
    folder = tmp_path / "search"
    cmd = [sys.executable, "-c", "from kanpde.app.tune.cli import console; console()",
           *SMOKE, "search.trials=3", f"search.dir={folder}"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (folder / "trials" / "0001").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)  # mid-search: trial 1 is running
    proc.wait()
    assert (folder / "study.db").is_file()
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    trials = _study(folder).get_trials()
    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == 3
    suggested = [tuple(sorted(t.params.items())) for t in trials if t.params]
    assert len(set(suggested)) == len(suggested)  # the resumed sampler draws new points
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING,
                           TrialState.FAIL) for t in trials)


@pytest.mark.parametrize(
    ("preset", "message"),
    [
        ("params:\n  model.no_such_key: {type: int, low: 1, high: 3}\n",
         "search.params.model.no_such_key: unknown config key"),
        ("params:\n  model.grid_size: {type: int, low: 5, high: 5}\n",
         "search.params.model.grid_size: empty range"),
        ("params:\n  train.lr: {type: float, low: 0.0, high: 0.1, log: true}\n",
         "search.params.train.lr: a log range must lie above zero"),
        ("trials: 0\nparams:\n  train.lr: {type: float, low: 0.001, high: 0.1}\n",
         "search.trials"),
        ("colour: red\nparams:\n  train.lr: {type: float, low: 0.001, high: 0.1}\n",
         "search.colour: unknown key"),
    ],
)
def test_bad_presets_are_refused_before_any_trial(tmp_path, monkeypatch, capsys, preset,
                                                  message):
    conf = tmp_path / "conf"
    shutil.copytree(conf_dir(), conf, ignore=shutil.ignore_patterns("__pycache__"))
    (conf / "search" / "bad.yaml").write_text(preset)
    monkeypatch.setenv("KANPDE_CONF", str(conf))
    folder = tmp_path / "search"
    assert tune_main(["search=bad", "train=smoke", f"search.dir={folder}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not folder.exists()


def test_unknown_preset_lists_the_available_ones(capsys):
    assert tune_main(["search=nope", "train=smoke"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'nope'" in err and "kan_poisson" in err


@pytest.mark.parametrize("name", sorted(p.stem for p in (conf_dir() / "search").glob("*.yaml")))
def test_every_search_preset_parses(name):
    search, cfg, folder, study = prepare([f"search={name}"], conf_dir())
    assert search.params and search.trials >= 1 and study.startswith(f"{name}-")
    assert not folder.exists() or (folder / "study.db").is_file()


def test_two_processes_share_one_study(tmp_path):
    """Two searches on one folder at once: one study, distinct trial numbers and folders,
    together at least the requested count (each stops once the study holds it)."""
    folder = tmp_path / "search"
    cmd = [sys.executable, "-c", "from kanpde.app.tune.cli import console; console()",
           *SMOKE, "search.trials=4", f"search.dir={folder}"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    trials = _study(folder).get_trials()
    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert 4 <= len(done) <= 5
    dirs = [t.user_attrs["run_dir"] for t in trials]
    assert len(set(dirs)) == len(dirs) == len({t.number for t in trials})
