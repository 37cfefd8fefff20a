"""Pruning of a KAN by importance: edge masks, node removal, the effect on accuracy.

:func:`prune_masks` turns edge scores ``E^l`` (:mod:`kanpde.explain.importance`) into
masks ``(d_l, d_{l+1})``: an edge survives when ``E^l_ij >= threshold`` and it was live
before; then, repeatedly until nothing changes, a hidden node with no live incoming or no
live outgoing edge is dead and all its edges are masked. :func:`apply_masks` writes them
into the ``edge_mask`` buffers of the layers, which ``forward`` and ``forward_jet`` respect,
so a pruned edge stays exactly zero during any later training.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.explain.importance import edge_scores
from kanpde.models.backbone import kan_backbone
from kanpde.models.kan.edges import model_activations
from kanpde.models.kan.network import KAN


def current_masks(kan: KAN) -> list[Tensor]:
    """The layers' ``edge_mask`` buffers as bool tensors ``(d_l, d_{l+1})`` (copies)."""
    return [layer.edge_mask.detach() != 0 for layer in kan.layers]


def prune_masks(scores: list[Tensor], threshold: float,
                previous: list[Tensor] | None = None) -> list[Tensor]:
    """Bool masks per layer: edges with score ``>= threshold``, dead nodes removed."""
    if not 0.0 <= float(threshold) < 1.0:
        raise ValueError(f"threshold={threshold!r} must lie in [0, 1) (a relative edge score)")
    masks = [s >= threshold for s in scores]
    if previous is not None:
        if len(previous) != len(masks):
            raise ValueError(f"previous has {len(previous)} layers, scores {len(masks)}")
        masks = [m & p.to(m.device) for m, p in zip(masks, previous, strict=True)]
    changed = True
    while changed:
        changed = False
        for l in range(1, len(masks)):
            alive = masks[l - 1].any(dim=0) & masks[l].any(dim=1)  # hidden nodes of layer l
            new_in = masks[l - 1] & alive.unsqueeze(0)
            new_out = masks[l] & alive.unsqueeze(1)
            if not (torch.equal(new_in, masks[l - 1]) and torch.equal(new_out, masks[l])):
                masks[l - 1], masks[l] = new_in, new_out
                changed = True
    return masks


@torch.no_grad()
def apply_masks(kan: KAN, masks: list[Tensor]) -> None:
    """Install bool or 0/1 masks ``(d_l, d_{l+1})`` into the layers' ``edge_mask``."""
    if len(masks) != len(kan.layers):
        raise ValueError(f"masks has {len(masks)} entries; the KAN has {len(kan.layers)} layers")
    for l, (layer, m) in enumerate(zip(kan.layers, masks, strict=True)):
        if tuple(m.shape) != tuple(layer.edge_mask.shape):
            raise ValueError(
                f"masks[{l}] has shape {tuple(m.shape)}, expected {tuple(layer.edge_mask.shape)}"
            )
        layer.edge_mask.copy_(m.to(layer.edge_mask))


def live_counts(masks: list[Tensor]) -> tuple[int, list[int]]:
    """Number of live edges and the live width of every layer ``[d_0, h_1, ..., d_L]``."""
    edges = int(sum(int(m.sum()) for m in masks))
    widths = [int(masks[0].shape[0])]
    for l in range(1, len(masks)):
        widths.append(int((masks[l - 1].any(dim=0) & masks[l].any(dim=1)).sum()))
    widths.append(int(masks[-1].shape[1]))
    return edges, widths


def prune_model(model: torch.nn.Module, points: Tensor, threshold: float) -> list[Tensor]:
    """Prune the KAN inside ``model`` by its edge scores over physical ``points`` ``(N, d)``.

    Scores from :func:`kanpde.explain.importance.edge_scores` of the activations at the
    points; already pruned edges stay pruned. Returns the new bool masks (installed).
    """

    kan, _ = kan_backbone(model)
    masks = prune_masks(edge_scores(model_activations(model, points)), threshold,
                        current_masks(kan))
    apply_masks(kan, masks)
    return masks
