"""Boundary and initial conditions: where their points live and the residual they impose.

A condition has a ``name`` (its loss term), the surface it lives on
(:mod:`kanpde.pde.geometry.boundary`: faces of a box, a box's spatial faces, the whole
boundary of a solid, planar shape or space-time domain, a part of such a boundary, or an
initial slice), a ``kind`` ("boundary" or "initial"), and a pointwise residual written
against the derivative accessor. The loss term is the mean square of that residual.

==============  =====================================================  ===================
condition       residual at a point x of its surface                   shape
==============  =====================================================  ===================
Dirichlet       u(x) - g(x)                                            (M, dim_out)
Neumann         du/dn(x) - g(x), n the outward unit normal at x        (M, dim_out)
Robin           du/dn(x) + alpha u(x) - g(x)                           (M, dim_out)
Periodic        [u(x_lo) - u(x_hi), u_a(x_lo) - u_a(x_hi)] along a     (M, 2 dim_out)
InitialValue    u(x, t0) - u0(x)                                       (M, dim_out)
InitialRate     u_t(x, t0) - v0(x)                                     (M, dim_out)
==============  =====================================================  ===================

``g`` / ``u0`` / ``v0`` are a constant or a callable ``(M, d) Tensor -> (M, dim_out) | (M,)``
of the full coordinates. The periodic condition samples points ``x_lo`` on the low face of
its axis, maps each to its partner ``x_hi`` on the high face, and evaluates the model once on
both (:meth:`Condition.eval_points` concatenates them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde.derivatives import Derivatives
from kanpde.pde.geometry.boundary import Surface, as_surface
from kanpde.pde.geometry.box import TIME_NAME, Box, Face
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.spacetime import InitialSlice, SpaceTime
from kanpde.pde.sampling import Sampler

Value = float | Callable[[Tensor], Tensor]


class Condition(ABC):
    """Base class of the conditions; subclasses define :meth:`residual`.

    ``on`` is where the condition's points live (:func:`kanpde.pde.geometry.boundary.as_surface`):
    faces of a box, a box (its spatial faces), a domain (its whole boundary) or a
    :class:`~kanpde.pde.geometry.boundary.Boundary` part.
    """

    kind = "boundary"
    order = 0  # highest derivative order the residual uses
    payload_columns = 0  # columns stored after the coordinates in each point row

    def __init__(self, name: str, on: Sequence[Face] | Domain | Surface) -> None:
        if not isinstance(name, str) or not name or name == "residual":
            raise ValueError(
                f"condition name must be a non-empty string other than 'residual', got {name!r}"
            )
        try:
            self.surface: Surface = as_surface(on)
        except ValueError as err:
            raise ValueError(f"condition {name!r}: {err}") from None
        self.name = name
        self.box: Box = self.surface.bounds
        self.faces: tuple[Face, ...] = getattr(self.surface, "faces", ())

    @property
    def measure(self) -> float:
        """The measure of the surface the points are drawn on (faces' area, a boundary's
        length or area, an initial slice's volume)."""
        return float(self.surface.measure)

    def sample(self, sampler: Sampler | str, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` points of the surface, uniform in its measure: ``(n, d)`` float64."""
        return self.surface.sample(sampler, n, seed)

    def eval_points(self, x: Tensor) -> Tensor:
        """The points at which the model is evaluated for stored points ``x`` ``(M, d)``."""
        return x

    @abstractmethod
    def residual(self, u: Derivatives) -> Tensor:
        """Pointwise residual ``(M, k)`` from the accessor at :meth:`eval_points`."""

    def term_residual(self, u: Derivatives, payload: Tensor) -> Tensor:
        """The loss term's residual from the accessor and the stored rows' payload columns
        ``(M, payload_columns)`` (none for a plain condition: :meth:`residual`)."""
        return self.residual(u)

    def normal_derivative(self, u: Derivatives) -> Tensor:
        """``du/dn = sum_i n_i du/dx_i`` at the accessor's points ``(M, dim_out)``, ``n`` the
        surface's outward unit normal there."""
        x = u.coords.detach().cpu().numpy()
        normal = self.surface.normals(x)  # (M, d)
        dn = torch.zeros_like(u.value)
        for i, name in enumerate(self.box.names):
            if np.any(normal[:, i] != 0):
                n_i = torch.as_tensor(normal[:, i : i + 1], dtype=u.value.dtype,
                                      device=u.value.device)
                dn = dn + n_i * u.d(name)
        return dn

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, on={self.surface!r})"


class Dirichlet(Condition):
    """``u = g`` on the surface."""

    def __init__(self, name: str, on: Sequence[Face] | Domain | Surface,
                 value: Value = 0.0) -> None:
        super().__init__(name, on)
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        return u.value - _evaluate(self.value, u.coords, u.value)


class Neumann(Condition):
    """``du/dn = g`` on the surface (``n`` the outward normal: of a point's nearest face on a
    box, of its nearest boundary piece on a shape or solid)."""

    order = 1

    def __init__(self, name: str, on: Sequence[Face] | Domain | Surface,
                 value: Value = 0.0) -> None:
        super().__init__(name, on)
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        return self.normal_derivative(u) - _evaluate(self.value, u.coords, u.value)


class Robin(Condition):
    """``du/dn + alpha u = g`` on the surface (``alpha`` a constant; ``alpha = 0`` is
    Neumann)."""

    order = 1

    def __init__(self, name: str, on: Sequence[Face] | Domain | Surface, alpha: float,
                 value: Value = 0.0) -> None:
        super().__init__(name, on)
        a = float(alpha)
        if not np.isfinite(a):
            raise ValueError(f"condition {name!r}: alpha must be finite, got {alpha!r}")
        self.alpha = a
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        g = _evaluate(self.value, u.coords, u.value)
        return self.normal_derivative(u) + self.alpha * u.value - g


class Periodic(Condition):
    """``u`` and ``du/d axis`` equal at ``axis = lo`` and ``axis = hi``.

    Points are drawn on the low face; ``match_derivative=False`` drops the derivative part.
    """

    def __init__(self, name: str, box: Box, axis: str, match_derivative: bool = True) -> None:
        super().__init__(name, [box.face(axis, "low")])
        self.axis = axis
        self.match_derivative = bool(match_derivative)
        self.order = 1 if self.match_derivative else 0

    def eval_points(self, x: Tensor) -> Tensor:
        hi = x.clone()
        hi[:, self.box.index(self.axis)] = self.box.hi[self.box.index(self.axis)]
        return torch.cat([x, hi], dim=0)  # (2M, d)

    def residual(self, u: Derivatives) -> Tensor:
        m = u.coords.shape[0] // 2
        v = u.value
        parts = [v[:m] - v[m:]]
        if self.match_derivative:
            g = u.d(self.axis)
            parts.append(g[:m] - g[m:])
        return torch.cat(parts, dim=1)  # (M, 2 dim_out)


class InitialValue(Condition):
    """``u(x, t0) = u0(x)`` on the initial slice of a space-time box or
    :class:`~kanpde.pde.geometry.spacetime.SpaceTime`."""

    kind = "initial"

    def __init__(self, name: str, domain: Box | SpaceTime, value: Value) -> None:
        super().__init__(name, _initial_slice(name, domain))
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        return u.value - _evaluate(self.value, u.coords, u.value)


class InitialRate(Condition):
    """``u_t(x, t0) = v0(x)`` on the initial slice (second order in time, e.g. the wave
    equation's initial velocity)."""

    kind = "initial"
    order = 1

    def __init__(self, name: str, domain: Box | SpaceTime, value: Value = 0.0) -> None:
        super().__init__(name, _initial_slice(name, domain))
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        return u.d(TIME_NAME) - _evaluate(self.value, u.coords, u.value)


def _initial_slice(name: str, domain: Box | SpaceTime) -> Face | InitialSlice:
    if isinstance(domain, Box | SpaceTime):
        try:
            return domain.initial_slice()
        except ValueError as err:
            raise ValueError(f"condition {name!r}: {err}") from None
    raise ValueError(f"condition {name!r}: an initial condition needs a space-time Box or a "
                     f"SpaceTime, got {domain!r}")


def _evaluate(value: Value, x: Tensor, like: Tensor) -> Tensor:
    """A prescribed value at points ``x`` ``(M, d)`` as ``(M, dim_out)`` in ``like``'s dtype."""
    if callable(value):
        g = value(x.detach())
        if not isinstance(g, Tensor):
            g = torch.as_tensor(g, dtype=like.dtype, device=like.device)
        if g.dim() == 1:
            g = g.unsqueeze(1)
        if g.shape[0] != x.shape[0]:
            raise ValueError(f"condition value returned {tuple(g.shape)} for {x.shape[0]} points")
        return g.to(like.dtype)
    return torch.full_like(like, float(value))
