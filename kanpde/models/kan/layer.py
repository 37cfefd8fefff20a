r"""One Kolmogorov-Arnold layer: a learnable univariate function on every edge.

For inputs ``x`` ``(N, in)`` the layer computes ``(N, out)``

    y_j = sum_i phi_ij(x_i),
    phi_ij(x) = w_base[i, j] * b(x) + w_spline[i, j] * sum_m c[i, m, j] B_m(x)

(the KAN paper's parameterization: ``b`` the base activation, SiLU by default, ``B_m`` the
``n`` functions of the basis on feature ``i``). The basis is evaluated once per call for all
inputs, ``(N, in, n)``, and contracted with the scaled coefficients
``W[i, m, j] = w_spline[i, j] c[i, m, j]`` in one matmul ``(N, in n) @ (in n, out)``.

Parameters: ``base_weight`` ``(in, out)``, ``spline_coef`` ``(in, n, out)``,
``spline_scale`` ``(in, out)``; the basis (and its ``grid`` buffer) is the submodule ``basis``.
Buffer ``edge_mask`` ``(in, out)`` (ones by default): ``phi_ij`` is multiplied by
``edge_mask[i, j]`` in :meth:`KANLayer.forward` and :meth:`KANLayer.forward_jet`, so a pruned
edge (mask 0) contributes nothing and receives no gradient (see :mod:`kanpde.explain.pruning`);
checkpoints written before the mask existed load with all edges active.

Initialisation (KAN paper): ``c ~ U(-1/2, 1/2) noise_scale / G`` (small noise),
``w_spline = 1 / sqrt(in)``, ``w_base ~ U(-r, r)`` with the Xavier bound
``r = sqrt(6 / (in + out))``; every draw uses a local ``torch.Generator``.

Grids (B-spline basis only): :meth:`KANLayer.extend_grid` and :meth:`KANLayer.update_grid`
refit the coefficients by least squares (:mod:`kanpde.models.kan.grid`).

Derivative jets (:meth:`KANLayer.forward_jet`, rules in :mod:`kanpde.core.jet`). With the
basis derivatives ``B'``, ``B''`` (analytic) and the input jet ``x, x'_c, x''_ab``, every jet
channel is a weighted sum of basis values with the same coefficients:

    y         = sum_{i,m} B_m(x_i) W[i,m,:]                                     (+ base)
    y'_c      = sum_{i,m} B'_m(x_i) x'_{c,i} W[i,m,:]
    y''_ab    = sum_{i,m} (B'_m(x_i) x''_{ab,i} + B''_m(x_i) x'_{a,i} x'_{b,i}) W[i,m,:]

so the ``1 + C + P`` channels are contracted in a few batched products, with no loop over
edges (the base branch goes through one small matmul with ``w_base``). For the B-spline
basis only ``k + 1`` functions per input are non-zero (found by index arithmetic on a uniform
grid, ``searchsorted`` on an adapted one), and four contractions of those ``k + 1`` local
weights with the coefficient table are available:

    "fused":  the whole layer jet (basis, base branch, all channels) and its backward in one
              native C/OpenMP pass per layer (:mod:`kanpde.models.kan.fused_jet`); ~ k + 1;
              CPU, float32/float64, outside ``torch.compile``, needs a C compiler
    "dense":  scatter into the ``n + 1`` dense slots, one matmul per channel group
              (value, first, second derivatives); cost ~ n (~ G)
    "sparse": sparse product (embedding_bag forward, sampled products backward); ~ k + 1
    "edge":   per-edge derivatives phi, phi', phi'' from gathered rows, then the channels;
              ~ (k + 1) out, the cheapest PyTorch one for a narrow output layer

``contraction="auto"`` uses "fused" wherever it can run and otherwise picks among the
PyTorch ones per layer (:func:`~kanpde.models.kan.contraction.choose_contraction`, thresholds
measured with ``python -m kanpde.bench contraction``); "fused" and "sparse" are once
differentiable (enough for a training step on jet outputs). The plain :meth:`KANLayer.forward`
uses "dense" (twice differentiable, for nested autograd); :meth:`KANLayer.forward_fused` is
the value-only native pass that :meth:`kanpde.models.KAN.forward` takes when its input does
not require grad.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.activations import get_activation
from kanpde.models.bases.basis import DEFAULT_SPLINE_ORDER
from kanpde.models.bases.factory import check_basis_name, make_basis
from kanpde.models.common import check_positive_int, make_generator
from kanpde.models.kan.contraction import (
    choose_contraction,
    dense_contract,
    edge_contract,
    rows_times,
    sparse_contract,
)
from kanpde.models.kan.fused_jet import fused_available, fused_layer_jet
from kanpde.models.kan.grid import GridRefit
from kanpde.models.tape import active_tape, record
from kanpde.native import native_status

CONTRACTIONS = ("auto", "fused", "dense", "sparse", "edge")


def _not_on_tape(method: str) -> None:
    """A value-only pass is not recorded: note it on an active tape (whose Jacobian would
    miss this call's dependence on the parameters)."""
    tape = active_tape()
    if tape is not None:
        tape.mark_unsupported(f"KANLayer.{method} (a value pass; the tape records jets)")


class KANLayer(GridRefit, nn.Module):
    """A KAN layer ``(N, in) -> (N, out)``; see the module docstring.

    Args:
        in_features, out_features: widths (>= 1).
        grid_size: ``G`` >= 1.
        spline_order: ``k`` >= 0.
        basis: ``"bspline"``, ``"chebyshev"`` or ``"rbf"``.
        grid_range: ``(a, b)``, the initial grid range (bspline, rbf).
        base_activation: ``"silu"``, ``"tanh"``, ``"gelu"``, ``"sin"`` or ``"identity"``.
        noise_scale: scale of the initial spline-coefficient noise (>= 0).
        grid_eps: default blend of :meth:`update_grid` (1: uniform, 0: sample quantiles).
        contraction: how :meth:`forward_jet` contracts B-spline weights (``"auto"``,
            ``"fused"``, ``"dense"``, ``"sparse"``, ``"edge"``; see the module docstring).
        seed: int, ``torch.Generator`` or None (non-deterministic) for the initialisation.
        dtype, device: of parameters and buffers.
        **basis_options: passed to the basis (``degree`` for chebyshev; ``n_centers``,
            ``width`` for rbf).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid_size: int = 5,
        spline_order: int = DEFAULT_SPLINE_ORDER,
        basis: str = "bspline",
        grid_range: Sequence[float] = (-1.0, 1.0),
        base_activation: str = "silu",
        noise_scale: float = 0.5,
        grid_eps: float = 0.02,
        contraction: str = "auto",
        seed: int | torch.Generator | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **basis_options: Any,
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        check_positive_int(grid_size, "grid_size")
        if isinstance(spline_order, bool) or not isinstance(spline_order, int) or spline_order < 0:
            raise ValueError(f"spline_order={spline_order!r} must be an integer >= 0")
        self.basis_name = check_basis_name(basis)
        self.activation = get_activation(base_activation, "base_activation")
        if not float(noise_scale) >= 0:
            raise ValueError(f"noise_scale={noise_scale!r} must be >= 0")
        if not 0.0 <= float(grid_eps) <= 1.0:
            raise ValueError(f"grid_eps={grid_eps!r} must lie in [0, 1]")
        if contraction not in CONTRACTIONS:
            raise ValueError(f"contraction={contraction!r} is not one of {list(CONTRACTIONS)}")
        self.spline_order = spline_order
        self.grid_eps = float(grid_eps)
        self.contraction = contraction
        self.basis = make_basis(basis, in_features, grid_size, spline_order, grid_range,
                                dtype=dtype, device=device, **basis_options)
        self._init_grid_size = grid_size

        dtype = dtype or torch.get_default_dtype()
        gen = make_generator(seed)
        n_in, n_out, n = self.in_features, self.out_features, self.basis.n_functions
        bound = math.sqrt(6.0 / (n_in + n_out))
        base = (torch.rand(n_in, n_out, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        noise = torch.rand(n_in, n, n_out, generator=gen, dtype=torch.float64) - 0.5
        coef = noise * (float(noise_scale) / grid_size)
        scale = torch.full((n_in, n_out), 1.0 / math.sqrt(n_in), dtype=torch.float64)
        self.base_weight = nn.Parameter(base.to(dtype=dtype, device=device))
        self.spline_coef = nn.Parameter(coef.to(dtype=dtype, device=device))
        self.spline_scale = nn.Parameter(scale.to(dtype=dtype, device=device))
        self.register_buffer("edge_mask", torch.ones(n_in, n_out, dtype=dtype, device=device))

    # ------------------------------------------------------------------ properties
    @property
    def grid_size(self) -> int:
        """Current number of grid intervals ``G`` (bspline) or the size given at construction."""
        return self.basis.grid_size if self.basis.has_grid else self._init_grid_size

    @property
    def grid(self) -> Tensor:
        """The knot buffer ``(in, G + 2k + 1)`` (B-spline basis only)."""
        if not self.basis.has_grid:
            raise AttributeError(f"basis {self.basis_name!r} has no grid")
        return self.basis.grid

    @property
    def supports_grid_updates(self) -> bool:
        return self.basis.has_grid

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"basis={self.basis_name!r}, n_functions={self.basis.n_functions}, "
            f"base_activation={self.activation.name!r}"
        )

    def spline_weight(self) -> Tensor:
        """``W = mask * w_spline * c`` ``(in, n, out)``."""
        return self.spline_coef * (self.spline_scale * self.edge_mask).unsqueeze(1)

    def masked_base_weight(self) -> Tensor:
        """``mask * w_base`` ``(in, out)``."""
        return self.base_weight * self.edge_mask

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"KANLayer expects input of shape (N, {self.in_features}) "
                f"(in_features={self.in_features}), got {tuple(x.shape)}"
            )

    # ------------------------------------------------------------------ forward
    def _table(self, weight: Tensor | None = None) -> Tensor:
        """``[W; 0]`` ``(in, n + 1, out)``: the spline rows ``W`` (default ``w_spline * c``)
        and a zero row ``n`` that masked-out local slots point to."""
        weight = self.spline_weight() if weight is None else weight
        zero = weight.new_zeros(self.in_features, 1, self.out_features)
        return torch.cat([weight, zero], dim=1)

    def local_index(self, start: Tensor, mask: Tensor | None) -> Tensor:
        """Table rows ``(N, in, k + 1)`` of the local splines (``n`` where masked out)."""
        n = self.basis.n_functions
        slots = start.unsqueeze(-1) + torch.arange(self.spline_order + 1, device=start.device)
        slots = slots.clamp(0, n - 1)
        if mask is not None:
            slots = torch.where(mask, slots, torch.full_like(slots, n))
        return slots

    def forward(self, x: Tensor) -> Tensor:
        """``(N, in) -> (N, out)``; twice differentiable (nested autograd works)."""
        self._check_input(x)
        _not_on_tape("forward")
        base = rows_times(self.activation(x), self.masked_base_weight())  # (N, out)
        if self.basis.local_size is None:
            feats = self.basis(x).reshape(x.shape[0], -1)  # (N, in n)
            return rows_times(feats, self.spline_weight().reshape(-1, self.out_features)) + base
        start, values, mask = self.basis.local(x, 0)  # (N, in), (N, in, 1, k + 1)
        w = values[:, :, 0].unsqueeze(1)  # (N, 1, in, k + 1)
        return dense_contract(self.local_index(start, mask), w, self._table())[:, 0] + base

    def contraction_mode(self) -> str:
        """How :meth:`forward_jet` contracts: ``"matmul"`` (global basis), else the chosen
        (or, for ``contraction="auto"``, the fastest available) of ``"fused"``, ``"dense"``,
        ``"sparse"``, ``"edge"``: ``"fused"`` (one native pass) wherever it can run (CPU,
        float32/float64, outside ``torch.compile``, a C compiler present), else
        :func:`choose_contraction`'s pick.

        Raises RuntimeError when ``contraction="fused"`` was asked for but cannot run.
        """
        if self.basis.local_size is None:
            return "matmul"
        if self.contraction in ("auto", "fused"):
            if fused_available(self.spline_coef):
                return "fused"
            if self.contraction == "fused":

                raise RuntimeError(
                    "contraction='fused' needs CPU float32/float64 parameters outside "
                    f"torch.compile and the native kernels (status: {native_status()}, "
                    f"parameters: {self.spline_coef.dtype} on {self.spline_coef.device}); "
                    "use contraction='auto' to fall back to 'dense', 'sparse' or 'edge'"
                )
        if self.contraction != "auto":
            return self.contraction
        return choose_contraction(self.in_features, self.out_features,
                                  self.basis.n_functions, self.spline_order)

    @staticmethod
    def _channels(v0: Tensor, v1: Tensor, v2: Tensor, jet: Jet, outer: Tensor) -> list[Tensor]:
        """Chain-rule weights of the value, first and second-derivative channels.

        ``v0, v1, v2``: ``f, f', f''`` of the inputs, ``(N, in, ...)`` (any trailing slots);
        returns ``[(N, 1, in, ...), (N, C, in, ...), (N, P, in, ...)]``.
        """
        extra = v0.dim() - 2
        d1 = jet.d1.reshape(*jet.d1.shape, *([1] * extra))
        d2 = jet.d2.reshape(*jet.d2.shape, *([1] * extra))
        out = outer.reshape(*outer.shape, *([1] * extra))
        v1 = v1.unsqueeze(1)
        return [v0.unsqueeze(1), v1 * d1, torch.addcmul(v1 * d2, v2.unsqueeze(1), out)]

    def forward_jet(self, jet: Jet) -> Jet:
        """Jet of the layer output from the jet of its input (``jet.width == in``); recorded
        on an active :class:`~kanpde.models.tape.Tape`."""
        out = self.jet_with_weights(jet, self.spline_weight(), self.masked_base_weight())
        return record(self, "kan", jet, out)

    def jet_with_weights(self, jet: Jet, spline_weight: Tensor, base_weight: Tensor) -> Jet:
        """The layer's jet with the given ``W`` ``(in, n, out)`` (in place of
        ``mask w_spline c``) and ``wb`` ``(in, out)`` (in place of ``mask w_base``); the
        output is linear in both (what :func:`kanpde.models.tape.tangent` uses)."""
        x = jet.value
        self._check_input(x)
        n_pts, n_out = x.shape[0], self.out_features
        mode = self.contraction_mode()
        if mode == "fused":  # forms d1_a d1_b itself
            return Jet(*fused_layer_jet(x, jet.d1, jet.d2, jet.pairs, spline_weight,
                                        base_weight, self.basis, self.activation), jet.pairs)
        outer = jet.outer_d1()  # (N, P, in)
        # base branch w_base * b(x): channels (N, ch, in) through one small matmul
        base = torch.cat(self._channels(*self.activation.with_derivatives(x), jet, outer), dim=1)
        y = rows_times(base, base_weight)  # (N, ch, out)
        if mode == "matmul":  # global basis: dense values (N, in, 3, n)
            values = torch.stack(self.basis.evaluate(x, 2), dim=2)
            weight = spline_weight.reshape(-1, n_out)  # (in n, out)
            groups = self._channels(*values.unbind(dim=2), jet, outer)
            spline = [rows_times(g.reshape(-1, weight.shape[0]), weight).reshape(n_pts, -1, n_out)
                      for g in groups]
            return self._assemble(torch.cat(spline, dim=1) + y, jet)
        start, values, mask = self.basis.local(x, 2)  # (N, in, 3, k + 1)
        index = self.local_index(start, mask)  # (N, in, k + 1)
        table = self._table(spline_weight)
        if mode == "edge":
            spline = edge_contract(index, values, table, jet.d1, jet.d2, outer)
        else:
            groups = self._channels(*values.unbind(dim=2), jet, outer)  # (N, ., in, k + 1)
            if mode == "dense":  # per group: smaller scatter targets than one concatenation
                spline = torch.cat([dense_contract(index, g, table) for g in groups], dim=1)
            else:
                spline = sparse_contract(index, torch.cat(groups, dim=1), table)
        return self._assemble(spline + y, jet)

    def forward_fused(self, x: Tensor) -> Tensor:
        """``(N, in) -> (N, out)`` through the native pass (requires
        ``contraction_mode() == "fused"``): the same values as :meth:`forward`, but the graph
        is once differentiable (parameter gradients, not nested input derivatives)."""
        self._check_input(x)
        _not_on_tape("forward_fused")
        none = x.new_empty(x.shape[0], 0, self.in_features)
        return fused_layer_jet(x, none, none, (), self.spline_weight(),
                               self.masked_base_weight(), self.basis, self.activation)[0]

    @staticmethod
    def _assemble(y: Tensor, jet: Jet) -> Jet:
        c = jet.n_coords
        return Jet(y[:, 0], y[:, 1 : 1 + c], y[:, 1 + c :], jet.pairs)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # a saved model may have another grid size (after extend_grid): adopt its shapes
        mask_key = prefix + "edge_mask"
        if mask_key not in state_dict:  # written before edge masks existed: all edges active
            state_dict[mask_key] = torch.ones_like(self.edge_mask)
        key = prefix + "spline_coef"
        if key in state_dict and state_dict[key].shape != self.spline_coef.shape:
            self.spline_coef = nn.Parameter(
                torch.empty(state_dict[key].shape, dtype=self.spline_coef.dtype,
                            device=self.spline_coef.device)
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
