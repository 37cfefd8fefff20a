"""The Taylor-Hood Navier-Stokes reference against Kovasznay flow (Re = 20): third-order
velocity convergence, second-order pressure; Newton converges."""

from __future__ import annotations

import math

import numpy as np

from kanpde.pde.reference.fem_ns import navier_stokes, rectangle_mesh

RE = 20.0
LAM = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)


def velocity(x):
    e = np.exp(LAM * x[0])
    return np.stack([1 - e * np.cos(2 * math.pi * x[1]),
                     LAM / (2 * math.pi) * e * np.sin(2 * math.pi * x[1])])


def pressure(x):
    return 0.5 * (1 - np.exp(2 * LAM * x[0]))


def test_taylor_hood_converges_on_kovasznay_flow():
    pts = np.random.default_rng(0).uniform((-0.5, -0.5), (1.0, 1.5), (500, 2))
    errors_u, errors_p = [], []
    for h in (0.25, 0.125, 0.0625):
        mesh = rectangle_mesh((-0.5, -0.5), (1.0, 1.5), h)
        ub, U, pb, P = navier_stokes(
            mesh, 1 / RE, velocity, lambda x: np.ones(x.shape[1], dtype=bool),
            lambda x: (np.abs(x[0] - 1.0) < 1e-12) & (np.abs(x[1] + 0.5) < 1e-12))
        u = ub.probes(pts.T) @ U
        p = pb.probes(pts.T) @ P + pressure(np.array([[1.0], [-0.5]]))[0]
        ref = velocity(pts.T)
        errors_u.append(np.linalg.norm(u.reshape(2, -1) - ref) / np.linalg.norm(ref))
        errors_p.append(np.linalg.norm(p - pressure(pts.T)) / np.linalg.norm(pressure(pts.T)))
    ou = np.log2(np.array(errors_u[:-1]) / np.array(errors_u[1:]))
    op = np.log2(np.array(errors_p[:-1]) / np.array(errors_p[1:]))
    assert np.all(ou > 2.6) and np.all(op > 1.7), (errors_u, ou, errors_p, op)
