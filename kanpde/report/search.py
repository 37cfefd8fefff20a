"""Report of a hyperparameter search folder (``kanpde-tune``): ``kanpde-report <folder>``.

Reads the Optuna study in ``<folder>/study.db`` (and ``search.yaml``) and writes to the
output directory:

    search.md          the best trial (value, parameters, run folder), the trials table
                       (number, state, value, last reported step, parameters, failure)
    best_config.yaml   the resolved config of the best trial (from its run.h5)
    history.png        the objective per trial and the best so far (pruned trials marked)
    importance.png     parameter importances (Optuna's fANOVA), when at least two trials
                       completed with different values
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from kanpde.core.atomic import write_text
from kanpde.figures.style import new_figure, save_figure
from kanpde.results import read_run


def is_search(path: Path) -> bool:
    return (Path(path) / "study.db").is_file()


def load(folder: Path) -> tuple[optuna.Study, dict[str, Any]]:
    """The study of a search folder and its ``search.yaml`` metadata."""
    meta_path = folder / "search.yaml"
    meta = yaml.safe_load(meta_path.read_text()) if meta_path.is_file() else {}
    url = f"sqlite:///{(folder / 'study.db').resolve()}"
    names = optuna.get_all_study_names(url)
    name = meta.get("study") if meta.get("study") in names else (names[0] if names else None)
    if name is None:
        raise FileNotFoundError(f"{folder / 'study.db'} holds no study")
    return optuna.load_study(study_name=name, storage=url), meta


def values_of(trial: FrozenTrial) -> dict[str, Any]:
    """The trial's parameter values (categorical ones as the config values, not indices)."""
    return {k: trial.user_attrs.get(f"value:{k}", v) for k, v in trial.params.items()}


def report_search(folder: Path, out: Path, figures: bool = True) -> list[Path]:
    """Write the search report of ``folder`` into ``out``; returns the files written."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, meta = load(folder)
    trials = study.get_trials(deepcopy=False)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    best = min(done, key=lambda t: t.value) if done else None
    lines = [f"# Search {study.study_name}", ""]
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
    lines.append(f"Objective: {meta.get('objective', 'value')} (minimized); trials: "
                 + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + ".")
    lines.append("")
    if best is not None:
        run_dir = best.user_attrs.get("run_dir", "")
        lines += [f"Best: trial {best.number}, value {best.value:.4e}, run folder "
                  f"`{run_dir}`.", ""]
        lines += [f"- `{k}` = {v}" for k, v in values_of(best).items()] + [""]
        h5 = folder / run_dir / "run.h5"
        if run_dir and h5.is_file():
            written.append(write_text(out / "best_config.yaml", read_run(h5).config))
    lines += ["| trial | state | value | last step | parameters | note |",
              "|---|---|---|---|---|---|"]
    for t in trials:
        value = "" if t.value is None else f"{t.value:.3e}"
        step = max(t.intermediate_values) if t.intermediate_values else ""
        params = ", ".join(f"{k}={_short(v)}" for k, v in values_of(t).items())
        lines.append(f"| {t.number} | {t.state.name.lower()} | {value} | {step} | {params} | "
                     f"{t.user_attrs.get('failure', '')} |")
    written.append(write_text(out / "search.md", "\n".join(lines) + "\n"))
    if figures:
        written.append(_history_figure(trials, out / "history.png", study.study_name))
        importance = _importance_figure(study, done, out / "importance.png")
        if importance is not None:
            written.append(importance)
    return written


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _history_figure(trials: list[FrozenTrial], path: Path, title: str) -> Path:
    fig = new_figure(6.5, 4)
    ax = fig.add_subplot()
    best, best_x, best_y = math.inf, [], []
    for state, marker, label in ((TrialState.COMPLETE, "o", "complete"),
                                 (TrialState.PRUNED, "x", "pruned (last reported value)")):
        xs = [t.number for t in trials if t.state == state and t.value is not None]
        ys = [t.value for t in trials if t.state == state and t.value is not None]
        if xs:
            ax.scatter(xs, ys, marker=marker, label=label)
    for t in trials:
        if t.state == TrialState.COMPLETE and t.value is not None:
            best = min(best, t.value)
            best_x.append(t.number)
            best_y.append(best)
    if best_x:
        ax.step(best_x, best_y, where="post", color="k", lw=1, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def _importance_figure(study: optuna.Study, done: list[FrozenTrial], path: Path) -> Path | None:
    if len(done) < 2 or len({t.value for t in done}) < 2:
        return None
    try:
        imp = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ImportError):
        return None
    fig = new_figure(6.5, 1.0 + 0.4 * max(1, len(imp)))
    ax = fig.add_subplot()
    names = list(imp)[::-1]
    ax.barh(names, [imp[n] for n in names])
    ax.set_xlabel("importance (fANOVA)")
    return save_figure(fig, path)
