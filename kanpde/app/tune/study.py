"""A hyperparameter search: an Optuna study in a SQLite file of the search folder, each
trial an ordinary solve.

Folder layout (``search.dir``, default ``results/searches/<study name>``)::

    study.db            Optuna's RDB storage (SQLite): every trial, its parameters, state,
                        intermediate values and value
    search.yaml         the preset and the base config of the search (what the report reads)
    trials/<number>/    each trial's run folder (run.h5, figures), as ``kanpde`` writes one

A trial composes the base config with its sampled values, checks it like any solve and
trains it. The monitor reports the objective's history (rel_l2 where the problem has a
reference, else the loss) to Optuna at every evaluation, and the pruner (median or
successive halving) may stop it ("pruned", its run folder still written). A diverged run
or a config that does not build is a failed trial (with the reason as the user attribute
``failure``), never a value. Storage with a heartbeat: a trial whose process died
(``kill -9``) is marked failed by the next process after the grace period, and does not count
toward ``trials``; running the same command again continues the study until it holds
``trials`` finished trials (complete, pruned, or failed for a reason of their own). Several
processes running the command on one folder share the study (SQLite's locking); each stops
once the study holds ``trials``, so together they may finish one more per extra process.
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from kanpde.app.assemble import build
from kanpde.app.solve import solve
from kanpde.app.tune.space import Search, set_path, suggest
from kanpde.core.atomic import write_text
from kanpde.core.errors import ConfigError
from kanpde.results import read_run

try:
    import fcntl
except ImportError:  # not on Windows: the opening is not serialized there
    fcntl = None

log = logging.getLogger("kanpde.tune")
HEARTBEAT_S, GRACE_S = 10, 30


class TrialFailed(Exception):
    """A trial that ends without a value (diverged, or a config that does not build)."""


def storage_url(folder: Path) -> str:
    return f"sqlite:///{(folder / 'study.db').resolve()}"


def open_study(search: Search, folder: Path, study_name: str) -> optuna.Study:
    """The study in ``folder/study.db``, created or loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # kanpde logs each trial itself
    # Processes starting at once would each create the schema of a new study.db and race on
    # it (a UNIQUE failure in Optuna's version table): a lock file serializes the opening.
    with open(folder / ".study.lock", "a") as lock, warnings.catch_warnings():
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat
        storage = RDBStorage(storage_url(folder), heartbeat_interval=HEARTBEAT_S,
                             grace_period=GRACE_S)
    pruner: optuna.pruners.BasePruner = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=search.startup_trials,
                                                      n_warmup_steps=search.warmup_steps),
        "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(
            min_early_stopping_rate=0),
        "none": optuna.pruners.NopPruner,
    }[search.pruner]()
    study = optuna.create_study(study_name=study_name, storage=storage,
                                sampler=make_sampler(search, 0), pruner=pruner,
                                direction="minimize", load_if_exists=True)
    existing = len(study.get_trials(deepcopy=False))
    if existing:  # a resumed study: a fresh stream of suggestions, not the first ones again
        study.sampler = make_sampler(search, existing)
    return study


def make_sampler(search: Search, offset: int) -> optuna.samplers.BaseSampler:
    """The preset's sampler, seeded with ``search.seed + offset``."""
    seed = search.seed + offset
    if search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=search.startup_trials)
    return optuna.samplers.RandomSampler(seed=seed)


def finished(study: optuna.Study) -> int:
    """Trials that count toward ``search.trials``: complete, pruned, or failed for a reason
    of their own (not a killed process)."""
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or (t.state == TrialState.FAIL and "failure" in t.user_attrs))


def run_search(search: Search, cfg: dict[str, Any], folder: Path, study_name: str) -> optuna.Study:
    """Run trials until the study holds ``search.trials`` finished ones; returns the study."""
    study = open_study(search, folder, study_name)
    meta = {"name": search.name, "study": study_name, "trials": search.trials,
            "objective": search.objective, "sampler": search.sampler, "pruner": search.pruner,
            "params": [p.key for p in search.params], "base_config": cfg}
    write_text(folder / "search.yaml", yaml.safe_dump(meta, sort_keys=False))
    done = finished(study)
    if done >= search.trials:
        log.info("search %s: the study already holds %d finished trials (of %d requested)",
                 study_name, done, search.trials)
        return study
    log.info("search %s: %d of %d trials finished, running %d more (storage %s)",
             study_name, done, search.trials, search.trials - done, folder / "study.db")
    while finished(study) < search.trials:
        study.optimize(lambda t: objective(t, search, cfg, folder), n_trials=1,
                       catch=(TrialFailed,))
        last = study.get_trials(deepcopy=False)[-1]
        log.info("trial %d: %s%s", last.number, last.state.name.lower(),
                 f" value {last.value:.3e}" if last.value is not None else
                 f" ({last.user_attrs.get('failure', '')})")
    return study


def objective(trial: optuna.Trial, search: Search, cfg: dict[str, Any], folder: Path) -> float:
    """One trial: the sampled config solved in ``trials/<number>``; its final objective."""
    values = {p.key: suggest(trial, p) for p in search.params}
    trial_cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        set_path(trial_cfg, key, value)
    log.info("trial %d: %s", trial.number, ", ".join(f"{k}={v}" for k, v in values.items()))
    try:
        plan = build(copy.deepcopy(trial_cfg))
    except ConfigError as exc:
        trial.set_user_attr("failure", f"config: {exc}")
        raise TrialFailed(str(exc)) from None
    metric = "loss" if search.objective == "loss" else "rel_l2"
    run_dir = folder / "trials" / f"{trial.number:04d}"
    trial.set_user_attr("run_dir", str(run_dir.relative_to(folder)))

    def monitor(row: dict[str, float]) -> str | None:
        if row["step"] == 0:  # the initial evaluation: nothing trained to judge yet
            return None
        value = row.get(metric, math.nan)
        if search.objective == "auto" and not math.isfinite(row.get("rel_l2", math.nan)):
            value = row.get("loss", math.nan)
        if math.isfinite(value):
            trial.report(float(value), int(row["step"]))
            if trial.should_prune():
                return f"pruned by the {search.pruner} pruner at step {int(row['step'])}"
        return None

    status = solve(plan, run_dir, yaml.safe_dump(trial_cfg, sort_keys=False), monitor=monitor)
    if status == "interrupted":
        raise KeyboardInterrupt(f"trial {trial.number} interrupted")
    if status == "pruned":
        raise optuna.TrialPruned()
    if status != "completed":
        trial.set_user_attr("failure", status)
        raise TrialFailed(status)
    run = read_run(run_dir / "run.h5")
    final = {**run.final, "loss": float(run.history["loss"][-1])}
    value = final.get(metric, math.nan)
    if search.objective == "auto" and not math.isfinite(value):
        value = final["loss"]
    if not math.isfinite(value):
        trial.set_user_attr("failure", f"non-finite {metric}")
        raise TrialFailed(f"non-finite {metric}")
    return float(value)
