"""Edge and node importance from activation magnitudes (KAN paper, section 2.5.1).

Over the ``N`` points of layer ``l``'s activations ``phi^l`` ``(N, d_l, d_{l+1})``:

    |phi^l_ij|_1 = mean_n |phi^l[n, i, j]|                       (edge magnitude)
    E^l_ij       = |phi^l_ij|_1 / max_{i', j'} |phi^l_i'j'|_1     (edge score, in [0, 1])

Node ``i`` of hidden layer ``l`` (``1 <= l <= L - 1``) has the incoming score
``I^l_i = max_k E^{l-1}_ki`` and the outgoing score ``O^l_i = max_j E^l_ij``; its score is
``min(I, O)``: a node matters only when something enters it and something leaves it.
Input and output nodes always score 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.kan.edges import LayerActivations


def edge_magnitudes(acts: list[LayerActivations]) -> list[Tensor]:
    """``|phi^l_ij|_1`` per layer, ``(d_l, d_{l+1})`` each."""
    return [a.phi.abs().mean(dim=0) for a in acts]


def edge_scores(acts: list[LayerActivations]) -> list[Tensor]:
    """``E^l_ij`` per layer, ``(d_l, d_{l+1})``, normalized by the layer's largest edge."""
    out = []
    for m in edge_magnitudes(acts):
        top = m.max()
        out.append(m / top if float(top) > 0 else torch.zeros_like(m))
    return out


def node_scores(scores: list[Tensor]) -> list[Tensor]:
    """Node scores ``(d_l,)`` for ``l = 0..L`` from the edge scores (see module docstring)."""
    n_layers = len(scores)
    out = [torch.ones(scores[0].shape[0], dtype=scores[0].dtype, device=scores[0].device)]
    for l in range(1, n_layers):
        incoming = scores[l - 1].max(dim=0).values  # (d_l,)
        outgoing = scores[l].max(dim=1).values  # (d_l,)
        out.append(torch.minimum(incoming, outgoing))
    out.append(torch.ones(scores[-1].shape[1], dtype=scores[-1].dtype,
                          device=scores[-1].device))
    return out
