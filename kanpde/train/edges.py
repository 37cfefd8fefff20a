"""Samples of the learned edge functions of a KAN's first layer, for the run record.

For the first layer, ``phi_ij(x) = w_base_ij * b(x) + sum_m W_imj B_m(x)`` is evaluated at
``M`` points spanning the layer's input range (the scaled domain, [-1, 1], or the grid range
after grid updates): ``x`` ``(M, in)``, ``phi`` ``(M, in, out)``.
"""

from __future__ import annotations

import numpy as np
import torch


def first_kan_layer(model: torch.nn.Module):
    """The first KAN layer of ``model`` (or of the network it wraps), else None."""
    net = getattr(model, "net", model)
    layers = getattr(net, "layers", None)
    if layers is None or len(layers) == 0:
        return None
    layer = layers[0]
    return layer if hasattr(layer, "spline_weight") and hasattr(layer, "basis") else None


@torch.no_grad()
def edge_functions(model: torch.nn.Module, n_samples: int) -> dict[str, np.ndarray] | None:
    """``{"x": (M, in), "phi": (M, in, out)}`` of the first KAN layer; None for other models."""
    layer = first_kan_layer(model)
    if layer is None:
        return None
    w = layer.spline_weight()  # (in, n, out)
    lo = torch.full((layer.in_features,), -1.0, dtype=w.dtype, device=w.device)
    hi = -lo
    if getattr(layer.basis, "has_grid", False):
        glo, ghi = layer.basis.grid_bounds()
        lo, hi = glo.to(w), ghi.to(w)
    t = torch.linspace(0.0, 1.0, n_samples, dtype=w.dtype, device=w.device).unsqueeze(1)
    x = lo + t * (hi - lo)  # (M, in)
    basis = layer.basis(x)  # (M, in, n)
    phi = torch.einsum("min,ino->mio", basis, w)
    phi = phi + layer.activation(x).unsqueeze(-1) * layer.masked_base_weight().unsqueeze(0)
    return {"x": x.double().cpu().numpy(), "phi": phi.double().cpu().numpy()}
