"""The edge functions of a KAN: the value of every edge at given points (the one
evaluation of ``phi_ij`` outside the layer's forward: explain, sparsity and the run record).

For layer ``l`` with inputs ``h^l`` ``(N, d_l)`` the edge activations are

    phi^l[n, i, j] = mask_ij (w_base_ij b(h^l_ni) + sum_m W_imj B_m(h^l_ni))   (N, d_l, d_{l+1})

and the layer output is their sum over inputs, ``h^{l+1}_nj = sum_i phi^l[n, i, j]``.

:func:`~kanpde.models.backbone.kan_backbone` finds the KAN inside a physical model and maps
physical points to the KAN's own inputs, so activations are taken over the points a model
actually sees (:func:`model_activations`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.models.backbone import kan_backbone
from kanpde.models.kan.layer import KANLayer
from kanpde.models.kan.network import KAN


def edge_activations(layer: KANLayer, x: Tensor) -> Tensor:
    """``phi[n, i, j]`` ``(N, in, out)`` of one layer at its inputs ``x`` ``(N, in)``.

    Differentiable (used by the sparsity regularization); masked edges are exactly 0.
    """
    layer._check_input(x)
    basis = layer.basis(x)  # (N, in, n)
    phi = torch.einsum("nim,imo->nio", basis, layer.spline_weight())
    return phi + layer.activation(x).unsqueeze(-1) * layer.masked_base_weight().unsqueeze(0)


@dataclass
class LayerActivations:
    """One layer's inputs ``x`` ``(N, in)`` and edge activations ``phi`` ``(N, in, out)``."""

    x: Tensor
    phi: Tensor

    @property
    def output(self) -> Tensor:
        """``sum_i phi[:, i, :]`` ``(N, out)``: the layer's output."""
        return self.phi.sum(dim=1)


def network_activations(kan: KAN, x: Tensor) -> list[LayerActivations]:
    """Activations of every layer of ``kan`` for KAN inputs ``x`` ``(N, d_0)``.

    Layer ``l + 1`` is fed the sum of layer ``l``'s activations, so the last entry's
    ``output`` equals ``kan(x)``.
    """
    kan._check_input(x)
    out = []
    h = x
    for layer in kan.layers:
        phi = edge_activations(layer, h)
        out.append(LayerActivations(h, phi))
        h = phi.sum(dim=1)
    return out


@torch.no_grad()
def model_activations(model: nn.Module, points: Tensor, batch: int = 8192
                      ) -> list[LayerActivations]:
    """:func:`network_activations` of the KAN inside ``model`` at physical ``points``
    ``(N, dim_in)`` (cast to the model's dtype and device; evaluated in batches, no graph)."""
    kan, _ = kan_backbone(model)
    ref = next(kan.parameters())
    points = torch.as_tensor(points).to(dtype=ref.dtype, device=ref.device)
    parts = []
    for start in range(0, points.shape[0], batch):
        _, xk = kan_backbone(model, points[start : start + batch])
        parts.append(network_activations(kan, xk))
    return [
        LayerActivations(torch.cat([p[l].x for p in parts]), torch.cat([p[l].phi for p in parts]))
        for l in range(len(kan.layers))
    ]


def first_kan_layer(model: nn.Module) -> KANLayer | None:
    """The first KAN layer of the KAN inside ``model`` (:func:`kan_backbone`), else None."""
    try:
        kan, _ = kan_backbone(model)
    except ValueError:
        return None
    layer = kan.layers[0]
    return layer if isinstance(layer, KANLayer) else None


@torch.no_grad()
def edge_functions(model: nn.Module, n_samples: int) -> dict[str, np.ndarray] | None:
    """Samples of the first layer's edge functions for the run record: ``{"x": (M, in),
    "phi": (M, in, out)}`` (:func:`edge_activations`) at ``M = n_samples`` points spanning
    the layer's input range (the scaled domain, [-1, 1], or the grid range after grid
    updates); None for models without a KAN layer."""
    layer = first_kan_layer(model)
    if layer is None:
        return None
    w = layer.spline_coef
    lo = torch.full((layer.in_features,), -1.0, dtype=w.dtype, device=w.device)
    hi = -lo
    if getattr(layer.basis, "has_grid", False):
        glo, ghi = layer.basis.grid_bounds()
        lo, hi = glo.to(w), ghi.to(w)
    t = torch.linspace(0.0, 1.0, n_samples, dtype=w.dtype, device=w.device).unsqueeze(1)
    x = lo + t * (hi - lo)  # (M, in)
    phi = edge_activations(layer, x)
    return {"x": x.double().cpu().numpy(), "phi": phi.double().cpu().numpy()}
