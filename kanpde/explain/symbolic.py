r"""Symbolic edges: a KAN whose chosen edges are formulas ``a * g(b * x + c) + d``.

:class:`SymbolicKAN` wraps a trained ``ScaledModel(KAN)`` (or a bare KAN). Layer ``l``
computes, for inputs ``h`` ``(N, d_l)``,

    h'_j = sum_{i unlocked} phi_ij(h_i) + sum_{i locked} a_ij g_ij(b_ij h_i + c_ij) + d_ij

(``phi_ij`` the spline edge of the KAN, masked edges 0). The affine parameters of the
locked edges form the learnable ``(n_locked, 4)`` tensor ``affine`` of each layer, so the
network can be fine-tuned on the PDE loss (:func:`kanpde.explain.finetune.finetune`) with the
library functions held fixed. Spline parameters are frozen unless ``train_splines=True``.

:meth:`SymbolicKAN.expression` composes a fully locked network into sympy expressions of the
physical coordinates, the input scaling ``s = 2 (x - lo) / (hi - lo) - 1`` included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy
import torch
from torch import Tensor, nn

from kanpde.explain.fit import EdgeFit
from kanpde.explain.library import LIBRARY
from kanpde.models.kan.edges import edge_activations
from kanpde.models.kan.network import KAN
from kanpde.models.scaling import ScaledModel

Edge = tuple[int, int, int]  # (layer, input node, output node)


def split_model(model: nn.Module) -> tuple[KAN, Tensor | None, Tensor | None]:
    """``(kan, lo, hi)`` of a ``ScaledModel(KAN)`` (``lo``, ``hi`` None for a bare KAN)."""

    if isinstance(model, KAN):
        return model, None, None
    if isinstance(model, ScaledModel) and isinstance(model.net, KAN):
        return model.net, model.scaling.lo, model.scaling.hi
    raise ValueError(
        f"symbolic formulas need model=ScaledModel(KAN) or a KAN, got {type(model).__name__}"
        + (f"({type(model.net).__name__})" if isinstance(getattr(model, "net", None), nn.Module)
           else "")
        + "; input embeddings and hard constraints are not supported"
    )


class SymbolicKAN(nn.Module):
    """A KAN with locked symbolic edges (see the module docstring).

    Args:
        model: ``ScaledModel(KAN)`` or ``KAN`` (its parameters are shared, not copied).
        locked: ``{(layer, i, j): EdgeFit}``, the edges to lock and their starting formula.
            Masked (pruned) edges cannot be locked.
        train_splines: keep the unlocked spline edges trainable.
    """

    def __init__(self, model: nn.Module, locked: Mapping[Edge, EdgeFit],
                 train_splines: bool = False) -> None:
        super().__init__()
        self.kan, lo, hi = split_model(model)
        ref = next(self.kan.parameters())
        self.scaled = lo is not None
        if self.scaled:
            self.register_buffer("lo", lo.detach().clone())
            self.register_buffer("hi", hi.detach().clone())
        for p in self.kan.parameters():
            p.requires_grad_(bool(train_splines))
        n_layers = len(self.kan.layers)
        self.edges: list[list[tuple[int, int, str]]] = [[] for _ in range(n_layers)]
        params: list[list[list[float]]] = [[] for _ in range(n_layers)]
        for key in sorted(locked):
            fit = locked[key]
            l, i, j = self._check_edge(key)
            if fit.name not in LIBRARY:
                raise ValueError(f"locked[{key}]: function {fit.name!r} is not in the library; "
                                 f"allowed: {list(LIBRARY)}")
            self.edges[l].append((i, j, fit.name))
            params[l].append([fit.a, fit.b, fit.c, fit.d])
        self.affine = nn.ParameterList(
            nn.Parameter(torch.tensor(p, dtype=ref.dtype, device=ref.device).reshape(-1, 4))
            for p in params
        )
        for l, layer in enumerate(self.kan.layers):
            keep = torch.ones_like(layer.edge_mask)
            for i, j, _ in self.edges[l]:
                keep[i, j] = 0.0
            self.register_buffer(f"unlocked_{l}", keep)

    def _check_edge(self, key: Edge) -> Edge:
        if not (isinstance(key, tuple) and len(key) == 3):
            raise ValueError(f"locked key {key!r} must be a (layer, i, j) tuple")
        l, i, j = (int(v) for v in key)
        if not 0 <= l < len(self.kan.layers):
            raise ValueError(f"locked edge {key}: layer must lie in 0..{len(self.kan.layers) - 1}")
        layer = self.kan.layers[l]
        if not (0 <= i < layer.in_features and 0 <= j < layer.out_features):
            raise ValueError(f"locked edge {key}: (i, j) must lie in "
                             f"[0, {layer.in_features}) x [0, {layer.out_features})")
        if float(layer.edge_mask[i, j]) == 0.0:
            raise ValueError(f"locked edge {key} is pruned (edge_mask 0) and cannot be locked")
        return l, i, j

    @property
    def locked_edges(self) -> list[Edge]:
        return [(l, i, j) for l, es in enumerate(self.edges) for i, j, _ in es]

    @property
    def fully_symbolic(self) -> bool:
        """True when every live (unmasked) edge is locked."""
        return all(
            float((layer.edge_mask * getattr(self, f"unlocked_{l}")).abs().sum()) == 0.0
            for l, layer in enumerate(self.kan.layers)
        )

    def scale(self, x: Tensor) -> Tensor:
        if not self.scaled:
            return x
        return (x - self.lo) * (2.0 / (self.hi - self.lo)) - 1.0

    def layer_forward(self, l: int, h: Tensor) -> Tensor:
        """Layer ``l`` on ``h`` ``(N, d_l)`` -> ``(N, d_{l+1})``."""
        layer = self.kan.layers[l]
        out = (edge_activations(layer, h) * getattr(self, f"unlocked_{l}")).sum(dim=1)
        if not self.edges[l]:
            return out
        p = self.affine[l]
        cols = []
        for k, (i, _, name) in enumerate(self.edges[l]):
            z = p[k, 1] * h[:, i] + p[k, 2]
            cols.append(p[k, 0] * LIBRARY[name].torch(z) + p[k, 3])
        vals = torch.stack(cols, dim=1)  # (N, n_locked)
        onehot = torch.zeros(len(cols), layer.out_features, dtype=vals.dtype, device=vals.device)
        for k, (_, j, _) in enumerate(self.edges[l]):
            onehot[k, j] = 1.0
        return out + vals @ onehot

    def forward(self, x: Tensor) -> Tensor:
        """Physical coordinates ``(N, d_0)`` -> ``(N, d_L)``."""
        h = self.scale(x)
        for l in range(len(self.kan.layers)):
            h = self.layer_forward(l, h)
        return h

    def fits(self) -> dict[Edge, EdgeFit]:
        """The current formulas of the locked edges (R^2 fields not recomputed: NaN)."""
        out = {}
        for l, es in enumerate(self.edges):
            p = self.affine[l].detach().double().cpu().tolist()
            for k, (i, j, name) in enumerate(es):
                a, b, c, d = p[k]
                out[(l, i, j)] = EdgeFit(name, a, b, c, d, float("nan"), float("nan"),
                                         LIBRARY[name].complexity)
        return out

    def expression(self, names: Sequence[str]) -> list[sympy.Expr]:
        """Sympy expressions ``[u_0, ..., u_{d_L - 1}]`` of the symbols ``names``.

        Requires :attr:`fully_symbolic`; constants are the current parameters as floats.
        """
        if not self.fully_symbolic:
            raise ValueError("the network has unlocked live edges; lock every live edge "
                             "(lock='all') to compose a formula")
        d0 = self.kan.layers[0].in_features
        if len(names) != d0:
            raise ValueError(f"names={list(names)} must have {d0} entries")
        syms = [sympy.Symbol(n, real=True) for n in names]
        if self.scaled:
            lo = self.lo.double().cpu().tolist()
            hi = self.hi.double().cpu().tolist()
            h = [2 * (s - sympy.Float(a)) / sympy.Float(b - a) - 1
                 if (a, b) != (-1.0, 1.0) else s for s, a, b in zip(syms, lo, hi, strict=True)]
        else:
            h = list(syms)
        for l, layer in enumerate(self.kan.layers):
            out = [sympy.Integer(0)] * layer.out_features
            p = self.affine[l].detach().double().cpu().tolist()
            for k, (i, j, name) in enumerate(self.edges[l]):
                a, b, c, d = (sympy.Float(v, 17) for v in p[k])
                out[j] = out[j] + a * LIBRARY[name].sympy(b * h[i] + c) + d
            h = out
        return h
