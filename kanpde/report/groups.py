"""Groups of runs across seeds, and their statistics.

A *group* holds the runs whose resolved configs agree on every key except the seed and a
few bookkeeping keys (:data:`IGNORED_KEYS`; keys added in later versions count as equal
to their absence at their neutral value, :data:`NEUTRAL_VALUES`), and that ran on the same
kind of device; its statistics are taken over the runs with status ``"completed"``:

    mean = (1/n) sum_i v_i,    spread = sqrt( sum_i (v_i - mean)^2 / (n - 1) )   (n >= 2)

(the sample standard deviation; NaN for n = 1). Parameter counts are the trained model's
real count as the run file records it (``n_params_final``: a KAN whose grid was extended
during training has more parameters at the end than at the start, ``n_params``).

Only ``run.h5`` files are read (:func:`kanpde.results.read_run`); no model is rebuilt or rerun.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kanpde.report.runs import (
    IGNORED_KEYS,
    IGNORED_PREFIXES,
    MODEL_ORDER,
    NEUTRAL_VALUES,
    RunSummary,
)


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
        if k not in IGNORED_KEYS
        and not k.startswith(IGNORED_PREFIXES)
        and v not in NEUTRAL_VALUES.get(k, ())
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
