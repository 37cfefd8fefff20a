"""Sparsity regularization of the KAN paper (section 2.5.1): L1 and entropy of the edges.

For layer ``l`` with edge magnitudes ``|phi^l_ij|_1 = mean_n |phi^l[n, i, j]|`` over the
points ``n`` (:mod:`kanpde.models.kan.edges`):

    |Phi^l|_1 = sum_ij |phi^l_ij|_1
    S(Phi^l)  = - sum_ij p_ij log p_ij,     p_ij = |phi^l_ij|_1 / |Phi^l|_1

    penalty   = l1 * sum_l |Phi^l|_1 + entropy * sum_l S(Phi^l)

(the paper's ``lambda * (mu_1 sum |Phi|_1 + mu_2 sum S)`` with ``l1 = lambda mu_1``,
``entropy = lambda mu_2``). Masked (pruned) edges have magnitude 0 and add nothing
(``0 log 0 = 0``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kanpde.models.backbone import kan_backbone
from kanpde.models.kan.edges import network_activations


def layer_l1(phi: Tensor) -> Tensor:
    """``|phi_ij|_1`` ``(in, out)`` from activations ``phi`` ``(N, in, out)``."""
    return phi.abs().mean(dim=0)


def layer_entropy(magnitudes: Tensor) -> Tensor:
    """``S = -sum p log p`` with ``p = m / sum m`` for edge magnitudes ``m`` ``(in, out)``."""
    total = magnitudes.sum()
    p = magnitudes / total.clamp_min(torch.finfo(magnitudes.dtype).tiny)
    safe = torch.where(p > 0, p, torch.ones_like(p))
    return -(p * torch.log(safe)).sum()


def sparsity_penalty(model: nn.Module, points: Tensor, l1: float, entropy: float) -> Tensor:
    """``l1 * sum_l |Phi^l|_1 + entropy * sum_l S(Phi^l)`` at physical ``points`` ``(N, d)``.

    ``model`` is a KAN or a wrapper of one (scaling, embeddings, hard constraint); the
    result is a differentiable scalar.
    """
    if not float(l1) >= 0 or not float(entropy) >= 0:
        raise ValueError(f"l1={l1!r} and entropy={entropy!r} must be >= 0")
    kan, x = kan_backbone(model, points)
    total = x.new_zeros(())
    for act in network_activations(kan, x):
        m = layer_l1(act.phi)
        if l1:
            total = total + l1 * m.sum()
        if entropy:
            total = total + entropy * layer_entropy(m)
    return total
