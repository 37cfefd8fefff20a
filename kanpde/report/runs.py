"""Runs of a study: find ``run.h5`` files, summarise each, group them across seeds.

A run is summarised from its ``run.h5`` alone (:func:`kanpde.results.read_run`); no model is
rebuilt or rerun. Grouping across seeds: :mod:`kanpde.report.groups`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kanpde.results import read_run

RUN_FILE = "run.h5"
#: Final metrics summarised per group (those a run lacks count as missing, not as NaN).
METRICS: tuple[str, ...] = ("rel_l2", "mse", "max_abs", "rel_h1")
#: Config keys that do not change what is computed; runs differing only in these (and in
#: the seed) belong to one group.
IGNORED_KEYS: frozenset[str] = frozenset(
    {
        "seed",
        "device",  # the device the run asked for; the one it used is part of the group key
        "figures",
        "train.progress",
        "train.resume",
        "train.checkpoint_every",
        "train.eval_every",
        "train.eval_batch",
        "train.edge_samples",
    }
)
#: Config keys added to kanpde after runs were recorded, with the values (compact JSON text)
#: that compute what runs without the key computed: such a key at such a value is left out
#: of the group key, so old and new runs of one setting form one group.
#: Config subtrees left out of the grouping: the study rules (``match``) are recorded with a
#: run, but what they decide (the model's widths and settings) is in the model keys.
IGNORED_PREFIXES: tuple[str, ...] = ("match.",)
NEUTRAL_VALUES: dict[str, frozenset[str]] = {
    "train.shards": frozenset({"null", "1"}),  # one process, one shard: the same points
    "train.sparsity.l1": frozenset({"0", "0.0"}),  # no sparsity penalty
    "train.sparsity.entropy": frozenset({"0", "0.0"}),
    "train.compile": frozenset({"false"}),  # eager passes (compiled ones agree up to rounding)
}
#: Model classes whose parameter count follows kanpde.models.parameter_count, by family.
_FAMILIES = {"KAN": "kan", "MLP": "mlp", "SIREN": "siren", "FourierMLP": "fourier"}
#: Preferred order of model classes in tables and legends.
MODEL_ORDER: tuple[str, ...] = ("KAN", "MLP", "SIREN", "FourierMLP")


def find_run_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every ``run.h5`` under ``paths`` (directories searched recursively; a path that is
    itself a file is taken as a run file), without duplicates, in sorted order.

    Raises:
        FileNotFoundError: when a path does not exist.
    """
    found: dict[Path, None] = {}
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise FileNotFoundError(f"path {str(path)!r} does not exist")
        if path.is_file():
            found[path.resolve()] = None
            continue
        for root, dirs, files in os.walk(path):
            dirs.sort()
            if RUN_FILE in files:
                found[(Path(root) / RUN_FILE).resolve()] = None
    return sorted(found)


def flatten_config(node: Any, prefix: str = "") -> dict[str, str]:
    """A nested config as ``{"a.b.c": value text}``; lists and scalars become compact JSON.

    ``{"model": {"widths": [2, 10, 1]}, "seed": 0}`` -> ``{"model.widths": "[2,10,1]",
    "seed": "0"}``. Lists of mappings (``train.phases``) are kept whole as one value.
    """
    out: dict[str, str] = {}
    if isinstance(node, Mapping):
        if not node and prefix:
            out[prefix] = "{}"
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_config(value, name))
        return out
    out[prefix] = json.dumps(node, separators=(",", ":"), sort_keys=True, default=str)
    return out


@dataclass
class BadRun:
    """A run file that could not be read, or a run that did not complete."""

    path: Path
    reason: str
    status: str = "unreadable"


@dataclass
class RunSummary:
    """What the report needs of one run (read from its ``run.h5``)."""

    path: Path
    status: str
    message: str
    problem: str
    variant: str
    model: str
    widths: list[int]
    grid_ladder: list[int]  # KAN grid sizes in order of use ([] for other models)
    n_params: int  # trained model's count (after the last grid extension)
    n_params_init: int  # count at the start, as recorded
    seed: int | None
    device: str
    dtype: str
    metrics: dict[str, float]
    wall_time_s: float
    train_time_s: float
    steps: int
    config: dict[str, str]  # flattened resolved config
    spline_order: int | None
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def device_kind(self) -> str:
        """``cpu`` / ``cuda`` / ... without the device index."""
        return self.device.split(":")[0]


def _history_subset(history: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    keys = [k for k in history if k in ("step", "time_s", "loss", "grid_size") or k in METRICS]
    return {k: np.asarray(history[k], dtype=np.float64) for k in keys}


def _as_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _grid_ladder(cfg: Mapping[str, Any], model: str, final: int, steps: int) -> list[int]:
    """KAN grid sizes in the order used: the initial size, then each extension reached."""
    if model != "KAN":
        return []
    m = cfg.get("model") or {}
    g0 = _as_int(m.get("grid_size"), final)
    grid = (cfg.get("train") or {}).get("grid") or {}
    ladder = [g0]
    for at, size in zip(grid.get("extend_at") or [], grid.get("sizes") or [], strict=False):
        if _as_int(at) < steps and _as_int(size) != ladder[-1]:
            ladder.append(_as_int(size))
    if final and ladder[-1] != final:  # the config does not explain the final grid
        ladder = [g0, final] if g0 != final else [final]
    return ladder


def summarize_run(path: str | os.PathLike[str]) -> RunSummary:
    """Read one ``run.h5`` into a :class:`RunSummary`.

    Raises:
        FileNotFoundError / OSError / ValueError: from :func:`kanpde.results.read_run` when the
        file is missing, corrupt or not a kanpde run file; ValueError when its config text
        is not a YAML mapping.
    """
    rec = read_run(path)
    a = rec.attrs
    try:
        cfg = yaml.safe_load(rec.config) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{str(rec.path)!r}: the stored config is not valid YAML ({exc})") from exc
    if not isinstance(cfg, Mapping):
        raise ValueError(f"{str(rec.path)!r}: the stored config is not a YAML mapping")
    model = str(a.get("model") or rec.model_info.get("class") or "?")
    info = dict(rec.model_info)
    widths = info.get("widths") or (cfg.get("model") or {}).get("widths") or []
    widths = [_as_int(w) for w in widths] if isinstance(widths, list) else []
    hist_steps = rec.history.get("step")
    steps = _as_int(
        a.get("steps"), int(hist_steps[-1]) if hist_steps is not None and len(hist_steps) else 0
    )
    final_g = _as_int(a.get("grid_size"), 0)
    ladder = _grid_ladder(cfg, model, final_g, steps)
    recorded = _as_int(a.get("n_params"), 0)
    n_final = _as_int(a.get("n_params_final"), recorded)
    seed = a.get("seed")
    order = info.get("spline_order")
    return RunSummary(
        path=rec.path,
        status=str(a.get("status", "?")),
        message=str(a.get("message") or ""),
        problem=str(a.get("problem") or "?"),
        variant=str(a.get("variant") or (cfg.get("problem") or {}).get("variant") or ""),
        model=model,
        widths=widths,
        grid_ladder=ladder,
        n_params=n_final,
        n_params_init=recorded,
        seed=None if seed is None else _as_int(seed),
        device=str(a.get("device") or "?"),
        dtype=str(a.get("dtype") or "?"),
        metrics={k: float(v) for k, v in rec.final.items()},
        wall_time_s=_as_float(a.get("wall_time_s")),
        train_time_s=_as_float(a.get("train_time_s")),
        steps=steps,
        config=flatten_config(cfg),
        spline_order=None if order is None else _as_int(order),
        history=_history_subset(rec.history),
    )


def load_runs(files: Iterable[Path]) -> tuple[list[RunSummary], list[BadRun]]:
    """Summaries of the readable runs, and the files that could not be read (with why)."""
    runs: list[RunSummary] = []
    bad: list[BadRun] = []
    for f in files:
        try:
            runs.append(summarize_run(f))
        except (OSError, ValueError, KeyError) as exc:
            bad.append(BadRun(Path(f), str(exc) or type(exc).__name__))
    return runs, bad
