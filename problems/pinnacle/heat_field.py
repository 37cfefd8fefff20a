"""PINNacle's Heat2d-VC: the heat equation with a rough, spatially varying coefficient.

On ``(x, y) in [0, 1]^2``, ``t in [0, 5]``:

    u_t = a(x, y) (u_xx + u_yy) + f,    f = A sin(m1 pi x) sin(m2 pi y) sin(m3 pi t),
    u = 0 on the boundary,   u(x, y, 0) = 0,    A = 200, (m1, m2, m3) = (1, 5, 1),

``a = exp(g)`` a log-normal random field on a 256 x 256 grid, evaluated by nearest-node
interpolation (:class:`kanpde.pde.fields.GridField`), ``g`` the standardised spectral
Gaussian field with amplitude ``|k|^-2`` of :func:`kanpde.pde.fields.lognormal_grid`
(PINNacle's recipe, ``alpha = 4``). PINNacle ships one unseeded draw of this field as a data
file; kanpde draws its own from ``field_seed`` (nothing is downloaded), so the field is of
the same law but not the same sample. ``field_file`` (an ``.npz`` as written by
``GridField.save``) replaces the draw by a given field on the unit square.

Terms ``residual``, ``initial``, ``boundary``; weights 1. Test set: every third node of the
field's grid (86 x 86) at t = 0, 0.5, ..., 5. Reference: finite differences on the field's
own grid (``h = 1/255``, the coefficient exact at the nodes) with BDF2 steps
``reference_dt`` (:mod:`kanpde.pde.reference.heat_fd`), cached. Hard constraint
``u = t x (1 - x) y (1 - y) N``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde import Box, Derivatives, Dirichlet, InitialValue, Problem, check_positive
from kanpde.pde.fields import GridField, lognormal_grid
from kanpde.pde.reference import cached
from kanpde.pde.reference.heat_fd import heat_variable_coefficient

PI = math.pi
SOLVER_VERSION = 1
N_FIELD = 256
STRIDE = 3  # test nodes: every third node of the 256-node axes (86 per axis)


class Heat2dVC(Problem):
    """PINNacle's Heat2d-VC (see the module docstring)."""

    name = "heat2d_vc"
    linear = True
    constrained_terms = ("initial", "boundary")
    amplitude, modes = 200.0, (1, 5, 1)

    def __init__(self, field_seed: int = 0, field_file: str | None = None, t_end: float = 5.0,
                 reference_dt: float = 0.005, loss_weights: Mapping[str, float] | None = None,
                 use_cache: bool = True) -> None:
        if isinstance(field_seed, bool) or int(field_seed) != field_seed or field_seed < 0:
            raise ValueError(f"problem.field_seed: expected an integer >= 0, got {field_seed!r}")
        self.field_seed, self.field_file = int(field_seed), field_file
        self.t_end = check_positive("t_end", t_end)
        self.reference_dt = check_positive("reference_dt", reference_dt)
        self.use_cache = bool(use_cache)
        if field_file is None:
            axis = np.linspace(0.0, 1.0, N_FIELD)
            self.field = GridField([axis, axis], lognormal_grid(N_FIELD, 4.0, self.field_seed),
                                   ("x", "y"), method="nearest")
        else:
            self.field = GridField.from_file(field_file, method="nearest")
            if self.field.names != ("x", "y"):
                raise ValueError(f"problem.field_file: the field must be over (x, y), got "
                                 f"{self.field.names}")
        nodes = len(self.field.axes[0])
        self.test_shape = ((nodes - 1) // STRIDE + 1,) * 2 + (11,)
        box = Box(("x", "y", "t"), (0.0, 0.0, 0.0), (1.0, 1.0, self.t_end))
        super().__init__(box, [InitialValue("initial", box, 0.0),
                               Dirichlet("boundary", box.faces(), 0.0)],
                         loss_weights=loss_weights)

    def source(self, x, y, t, lib=torch):
        """``f`` at coordinates (torch tensors, or numpy arrays with ``lib=np``)."""
        m1, m2, m3 = self.modes
        return self.amplitude * lib.sin(m1 * PI * x) * lib.sin(m2 * PI * y) * lib.sin(
            m3 * PI * t)

    def residual(self, u: Derivatives) -> Tensor:
        f = self.source(u.x("x"), u.x("y"), u.x("t"))
        return u.d("t") - self.field.at(u) * u.laplacian(("x", "y")) - f  # (N, 1)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        xx, yy, t = x[:, 0:1], x[:, 1:2], x[:, 2:3]
        return t * xx * (1 - xx) * yy * (1 - yy) * u

    def reference(self, axes: Sequence[np.ndarray]) -> np.ndarray:
        grid = self.field.axes
        if len(grid[0]) != len(grid[1]) or not np.allclose(grid[0], np.linspace(0, 1,
                                                                              len(grid[0]))):
            raise ValueError("the finite-difference reference needs the field on a square "
                             "grid over [0, 1]^2 with the same nodes on both axes")
        n = len(grid[0]) - 1
        times = np.asarray(axes[2])

        def compute() -> dict[str, np.ndarray]:
            u = heat_variable_coefficient(self.field.grid_values,
                                          lambda x, y, t: self.source(x, y, t, np),
                                          times, self.reference_dt)
            return {"u": u[:, ::STRIDE, ::STRIDE]}

        params = {"version": SOLVER_VERSION, "seed": self.field_seed, "n": n,
                  "file": self.field_file or "", "field_sum": float(self.field.grid_values.sum()),
                  "dt": self.reference_dt, "times": times}
        u = cached("pinnacle_heat2d_vc", params, compute, self.use_cache)["u"]  # (T, X, Y)
        stride_axes = np.linspace(0, 1, n + 1)[::STRIDE]
        if not all(np.allclose(a, stride_axes) for a in axes[:2]):
            raise ValueError("the Heat2d-VC reference is only available on test_axes()")
        return np.transpose(u, (1, 2, 0)).reshape(-1, 1)

