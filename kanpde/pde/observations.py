r"""Observations of the solution as a loss term (data assimilation, inverse problems).

``N`` measured points ``x_i`` with values ``d_i`` of some output components ``C`` give the term

    L_data = mean_{i, c in C} |u_c(x_i) - d_{i, c}|^2 ,

added to the problem's loss as the condition ``"data"`` (:class:`DataCondition`, weight 1 unless
set). Observations come from a file (:func:`load_observations`: ``.npz`` or HDF5 with arrays
``x`` ``(N, dim_in)`` and ``u`` ``(N, |C|)``) or are drawn from the problem's own reference
solution (:func:`generate_observations`: ``N`` distinct points of its test grid, values with
optional Gaussian noise of standard deviation ``noise * RMS(d)`` per component).

The term's stored rows are ``[x_i, d_i]`` ``(N, dim_in + |C|)``; they never change during
training (resampling redraws collocation points only), and every shard of a data-parallel
run holds all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from torch import Tensor

from kanpde.core.atomic import atomic_path
from kanpde.pde.conditions import Condition
from kanpde.pde.derivatives import Derivatives
from kanpde.pde.geometry.box import Box
from kanpde.pde.geometry.domain import Domain

SUFFIXES = (".npz", ".h5", ".hdf5")
INSIDE_TOL = 1e-9


@dataclass(frozen=True)
class Observations:
    """Points ``x`` ``(N, dim_in)`` and values ``u`` ``(N, len(components))`` (float64) of
    the output components ``components``; ``source`` says where they came from."""

    x: np.ndarray
    u: np.ndarray
    components: tuple[int, ...]
    source: str = ""

    def __post_init__(self) -> None:
        x, u = np.asarray(self.x, dtype=np.float64), np.asarray(self.u, dtype=np.float64)
        if u.ndim == 1:
            u = u[:, None]
        what = self.source or "observations"
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"{what}: x must have shape (N, dim_in) with N >= 1, got {x.shape}")
        if u.shape != (x.shape[0], len(self.components)):
            raise ValueError(
                f"{what}: u must have shape (N, {len(self.components)}) = ({x.shape[0]}, "
                f"{len(self.components)}) for components {list(self.components)}, got {u.shape}"
            )
        if not (np.isfinite(x).all() and np.isfinite(u).all()):
            raise ValueError(f"{what}: x and u must be finite (found NaN or inf)")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "components", tuple(int(c) for c in self.components))

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def rows(self) -> np.ndarray:
        """``[x, u]`` ``(N, dim_in + len(components))``."""
        return np.concatenate([self.x, self.u], axis=1)


def check_components(components: Sequence[int] | None, dim_out: int) -> tuple[int, ...]:
    """``components`` (default: all ``dim_out``) validated: distinct, in ``[0, dim_out)``."""
    comps = tuple(range(dim_out)) if components is None else tuple(components)
    if not comps or len(set(comps)) != len(comps) or any(
        isinstance(c, bool) or int(c) != c or not 0 <= c < dim_out for c in comps
    ):
        raise ValueError(
            f"components must be distinct output indices in [0, {dim_out}), got {list(comps)}"
        )
    return tuple(int(c) for c in comps)


def load_observations(path: str | Path, components: Sequence[int] | None = None,
                      dim_out: int = 1) -> Observations:
    """Observations from ``path``: ``.npz`` or HDF5 (``.h5`` / ``.hdf5``) holding arrays
    ``x`` ``(N, dim_in)`` and ``u`` ``(N, len(components))`` (``(N,)`` for one component).

    Raises ValueError (one line) for a missing or unreadable file, a wrong suffix, missing
    arrays, an empty file or mismatched shapes."""
    p = Path(path)
    comps = check_components(components, dim_out)
    if p.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{p}: unsupported data file type {p.suffix!r}; allowed: "
                         f"{', '.join(SUFFIXES)}")
    if not p.is_file():
        raise ValueError(f"{p}: no such data file")
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p) as f:
                arrays = {k: np.asarray(f[k]) for k in ("x", "u") if k in f.files}
        else:
            with h5py.File(p, "r") as f:
                arrays = {k: np.asarray(f[k]) for k in ("x", "u") if k in f}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{p}: cannot read the data file ({exc})") from None
    missing = [k for k in ("x", "u") if k not in arrays]
    if missing:
        raise ValueError(f"{p}: the data file has no array {missing[0]!r} (it needs x (N, "
                         "dim_in) and u (N, n_components))")
    if arrays["x"].size == 0 or arrays["u"].size == 0:
        raise ValueError(f"{p}: the data file is empty (x has shape {arrays['x'].shape})")
    return Observations(arrays["x"], arrays["u"], comps, source=str(p))


def save_observations(path: str | Path, obs: Observations) -> Path:
    """Write ``obs`` as ``.npz`` or HDF5 (by suffix) with arrays ``x`` and ``u``."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        with atomic_path(p) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, x=obs.x, u=obs.u)
    elif p.suffix.lower() in (".h5", ".hdf5"):
        with atomic_path(p) as tmp, h5py.File(tmp, "w") as f:
            f["x"], f["u"] = obs.x, obs.u
    else:
        raise ValueError(f"{p}: unsupported data file type {p.suffix!r}; allowed: "
                         f"{', '.join(SUFFIXES)}")
    return p


def generate_observations(problem, n: int, noise: float = 0.0, seed: int = 0,
                          components: Sequence[int] | None = None) -> Observations:
    """``n`` distinct points of ``problem``'s test grid with its reference values, plus
    Gaussian noise of standard deviation ``noise * RMS(values)`` per component (a fixed
    ``seed``)."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
    comps = check_components(components, problem.dim_out)
    coords, u_ref = problem.test_set()
    if n > coords.shape[0]:
        raise ValueError(f"n={n} observations, but the test grid has only {coords.shape[0]} "
                         "points to draw them from")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(coords.shape[0], size=int(n), replace=False))
    values = u_ref[idx][:, list(comps)]
    if noise > 0:
        rms = np.sqrt(np.mean(values**2, axis=0, keepdims=True))
        values = values + noise * rms * rng.standard_normal(values.shape)
    src = f"{n} points of the reference" + (f", noise {noise:g} x RMS" if noise else "")
    return Observations(coords[idx], values, comps, source=src)


def check_inside(obs: Observations, box: Box, shape: Domain | None) -> None:
    """ValueError naming the first point of ``obs`` outside the domain: its bounding box
    ``box`` and, for a domain that is not a box, ``shape`` itself (any domain's ``contains``
    with the tolerance)."""
    if obs.x.shape[1] != box.dim:
        raise ValueError(f"{obs.source}: the points have {obs.x.shape[1]} coordinates, the "
                         f"domain has {box.dim} ({', '.join(box.names)})")
    lo, hi = np.asarray(box.lo), np.asarray(box.hi)
    out = np.any((obs.x < lo - INSIDE_TOL) | (obs.x > hi + INSIDE_TOL), axis=1)
    if shape is not None:
        out |= ~shape.contains(obs.x, INSIDE_TOL)
    if out.any():
        first = tuple(float(v) for v in obs.x[np.argmax(out)])
        raise ValueError(
            f"{obs.source}: {int(out.sum())} of {obs.n} data points lie outside the domain "
            f"{box} (first: {first})"
        )


class DataCondition(Condition):
    """The observations as a loss term: residual ``u_C(x_i) - d_i`` ``(N, |C|)``."""

    kind = "data"
    order = 0

    def __init__(self, name: str, box: Box, obs: Observations) -> None:
        if not isinstance(name, str) or not name or name == "residual":
            raise ValueError(f"the data term's name must be a non-empty string other than "
                             f"'residual', got {name!r}")
        self.name, self.faces, self.surface, self.box = name, (), None, box
        self.observations = obs
        self.payload_columns = len(obs.components)

    @property
    def measure(self) -> float:
        return 0.0

    def sample(self, sampler=None, n: int = 0, seed: int | None = None) -> np.ndarray:
        """The stored rows ``[x, d]`` (fixed: the arguments are ignored)."""
        return self.observations.rows()

    def residual(self, u: Derivatives) -> Tensor:
        raise ValueError("the data term's residual needs the observed values: use "
                         "term_residual(u, values)")

    def term_residual(self, u: Derivatives, payload: Tensor) -> Tensor:
        return u.value[:, list(self.observations.components)] - payload.to(u.value)

    def __repr__(self) -> str:
        return f"DataCondition({self.name!r}, n={self.observations.n}, " \
               f"components={list(self.observations.components)})"

