"""Study rules resolved in the config before a solve: grid ladders and parameter matching.

Grid ladder, ``train.grid.ladder: [G_0, G_1, ..., G_m]`` (``null``: off):
    a KAN starts at ``model.grid_size = G_0`` and is extended to ``G_i`` at global step
    ``floor(i n / (m + 1))``, ``n`` the schedule's total steps, so every grid size gets an
    equal share of the steps; ``[G]`` alone is a fixed grid. It replaces
    ``train.grid.extend_at`` / ``train.grid.sizes`` (whatever the schedule had there).

Parameter matching, ``match: {kan: {widths, grid_size, spline_order, ...}, depth: d,
baselines: {<family>: {key: value}}}`` (``null``: off): the study's reference KAN. A KAN
model takes the reference's keys; any other family first takes its ``baselines`` settings
(e.g. ``siren: {omega_0: 3.0}``), then ``widths = [d_in, w, ..., w, d_out]`` (``d``
hidden layers) with ``w`` the width whose parameter count is closest to the reference
KAN's count after its last grid extension within the schedule (its largest), both counted
behind the same input embedding (ties: the smaller width). Earlier in training the KAN has
fewer parameters, so the matching never favours the KAN.

Both rules are idempotent: a resolved config resolves to itself.
"""

from __future__ import annotations

import copy
from typing import Any

from kanpde.core.errors import ConfigError
from kanpde.models.params import match_width, parameter_count
from kanpde.train.config import ladder_schedule

#: model ``_target_`` class name -> family name of :mod:`kanpde.models.params`
FAMILY_OF = {"KAN": "kan", "MLP": "mlp", "SIREN": "siren", "FourierMLP": "fourier"}
REFERENCE_KEYS = ("widths", "grid_size", "spline_order")
#: model keys of a family that enter its parameter count
COUNT_KEYS = {"kan": ("grid_size", "spline_order", "basis", "degree", "n_centers"),
              "fourier": ("n_features",), "mlp": (), "siren": ()}


def family_of(model: dict[str, Any]) -> str | None:
    """``kan``, ``mlp``, ``siren``, ``fourier`` or None (a model of another class)."""
    target = str(model.get("_target_") or "")
    return FAMILY_OF.get(target.rsplit(".", 1)[-1])


def total_steps(train: dict[str, Any]) -> int:
    return sum(int(p.get("steps", 0)) for p in train.get("phases") or [])


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}: expected an integer >= 1, got {value!r}")
    return value


def apply_ladder(cfg: dict[str, Any]) -> int | None:
    """Resolve ``train.grid.ladder`` into ``extend_at``/``sizes`` in place; return ``G_0``."""
    grid = cfg.get("train", {}).get("grid")
    if not isinstance(grid, dict) or "ladder" not in grid:
        return None
    ladder = grid.pop("ladder")
    if ladder is None:
        return None
    if not isinstance(ladder, list):
        raise ConfigError(f"train.grid.ladder: expected a list of grid sizes or null, "
                          f"got {ladder!r}")
    g0, grid["extend_at"], grid["sizes"] = ladder_schedule(ladder, total_steps(cfg["train"]))
    return g0


def final_grid(grid_size: int, train: dict[str, Any]) -> int:
    """The KAN grid size after the last extension that the schedule reaches."""
    steps = total_steps(train)
    grid = train.get("grid") or {}
    g = grid_size
    for at, size in zip(grid.get("extend_at") or [], grid.get("sizes") or [], strict=False):
        if at < steps:
            g = size
    return g


def apply_match(cfg: dict[str, Any], dim_in: int, g0: int | None = None) -> None:
    """Resolve ``match`` in place; ``dim_in``: the backbone's input width (after embeddings),
    ``g0``: the first grid size of a ladder (replaces the reference's ``grid_size``)."""
    spec = cfg.get("match")
    if spec is None:
        return
    if not isinstance(spec, dict) or set(spec) - {"kan", "depth", "baselines"}:
        raise ConfigError(f"match: expected {{kan: {{widths, grid_size, spline_order, ...}}, "
                          f"depth: <hidden layers>, baselines: {{<family>: {{...}}}}}} or "
                          f"null, got {spec!r}")
    baselines = spec.get("baselines") or {}
    unknown = set(baselines) - set(FAMILY_OF.values()) if isinstance(baselines, dict) else None
    if unknown is None or unknown or "kan" in baselines:
        raise ConfigError(f"match.baselines: expected {{<family>: {{key: value}}}} with "
                          f"families mlp, siren, fourier; got {baselines!r}")
    ref = spec.get("kan")
    if not isinstance(ref, dict) or any(k not in ref for k in REFERENCE_KEYS):
        raise ConfigError(f"match.kan: the reference KAN must give {', '.join(REFERENCE_KEYS)}, "
                          f"got {ref!r}")
    model = cfg["model"]
    family = family_of(model)
    if family is None:
        raise ConfigError(f"match: cannot match the parameters of {model.get('_target_')!r}; "
                          f"families: {', '.join(FAMILY_OF)}")
    if family == "kan":
        model.update(copy.deepcopy(ref))
        return
    model.update(copy.deepcopy(baselines.get(family) or {}))
    widths = list(ref["widths"])
    kan_kw = {k: ref[k] for k in COUNT_KEYS["kan"] if k in ref}
    kan_kw["grid_size"] = final_grid(ref["grid_size"] if g0 is None else g0, cfg["train"])
    target = parameter_count("kan", [dim_in, *widths[1:]], **kan_kw)
    depth = spec.get("depth")
    depth = _positive_int(len(widths) - 2 if depth is None else depth, "match.depth")
    kw = {k: model[k] for k in COUNT_KEYS[family] if k in model}
    w = match_width(family, target, dim_in, widths[-1], depth, **kw)
    model["widths"] = [widths[0], *[w] * depth, widths[-1]]


def apply_study_rules(cfg: dict[str, Any], dim_in: int) -> dict[str, Any]:
    """A copy of ``cfg`` with the grid ladder and the parameter matching resolved.

    ``dim_in`` is the backbone's input width: the problem's input dimension after the
    configured embeddings.
    """
    out = copy.deepcopy(cfg)
    g0 = apply_ladder(out)
    apply_match(out, dim_in, g0)
    if g0 is not None and family_of(out.get("model") or {}) == "kan":
        out["model"]["grid_size"] = g0
    return out
