"""Boundary and initial conditions: where their points live and the residual they impose.

A condition has a ``name`` (its loss term), the faces it lives on (or a whole domain's
boundary: a box's spatial faces, a planar shape's boundary for Dirichlet and Neumann), a
``kind`` ("boundary" for spatial faces, "initial" for the slice ``t = t0``), and a pointwise
residual written against the derivative accessor. The loss term is the mean square of that residual.

==============  =====================================================  ===================
condition       residual at a point x on the faces                     shape
==============  =====================================================  ===================
Dirichlet       u(x) - g(x)                                            (M, dim_out)
Neumann         du/dn(x) - g(x), n the outward normal of x's face      (M, dim_out)
Periodic        [u(x_lo) - u(x_hi), u_a(x_lo) - u_a(x_hi)] along a     (M, 2 dim_out)
InitialValue    u(x, t0) - u0(x)                                       (M, dim_out)
==============  =====================================================  ===================

``g`` / ``u0`` are a constant or a callable ``(M, d) Tensor -> (M, dim_out) | (M,)`` of the
full coordinates. The periodic condition samples points ``x_lo`` on the low face of its axis,
maps each to its partner ``x_hi`` on the high face, and evaluates the model once on both
(:meth:`Condition.eval_points` concatenates them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde.derivatives import Derivatives
from kanpde.pde.geometry.box import Box, Face
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.shapes import Shape
from kanpde.pde.sampling import Sampler, sample_faces

Value = float | Callable[[Tensor], Tensor]


class Condition(ABC):
    """Base class of the conditions; subclasses define :meth:`residual`."""

    kind = "boundary"
    order = 0  # highest derivative order the residual uses
    payload_columns = 0  # columns stored after the coordinates in each point row

    def __init__(self, name: str, faces: Sequence[Face] | Domain) -> None:
        if not isinstance(name, str) or not name or name == "residual":
            raise ValueError(
                f"condition name must be a non-empty string other than 'residual', got {name!r}"
            )
        self.shape: Shape | None = None
        if isinstance(faces, Domain) and faces.fills_bounds:  # a box: its spatial faces
            faces = faces.bounds.faces()
        elif isinstance(faces, Domain) and not isinstance(faces, Shape):
            raise ValueError(
                f"condition {name!r}: the boundary of a {type(faces).__name__} cannot be "
                "sampled; give the faces of a Box or a planar Shape"
            )
        if isinstance(faces, Shape):  # the whole boundary of a planar shape
            self.name, self.faces, self.shape, self.box = name, (), faces, faces.bounds
            return
        faces = tuple(faces)
        if not faces:
            raise ValueError(f"condition {name!r} needs at least one face")
        boxes = {f.box for f in faces}
        if len(boxes) != 1:
            raise ValueError(f"the faces of condition {name!r} belong to different boxes")
        self.name = name
        self.faces = faces
        self.box: Box = faces[0].box

    @property
    def measure(self) -> float:
        """Total measure of the faces (the perimeter of a shape) the points are drawn on."""
        if self.shape is not None:
            return self.shape.perimeter
        return float(sum(f.measure for f in self.faces))

    def sample(self, sampler: Sampler | str, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` points over the faces (split by measure), or uniform in arc length on a
        shape's boundary: ``(n, d)`` float64."""
        if self.shape is not None:
            return self.shape.sample_boundary(n, seed, sampler)
        return sample_faces(sampler, self.faces, n, seed)

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

    def __repr__(self) -> str:
        where = self.shape if self.shape is not None else list(self.faces)
        return f"{type(self).__name__}({self.name!r}, on={where})"


class Dirichlet(Condition):
    """``u = g`` on the faces (or on the boundary of a shape)."""

    def __init__(self, name: str, faces: Sequence[Face] | Shape, value: Value = 0.0) -> None:
        super().__init__(name, faces)
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        return u.value - _evaluate(self.value, u.coords, u.value)


class Neumann(Condition):
    """``du/dn = g`` on the faces (outward normal of the face each point lies on) or on the
    boundary of a shape (outward normal of its nearest boundary piece)."""

    order = 1

    def __init__(self, name: str, faces: Sequence[Face] | Shape, value: Value = 0.0) -> None:
        super().__init__(name, faces)
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        x = u.coords.detach().cpu().numpy()
        if self.shape is not None:  # the outward normal of the shape's nearest boundary piece
            normal = torch.as_tensor(self.shape.outward_normals(x), dtype=u.value.dtype,
                                     device=u.value.device)
            names = self.shape.names
            dn = normal[:, :1] * u.d(names[0]) + normal[:, 1:] * u.d(names[1])
            return dn - _evaluate(self.value, u.coords, u.value)
        # The face of each point: the nearest one (corners belong to either; measure zero).
        dist = np.stack([f.distance(x) for f in self.faces], axis=1)  # (M, F)
        nearest = np.argmin(dist, axis=1)
        dn = torch.zeros_like(u.value)
        for k, f in enumerate(self.faces):
            mask = torch.as_tensor(nearest == k, device=dn.device).unsqueeze(1)
            dn = torch.where(mask, f.normal * u.d(f.name), dn)
        return dn - _evaluate(self.value, u.coords, u.value)


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
    """``u(x, t0) = u0(x)`` on the initial slice of a space-time box."""

    kind = "initial"

    def __init__(self, name: str, box: Box, value: Value) -> None:
        super().__init__(name, [box.initial_slice()])
        self.value = value

    def residual(self, u: Derivatives) -> Tensor:
        return u.value - _evaluate(self.value, u.coords, u.value)


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
