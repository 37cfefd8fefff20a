"""Darcy flow on the unit square.

    -div(a grad u) = f   on (0, 1)^2,        u = 0  on the boundary.

Strong-form residual ``a lap(u) + grad(a) . grad(u) + f`` (the PDE expanded, ``a`` and
``grad a`` in closed form); one condition ``boundary`` (zero Dirichlet). Loss weights default
to 1. Hard constraint ``u = x (1 - x) y (1 - y) N``.

Variants:

* ``smooth`` (default): ``a = 1 / (1 + x^2 + y^2 + (x-1)^2 + (y-1)^2)``,
  ``u = sin(pi x) sin(pi y)``,
  ``f = 2 pi^2 a sin(pi x) sin(pi y) + 2 pi a^2 [(2x-1) cos(pi x) sin(pi y)
  + (2y-1) sin(pi x) cos(pi y)]``. Test set: the 101 x 101 uniform grid.
* ``random_field``: ``a = exp(g)``, ``g`` the smooth Gaussian random field of
  :class:`kanpde.pde.GaussianRandomField` (squared-exponential covariance, ``length_scale``
  0.2, ``sigma`` 1, ``field_seed`` 0), ``f = source`` (1). Reference: the second-order finite
  volume solution (:mod:`kanpde.pde.reference.darcy_fv`) on ``reference_cells`` (256) and
  twice as many cells per axis combined by Richardson extrapolation (fourth order), cached
  on disk. Test set: the FV nodes restricted to the 129 x 129 grid of spacing 1/128. (As
  ``f = 1`` does not vanish at the corners, ``u`` has weak ``r^2 log r`` corner
  singularities; there the extrapolation is only second order, elsewhere fourth.)
* ``constant``: ``a = permeability`` (2), ``u = sin(pi x) sin(pi y)``,
  ``f = 2 pi^2 a sin(pi x) sin(pi y)``. Test set: the 101 x 101 grid.

Learnable (inverse problems): ``permeability`` (variant ``constant``; the forcing keeps the
true value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde import (
    Box,
    Derivatives,
    Dirichlet,
    GaussianRandomField,
    Problem,
    check_positive,
    check_variant,
)
from kanpde.pde.reference import cached, darcy_richardson

PI = math.pi
N_TEST_RANDOM = 129  # nodes per axis of the random-field test grid
SOLVER_VERSION = 1


class Darcy(Problem):
    """Darcy flow with a smooth manufactured or a random-field coefficient."""

    name = "darcy"
    linear = True  # the residuals are affine in u and its derivatives
    variants = ("smooth", "random_field", "constant")
    constrained_terms = ("boundary",)

    def __init__(
        self,
        variant: str = "smooth",
        length_scale: float = 0.2,
        sigma: float = 1.0,
        field_seed: int = 0,
        source: float = 1.0,
        permeability: float = 2.0,
        reference_cells: int = 256,
        loss_weights: Mapping[str, float] | None = None,
        use_cache: bool = True,
    ) -> None:
        self.variant = check_variant(type(self), variant)
        self.length_scale = check_positive("length_scale", length_scale)
        self.sigma = check_positive("sigma", sigma)
        if isinstance(field_seed, bool) or int(field_seed) != field_seed or field_seed < 0:
            raise ValueError(f"field_seed must be a non-negative integer, got {field_seed!r}")
        self.field_seed = int(field_seed)
        self.permeability = check_positive("permeability", permeability)
        self.learnable = ("permeability",) if variant == "constant" else ()
        self.source_value = float(source)
        if not math.isfinite(self.source_value):
            raise ValueError(f"source must be finite, got {source!r}")
        step = N_TEST_RANDOM - 1
        if (
            isinstance(reference_cells, bool)
            or int(reference_cells) != reference_cells
            or (reference_cells < step or reference_cells % step)
        ):
            raise ValueError(
                f"reference_cells must be a positive multiple of {step}, got {reference_cells!r}"
            )
        self.reference_cells = int(reference_cells)
        self.use_cache = bool(use_cache)
        self.field = (
            GaussianRandomField(self.length_scale, self.sigma, self.field_seed, dim=2)
            if variant == "random_field"
            else None
        )
        self.test_shape = (N_TEST_RANDOM, N_TEST_RANDOM) if variant == "random_field" \
            else (101, 101)
        domain = Box(("x", "y"), (0.0, 0.0), (1.0, 1.0))
        super().__init__(
            domain, [Dirichlet("boundary", domain.faces(), 0.0)], loss_weights=loss_weights
        )

    # ------------------------------------------------------------------------ coefficients
    def coefficient(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``a``, ``a_x``, ``a_y`` at coordinate columns ``(N, 1)``, each ``(N, 1)``."""
        if self.variant == "constant":
            zero = torch.zeros_like(x)
            return zero + self.coef("permeability"), zero, zero
        if self.field is None:
            a = 1.0 / (1 + x**2 + y**2 + (x - 1) ** 2 + (y - 1) ** 2)
            return a, -2 * a**2 * (2 * x - 1), -2 * a**2 * (2 * y - 1)
        g, grad = self.field.value_and_gradient(torch.cat([x, y], dim=1))
        a = torch.exp(g)
        return a, a * grad[:, 0:1], a * grad[:, 1:2]

    def source(self, x: Tensor, y: Tensor) -> Tensor:
        """``f`` at coordinate columns ``(N, 1)``: ``(N, 1)``."""
        if self.field is not None:
            return torch.full_like(x, self.source_value)
        if self.variant == "constant":  # known forcing: the true permeability
            return 2 * PI**2 * self.permeability * torch.sin(PI * x) * torch.sin(PI * y)
        a, _, _ = self.coefficient(x, y)
        sx, cx, sy, cy = torch.sin(PI * x), torch.cos(PI * x), torch.sin(PI * y), torch.cos(PI * y)
        return 2 * PI**2 * a * sx * sy + 2 * PI * a**2 * (
            (2 * x - 1) * cx * sy + (2 * y - 1) * sx * cy
        )

    def coefficient_np(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``a`` on numpy arrays of equal shape (for the finite-volume reference)."""
        if self.variant == "constant":
            return np.full_like(x, self.permeability, dtype=np.float64)
        if self.field is None:
            return 1.0 / (1 + x**2 + y**2 + (x - 1) ** 2 + (y - 1) ** 2)
        return np.exp(self.field.numpy(np.stack([x, y], axis=-1)))

    # ------------------------------------------------------------------------ mathematics
    def residual(self, u: Derivatives) -> Tensor:
        x, y = u.x("x"), u.x("y")
        a, ax, ay = self.coefficient(x, y)
        return a * u.laplacian() + ax * u.d("x") + ay * u.d("y") + self.source(x, y)  # (N, 1)

    def exact(self, x: Tensor) -> Tensor | None:
        if self.field is not None:
            return None
        return torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])

    def exact_gradient(self, x: Tensor) -> Tensor | None:
        if self.field is not None:
            return None
        xx, yy = x[:, 0:1], x[:, 1:2]
        ux = PI * torch.cos(PI * xx) * torch.sin(PI * yy)
        uy = PI * torch.sin(PI * xx) * torch.cos(PI * yy)
        return torch.stack([ux, uy], dim=1)  # (N, 2, 1)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        xx, yy = x[:, 0:1], x[:, 1:2]
        return xx * (1 - xx) * yy * (1 - yy) * u

    # ------------------------------------------------------------------------ reference
    def reference_params(self) -> dict[str, object]:
        assert self.field is not None
        return {
            "version": SOLVER_VERSION,
            "field": self.field.params(),
            "source": self.source_value,
            "cells": self.reference_cells,
            "richardson": True,
        }

    def reference(self, axes: Sequence[np.ndarray]) -> np.ndarray:
        if self.field is None:
            return super().reference(axes)

        def compute() -> dict[str, np.ndarray]:
            x, _, u = darcy_richardson(self.coefficient_np, self.source_value, self.reference_cells)
            stride = self.reference_cells // (N_TEST_RANDOM - 1)
            return {"x": x[::stride], "u": u[::stride, ::stride]}

        data = cached("darcy_random_field", self.reference_params(), compute, self.use_cache)
        if not all(np.allclose(a, data["x"], atol=1e-12) for a in axes):
            raise ValueError("the random-field reference is only available on test_axes()")
        return data["u"].reshape(-1, 1)
