"""Runs of a study: find ``run.h5`` files, summarise each, group them across seeds.

A *group* holds the runs whose resolved configs agree on every key except the seed and a
few bookkeeping keys (:data:`IGNORED_KEYS`; keys added in later versions count as equal
to their absence at their neutral value, :data:`NEUTRAL_VALUES`), and that ran on the same
kind of device; its statistics are taken over the runs with status ``"completed"``:

    mean = (1/n) sum_i v_i,    spread = sqrt( sum_i (v_i - mean)^2 / (n - 1) )   (n >= 2)

(the sample standard deviation; NaN for n = 1). Parameter counts are the trained model's
real count as the run file records it (``n_params_final``: a KAN whose grid was extended
during training has more parameters at the end than at the start, ``n_params``).

Only ``run.h5`` files are read (:func:`kanpde.io.read_run`); no model is rebuilt or rerun.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kanpde.io import read_run

__all__ = [
    "IGNORED_KEYS",
    "METRICS",
    "NEUTRAL_VALUES",
    "BadRun",
    "Group",
    "RunSummary",
    "find_run_files",
    "flatten_config",
    "group_runs",
    "load_runs",
    "summarize_run",
]

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


# --------------------------------------------------------------------------------------
# Finding and reading runs
# --------------------------------------------------------------------------------------


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
        FileNotFoundError / OSError / ValueError: from :func:`kanpde.io.read_run` when the
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


# --------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------


def _stats(values: Sequence[float]) -> dict[str, float]:
    """mean, std (ddof 1; NaN below two values), min, max of the finite-or-not values."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    return {
        "mean": float(np.mean(v)),
        "std": float(np.std(v, ddof=1)) if v.size >= 2 else math.nan,
        "min": float(np.min(v)),
        "max": float(np.max(v)),
    }


@dataclass
class Group:
    """Runs of one configuration across seeds, with their statistics."""

    key: tuple[tuple[str, str], ...]
    runs: list[RunSummary]
    setting: str = ""  # config differences not shown in other columns ("k=v, ...")
    kan_ratio: float = math.nan  # n_params / n_params of the matching KAN group

    @property
    def first(self) -> RunSummary:
        """The group's representative: its first completed run (else its first run), whose
        grid schedule and parameter count were reached in full."""
        return next((r for r in self.runs if r.completed), self.runs[0])

    @property
    def completed(self) -> list[RunSummary]:
        return [r for r in self.runs if r.completed]

    @property
    def problem_label(self) -> str:
        r = self.first
        return f"{r.problem} ({r.variant})" if r.variant else r.problem

    @property
    def widths_label(self) -> str:
        return "[" + ",".join(str(w) for w in self.first.widths) + "]"

    @property
    def grid_label(self) -> str:
        return "->".join(str(g) for g in self.first.grid_ladder)

    @property
    def extends_grid(self) -> bool:
        return len(self.first.grid_ladder) > 1

    @property
    def seeds(self) -> list[int]:
        return sorted(r.seed for r in self.runs if r.seed is not None)

    def metric(self, name: str) -> dict[str, float]:
        """Statistics of a final metric over the completed runs that have it."""
        return _stats([r.metrics[name] for r in self.completed if name in r.metrics])

    def attr(self, name: str) -> dict[str, float]:
        """Statistics of a run attribute (wall_time_s, train_time_s, steps) over completed runs."""
        return _stats([float(getattr(r, name)) for r in self.completed])

    @property
    def n_params(self) -> int:
        return self.first.n_params

    def label(self) -> str:
        """A short legend label: model, widths, grid schedule, setting."""
        r = self.first
        text = f"{r.model} {self.widths_label}"
        if r.grid_ladder:
            text += f" G={self.grid_label}"
        if self.setting:
            text += f" ({self.setting})"
        return text


def _group_key(run: RunSummary) -> tuple[tuple[str, str], ...]:
    items = [
        (k, v)
        for k, v in run.config.items()
        if k not in IGNORED_KEYS and v not in NEUTRAL_VALUES.get(k, ())
    ]
    items.append(("@device", run.device_kind))
    items.append(("@problem", run.problem))
    items.append(("@model", run.model))
    return tuple(sorted(items))


#: Keys shown in their own columns, never in the "setting" column.
_SHOWN = (
    "problem._target_",
    "problem.variant",
    "model._target_",
    "model.widths",
    "model.grid_size",
    "train.grid.extend_at",
    "train.grid.sizes",
)


def _short(value: str, limit: int = 48) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _non_model_key(group: Group) -> tuple[tuple[str, str], ...]:
    """The group's config without model keys and the KAN-only grid schedule."""
    return tuple(
        (k, v)
        for k, v in group.key
        if not (k.startswith("model.") or k.startswith("train.grid.") or k == "@model")
    )


def _model_rank(model: str) -> int:
    return MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)


def group_runs(runs: Iterable[RunSummary]) -> list[Group]:
    """Group runs across seeds, label the remaining config differences, link each group to
    the KAN trained on the same problem with the same non-model settings (``kan_ratio``),
    and sort by problem, model, parameters and grid."""
    by_key: dict[tuple[tuple[str, str], ...], list[RunSummary]] = {}
    for run in runs:
        by_key.setdefault(_group_key(run), []).append(run)
    groups = [
        Group(key, sorted(rs, key=lambda r: (r.seed is None, r.seed or 0, str(r.path))))
        for key, rs in by_key.items()
    ]

    # Setting labels: keys that differ among groups of the same problem and model class.
    families: dict[tuple[str, str, str], list[Group]] = {}
    for g in groups:
        families.setdefault((g.first.problem, g.first.variant, g.first.model), []).append(g)
    for members in families.values():
        if len(members) < 2:
            continue
        dicts = [dict(g.key) for g in members]
        keys = sorted({k for d in dicts for k in d})
        varying = [
            k for k in keys if k not in _SHOWN and len({d.get(k, "<unset>") for d in dicts}) > 1
        ]
        for g, d in zip(members, dicts, strict=True):
            g.setting = ", ".join(
                f"{k.removeprefix('@')}={_short(d.get(k, '<unset>'))}"
                for k in varying
                if k in d or k not in NEUTRAL_VALUES  # at its neutral value: not a difference
            )

    # Parameter ratio to the matching KAN group (exactly one KAN with the same settings).
    kans: dict[tuple[tuple[str, str], ...], list[Group]] = {}
    for g in groups:
        if g.first.model == "KAN":
            kans.setdefault(_non_model_key(g), []).append(g)
    for g in groups:
        match = kans.get(_non_model_key(g), [])
        if len(match) == 1 and match[0].n_params > 0:
            g.kan_ratio = g.n_params / match[0].n_params

    groups.sort(
        key=lambda g: (
            g.first.problem,
            g.first.variant,
            _model_rank(g.first.model),
            g.first.model,
            g.first.widths,
            g.n_params,
            g.first.grid_ladder,
            g.setting,
        )
    )
    return groups
