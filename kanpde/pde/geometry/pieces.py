"""Boundary pieces of planar shapes (:mod:`kanpde.pde.geometry.shapes`): segments and arcs with
their lengths, points by arc length, outward normals and distances, and the selection of the
boundary points a set operation keeps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Piece:
    """A boundary piece: the segment ``a -> b`` (``kind="segment"``) or the arc of the circle
    ``center, radius`` from angle ``a0`` to ``a1`` counter-clockwise (``kind="arc"``).
    ``outward`` is +1 when the piece's own normal (segment: the right-hand normal of
    ``a -> b``; arc: away from the center) points out of the shape, -1 when it points in."""

    kind: str
    p: tuple[float, ...]
    outward: float = 1.0

    @property
    def length(self) -> float:
        if self.kind == "segment":
            ax, ay, bx, by = self.p
            return math.hypot(bx - ax, by - ay)
        _, _, r, a0, a1 = self.p
        return r * (a1 - a0)

    def points(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points at arc-length fractions ``s`` ``(n,)`` in [0, 1] and their outward normals."""
        if self.kind == "segment":
            ax, ay, bx, by = self.p
            x = np.stack([ax + s * (bx - ax), ay + s * (by - ay)], axis=1)
            length = self.length
            normal = np.array([(by - ay) / length, -(bx - ax) / length])
            return x, np.broadcast_to(self.outward * normal, x.shape).copy()
        cx, cy, r, a0, a1 = self.p
        angle = a0 + s * (a1 - a0)
        normal = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        return np.array([cx, cy]) + r * normal, self.outward * normal

    def normal_at(self, x: np.ndarray) -> np.ndarray:
        """The outward normal at points ``(N, 2)`` on (or near) the piece: ``(N, 2)``."""
        if self.kind == "segment":
            _, normal = self.points(np.zeros(len(x)))
            return normal
        cx, cy = self.p[:2]
        d = x - np.array([cx, cy])
        return self.outward * d / np.linalg.norm(d, axis=1, keepdims=True)

    def distance(self, x: np.ndarray) -> np.ndarray:
        """Euclidean distance of each point ``(N, 2)`` to the piece: ``(N,)``."""
        x = as_points(x)
        if self.kind == "segment":
            p, q = np.array(self.p[:2]), np.array(self.p[2:])
            e = q - p
            t = np.clip(((x - p) @ e) / float(e @ e), 0.0, 1.0)
            return np.linalg.norm(x - (p + t[:, None] * e), axis=1)
        cx, cy, r, a0, a1 = self.p
        angle = np.mod(np.arctan2(x[:, 1] - cy, x[:, 0] - cx) - a0, 2 * math.pi) + a0
        on_arc = angle <= a1
        radial = np.abs(np.hypot(x[:, 0] - cx, x[:, 1] - cy) - r)
        ends = np.array([[cx + r * math.cos(a), cy + r * math.sin(a)] for a in (a0, a1)])
        to_ends = np.min(np.linalg.norm(x[:, None, :] - ends[None], axis=2), axis=1)
        return np.where(on_arc, radial, to_ends)

    def flipped(self) -> Piece:
        return Piece(self.kind, self.p, -self.outward)


def kept_boundary(parts, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boundary points at arc-length positions ``u`` ``(m,)`` along all ``parts`` that
    their set operations keep, and their outward normals: ``(k, 2)``, ``(k, 2)``."""
    lengths = np.array([piece.length for piece, _, _ in parts])
    cum = np.concatenate([[0.0], np.cumsum(lengths)])
    which = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(parts) - 1)
    xs, ns = [], []
    for k, (piece, other, keep) in enumerate(parts):
        s = (u[which == k] - cum[k]) / lengths[k]
        x, normal = piece.points(np.clip(s, 0.0, 1.0))
        if other is not None:
            mask = other.contains(x, tol=0.0) if keep == "inside" else ~other.contains(x, 1e-12)
            x, normal = x[mask], normal[mask]
        xs.append(x)
        ns.append(normal)
    return np.concatenate(xs), np.concatenate(ns)


def as_points(x: object) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()  # type: ignore[union-attr]
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {x.shape}")
    return x
