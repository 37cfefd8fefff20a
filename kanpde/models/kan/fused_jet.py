r"""The jet of a B-spline KAN layer in one native pass (CPU): ``contraction="fused"``.

For ``N`` points, ``in`` inputs and ``out`` outputs, with ``S = k + 1`` local B-splines per
input starting at ``start`` ``(N, in)`` (``B_{start+s}``, skipped unless ``0 <= start + s < n``),
their values and first three x-derivatives ``values`` ``(N, in, 4, S)``, the base activation
and its derivatives ``act`` ``(N, in, 4)`` (``b, b', b'', b'''``), spline weights ``w``
``(in, n, out)``, base weights ``wb`` ``(in, out)``, the input jet channels ``d1``
``(N, C, in)``, ``d2`` ``(N, P, in)`` and the ``P`` coordinate pairs ``(a, b)`` of ``d2``, it
computes the output jet ``y_0`` ``(N, out)``, ``y_c`` ``(N, C, out)``, ``y_p`` ``(N, P, out)``:

    Phi_q[n, i, :] = act_q wb[i] + sum_s values[n, i, q, s] w[i, start + s]   (q = 0, 1, 2)
    y_0 = sum_i Phi_0,   y_c = sum_i d1_c Phi_1,   y_p = sum_i d2_p Phi_1 + outer_p Phi_2

(``Phi_q`` are ``phi_ij, phi'_ij, phi''_ij`` of every edge: the chain rule of
:mod:`kanpde.core.jet`; ``outer_p = d1_a d1_b`` for the pair ``p = (a, b)``), in one C loop
per point (OpenMP over points) that keeps ``Phi`` in a small scratch row, so nothing of size
``(N, in, S, out)`` or ``(N, C, in, n)`` is materialized; ``outer`` is formed in the loop,
``d1`` and ``d2`` may be expanded along the points (stride 0, as the seed jet ``d1 = I``,
``d2 = 0`` of the input is: the kernel reads the one row), and a native base activation is
evaluated by the forward loop itself (``act`` is then its output, kept for the backward
pass). The backward pass is hand-written (once differentiable):

    gPhi_0 = gy_0,  gPhi_1 = sum_c d1_c gy_c + sum_p d2_p gy_p,  gPhi_2 = sum_p outer_p gy_p
    g d1_c = <gy_c, Phi_1> + sum_{p=(a,b)} <gy_p, Phi_2> ([a = c] d1_b + [b = c] d1_a)
    g d2_p = <gy_p, Phi_1>
    g x   = sum_q <gPhi_q, act_{q+1} wb[i] + sum_s values[q+1, s] w[i, start + s]>
    g w[i, start + s] += sum_q values[q, s] gPhi_q,   g wb[i] += sum_q act_q gPhi_q

so ``x`` gets its gradient from the analytic next derivative (``values`` and ``act`` are
computed without autograd). The kernels come from :mod:`kanpde.native` (built with the system
C compiler on first use); :func:`fused_available` says whether they can run.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kanpde.core.jet import expanded_along_points
from kanpde.models.activations import Activation
from kanpde.models.bases.bspline import BSplineBasis
from kanpde.native import load_library

_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


_local = threading.local()


@contextmanager
def twice_differentiable() -> Iterator[None]:
    """Within this context (this thread) the native pass is not used: KAN layers run their
    PyTorch contractions, whose graphs can be differentiated again (e.g. autograd of a jet's
    first derivative with respect to the input, the fallback for undeclared mixed
    derivatives in :mod:`kanpde.pde.derivatives`)."""
    before = getattr(_local, "off", False)
    _local.off = True
    try:
        yield
    finally:
        _local.off = before


def fused_available(*tensors: Tensor) -> bool:
    """True when the native jet can run on ``tensors``: CPU, one float32/float64 dtype, not
    while ``torch.compile`` traces or inside :func:`twice_differentiable`, and the native
    library builds/loads."""
    if getattr(_local, "off", False) or torch.compiler.is_compiling():
        return False
    dtype = tensors[0].dtype
    if dtype not in _SUFFIX or any(t.device.type != "cpu" or t.dtype != dtype
                                   for t in tensors):
        return False
    return load_library() is not None


def _call(name: str, dtype: torch.dtype, sizes: tuple[int, ...],
          tensors: tuple[Tensor | None, ...], *, what: str | None = None) -> None:
    """Call the native kernel ``name`` for ``dtype`` with ``sizes``, the addresses of
    ``tensors`` (None: NULL) and the thread count. The ``tensors`` argument keeps every
    tensor (temporary contiguous copies included) alive until the kernel has returned: pass
    them here, never bare addresses. ``what``: the kernel returns a status; non-zero means
    it ran out of memory."""
    fn = getattr(load_library(), f"{name}_{_SUFFIX[dtype]}")
    addresses = [None if t is None else ctypes.c_void_p(t.data_ptr()) for t in tensors]
    status = fn(*sizes, *addresses, torch.get_num_threads())
    if what is not None and status != 0:
        raise MemoryError(f"native {what} could not allocate its scratch memory")


def _rows(t: Tensor) -> tuple[Tensor, int]:
    """``t`` ``(N, ...)`` as a tensor the kernel can read and its point stride: one
    contiguous row and stride 0 when ``t`` is expanded along the points, else contiguous."""
    if expanded_along_points(t):
        return t[:1].contiguous(), 0
    t = t.contiguous()
    return t, t[0].numel() if t.shape[0] else 0


class _FusedKANJet(torch.autograd.Function):
    """Inputs ``x, d1, d2, w, wb`` (differentiable), ``pairs`` ``(2, P)`` int64, the local
    B-splines ``start``, ``values`` and ``act``: ``(N, in, 4)`` precomputed, or the native id
    of the activation, which the forward pass then evaluates (and keeps for the backward)."""

    @staticmethod
    def forward(ctx, x: Tensor, d1: Tensor, d2: Tensor, w: Tensor, wb: Tensor, pairs: Tensor,
                start: Tensor, values: Tensor, act: Tensor | int) -> tuple[Tensor, Tensor, Tensor]:
        n_pts, n_in = x.shape
        kind = act if isinstance(act, int) else -1
        act = x.new_empty(n_pts, n_in, 4) if kind >= 0 else act.contiguous()
        (d1, sd1), (d2, sd2) = _rows(d1), _rows(d2)
        x, w, wb, pairs, start, values = (
            t.contiguous() for t in (x, w, wb, pairs, start, values))
        n_out, n_c, n_p = w.shape[2], d1.shape[1], d2.shape[1]
        sizes = (n_pts, n_in, values.shape[3], w.shape[1], n_out, n_c, n_p, sd1, sd2)
        ys = (x.new_empty(n_pts, n_out), x.new_empty(n_pts, n_c, n_out),
              x.new_empty(n_pts, n_p, n_out))
        _call("kan_jet_forward", x.dtype, (*sizes, kind),
              (x, start, values, act, d1, d2, pairs[0], pairs[1], w, wb, *ys), what="KAN jet")
        ctx.save_for_backward(d1, d2, w, wb, pairs, start, values, act)
        ctx.sizes = sizes
        return ys

    @staticmethod
    @once_differentiable
    def backward(ctx, g0: Tensor, g1: Tensor, g2: Tensor):
        d1, d2, w, wb, pairs, start, values, act = ctx.saved_tensors
        sizes = ctx.sizes
        n_pts, n_in, n_c, n_p = sizes[0], sizes[1], sizes[5], sizes[6]
        need = ctx.needs_input_grad
        new = values.new_empty
        grads = [new(n_pts, n_in) if need[0] else None,
                 new(n_pts, n_c, n_in) if need[1] else None,
                 new(n_pts, n_p, n_in) if need[2] else None,
                 torch.empty_like(w) if need[3] else None,
                 torch.empty_like(wb) if need[4] else None]
        threads = torch.get_num_threads()
        work = w.new_empty(threads, w.numel() + wb.numel()) if need[3] or need[4] else None
        gys = tuple(g.contiguous() for g in (g0, g1, g2))
        _call("kan_jet_backward", values.dtype, sizes,
              (start, values, act, d1, d2, pairs[0], pairs[1], w, wb, *gys, *grads, work),
              what="KAN jet backward")
        return (*grads, None, None, None, None)


#: base activations the native code evaluates (ids of kan_jet.c); others run in PyTorch
ACTIVATION_KINDS = {"identity": 0, "silu": 1, "tanh": 2, "gelu": 3, "sin": 4}


def activation_jet(activation: Activation, x: Tensor) -> Tensor:
    """``b`` and its first three derivatives at ``x`` ``(N, in)``, stacked: ``(N, in, 4)``
    (PyTorch, no autograd graph): the ``act`` of an activation the kernels do not know."""
    with torch.no_grad():
        return torch.stack([*activation.with_derivatives(x), activation.third(x)], dim=-1)


def local_support(basis: BSplineBasis, x: Tensor) -> tuple[Tensor, Tensor]:
    """``basis.local_support(x, 3)`` (no autograd graph): native on a uniform grid when
    available, else PyTorch. Returns ``start`` ``(N, in)`` and ``values`` ``(N, in, 4, k+1)``."""
    with torch.no_grad():
        k = basis.spline_order
        if not basis.uniform or k > 15 or not fused_available(x):
            return basis.local_support(x, 3)
        tables = tuple(t.contiguous() for t in basis.uniform_tables())  # grid, inv_h, pieces
        x = x.contiguous()
        start = torch.empty(x.shape, dtype=torch.int64)
        values = x.new_empty(*x.shape, 4, k + 1)
        _call("bspline_uniform_local", x.dtype, (*x.shape, k, basis.grid_size),
              (x, *tables, start, values))
        return start, values


def _pair_index(pairs: Sequence[tuple[int, int]], n_c: int, n_p: int) -> Tensor:
    """The pairs as a ``(2, P)`` int64 tensor (cached: the same few pairs recur every call)."""
    key = tuple((int(a), int(b)) for a, b in pairs)
    if len(key) != n_p or any(not (0 <= i < n_c) for pair in key for i in pair):
        raise ValueError(
            f"fused KAN jet: pairs {tuple(pairs)} must be {n_p} pairs of coordinate indices "
            f"in 0..{n_c - 1}"
        )
    return _pair_tensor(key)


@functools.lru_cache(maxsize=64)
def _pair_tensor(pairs: tuple[tuple[int, int], ...]) -> Tensor:
    # a normal CPU tensor even when first built under inference_mode or another default
    # device: the cached tensor is saved for backward by later calls
    with torch.inference_mode(False):
        return torch.tensor([[a for a, _ in pairs], [b for _, b in pairs]],
                            dtype=torch.int64, device="cpu").reshape(2, len(pairs))


def _check_channels(x: Tensor, d1: Tensor, d2: Tensor, w: Tensor, wb: Tensor) -> None:
    dtypes = {t.dtype for t in (x, d1, d2, w, wb)}
    if len(dtypes) != 1:
        raise ValueError(
            f"fused KAN jet: x ({x.dtype}), d1 ({d1.dtype}), d2 ({d2.dtype}) and the weights "
            f"({w.dtype}, {wb.dtype}) must share one dtype; cast the input to the model's "
            "dtype (model.to(dtype) or x.to(dtype))"
        )
    n_pts, n_in = x.shape
    if w.shape[0] != n_in or wb.shape != (n_in, w.shape[2]):
        raise ValueError(
            f"fused KAN jet: inconsistent shapes x {tuple(x.shape)}, w {tuple(w.shape)} "
            f"(in, n, out), wb {tuple(wb.shape)} (in, out)"
        )
    if d1.shape[::2] != (n_pts, n_in) or d2.shape[::2] != (n_pts, n_in):
        raise ValueError(
            f"fused KAN jet: jet channels d1 {tuple(d1.shape)}, d2 {tuple(d2.shape)} do not "
            f"match (N, ., in) = ({n_pts}, ., {n_in})"
        )


def fused_kan_jet(x: Tensor, d1: Tensor, d2: Tensor, pairs: Sequence[tuple[int, int]],
                  w: Tensor, wb: Tensor, start: Tensor, values: Tensor,
                  act: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The output jet ``(y_0 (N, out), y_c (N, C, out), y_p (N, P, out))`` of a B-spline KAN
    layer in one native pass, from precomputed local B-splines and activation derivatives.

    Differentiable in ``x`` ``(N, in)``, ``d1`` ``(N, C, in)``, ``d2`` ``(N, P, in)`` (either
    may be expanded along the points), ``w`` ``(in, n, out)``, ``wb`` ``(in, out)``; ``d2[:, p]``
    is the derivative along ``pairs[p] = (a, b)``, ``0 <= a, b < C``; ``start`` ``(N, in)``
    int64, ``values`` ``(N, in, 4, S)`` and ``act`` ``(N, in, 4)`` are constants computed from
    ``x`` (see the module docstring). The caller checks :func:`fused_available` first.
    :func:`fused_layer_jet` computes them for a layer (a native activation inside the kernel).
    """
    _check_channels(x, d1, d2, w, wb)
    n_pts, n_in = x.shape
    if values.shape[:3] != (n_pts, n_in, 4) or start.shape != (n_pts, n_in) \
            or act.shape != (n_pts, n_in, 4):
        raise ValueError(
            f"fused_kan_jet: inconsistent shapes x {tuple(x.shape)}, start "
            f"{tuple(start.shape)}, values {tuple(values.shape)} (N, in, 4, S), act "
            f"{tuple(act.shape)} (N, in, 4)"
        )
    if start.dtype != torch.int64 or values.dtype != x.dtype or act.dtype != x.dtype:
        raise ValueError(
            f"fused_kan_jet: start must be int64 and values, act {x.dtype}, got {start.dtype}, "
            f"{values.dtype}, {act.dtype}"
        )
    index = _pair_index(pairs, d1.shape[1], d2.shape[1])
    return _FusedKANJet.apply(x, d1, d2, w, wb, index, start, values, act)


def fused_layer_jet(x: Tensor, d1: Tensor, d2: Tensor, pairs: Sequence[tuple[int, int]],
                    w: Tensor, wb: Tensor, basis: BSplineBasis,
                    activation: Activation) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`fused_kan_jet` of a layer with ``basis`` and base ``activation``: the local
    B-splines from :func:`local_support`; a native activation (:data:`ACTIVATION_KINDS`) is
    evaluated inside the forward kernel, others by :meth:`Activation.with_derivatives`."""
    _check_channels(x, d1, d2, w, wb)
    start, values = local_support(basis, x)  # (N, in), (N, in, 4, k + 1)
    kind = ACTIVATION_KINDS.get(activation.name)
    act = kind if kind is not None else activation_jet(activation, x)  # (N, in, 4)
    index = _pair_index(pairs, d1.shape[1], d2.shape[1])
    return _FusedKANJet.apply(x, d1, d2, w, wb, index, start, values, act)
