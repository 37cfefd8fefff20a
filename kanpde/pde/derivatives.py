"""A derivative accessor over a network output: ``u``, ``u_x``, ``u_xx``, ``u_xy``, ``lap u``.

Residuals are written against :class:`Derivatives` only, never against a way of computing
derivatives::

    def residual(self, u):
        return u.d("t") - self.diffusion * u.d2("x") - self.source(u.x("x"), u.x("t"))

``make_derivatives(model, x, names, engine)`` picks the engine:

* ``"autograd"``: nested reverse-mode autograd with ``create_graph=True``. The gradient of
  output component ``j`` is one backward pass, ``grad(sum_n u[n, j], x)``, which gives every
  first derivative at every point (valid because the model acts row by row); the second
  derivatives ``d^2 u_j / dx_a dx_*`` are one more pass over ``d u_j / dx_a``. Every pass is
  cached, so a derivative asked for twice is computed once and ``u.d2("x")``, ``u.d2("x", "y")``
  share the pass over ``u_x``.
* ``"jets"``: one forward pass of ``model.forward_jet(Jet.seed(x, pairs))`` (see
  :mod:`kanpde.core.jet`) propagates the value, all first derivatives and the second
  derivatives of the diagonal pairs ``(c, c)`` plus the mixed ``pairs`` the caller declares
  (problems declare them in ``Problem.mixed_derivatives``); higher pure derivatives
  (``u.dn("x", 4)``) are reverse-mode passes over a twice-differentiable second derivative.
  The jet and the value are computed from ``x`` detached (nothing is differentiated with respect
  to ``x``), which lets a KAN take its native once-differentiable pass. A mixed derivative that
  was not declared (or any second derivative after ``order=1``) falls back to autograd, with
  respect to ``x``,
  of the first derivatives of a second jet built with twice-differentiable layers
  (:func:`kanpde.models.kan.fused_jet.twice_differentiable`; ``x`` is made to require grad here
  for that).
* ``"func"``: :mod:`torch.func`, per point: ``vmap`` over the rows of ``jacfwd(g)`` (first
  derivatives) and ``jacfwd(jacfwd(g))`` (the ``C x C`` Hessian, every pair at once) of
  ``g: x_n (C,) -> u_n (dim_out,)``. Nothing calls ``torch.autograd.grad``, so the residual
  composes with further ``torch.func`` transforms: Gauss-Newton takes the explicit per-point
  Jacobian with respect to the parameters as one ``vmap(jacrev(...))`` over the points
  (:mod:`kanpde.train.gauss_newton.func_jacobian`). The model must run on one row at a time.
* ``"auto"``: ``"jets"`` when the model has a ``forward_jet`` method (and it does not raise
  NotImplementedError), else ``"autograd"``.

All engines give the same numbers up to rounding, and the results are differentiable with
respect to the model parameters. Derivatives are always built with a graph (also inside
``torch.no_grad()``, because nested derivatives need one); detach the results if you only
need numbers.

``order`` is a hint of the highest derivative order the caller will ask for. The jets engine
uses it to skip work: ``0`` runs a plain forward (a later derivative request then runs the
jet), ``1`` propagates first derivatives only (second derivatives then fall back to
autograd), ``2`` (default) the diagonal and declared pairs. The autograd engine is lazy and
ignores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.kan.fused_jet import twice_differentiable
from kanpde.models.tape import active_tape

ENGINES = ("auto", "autograd", "jets", "func")


class Derivatives:
    """Value and derivatives of ``model`` at points ``x`` ``(N, C)`` with coordinate ``names``.

    Shapes: ``value``, ``d``, ``d2``, ``laplacian`` are ``(N, dim_out)``; ``grad`` is
    ``(N, k, dim_out)``; ``x(name)`` is ``(N, 1)``. Build it with :func:`make_derivatives`.
    """

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        names: Sequence[str],
        engine: str = "auto",
        pairs: Sequence[Sequence[str]] = (),
        order: int = 2,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown derivative engine {engine!r}; allowed values: {ENGINES}")
        if not isinstance(x, Tensor):
            raise ValueError(f"x must be a torch.Tensor of shape (N, C), got {type(x).__name__}")
        names = (names,) if isinstance(names, str) else tuple(names)
        if x.dim() != 2 or x.shape[1] != len(names):
            raise ValueError(
                f"x must have shape (N, {len(names)}) for coordinates {names}, got {tuple(x.shape)}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"coordinate names must be unique, got {names}")
        if isinstance(order, bool) or not isinstance(order, int) or order < 0:
            raise ValueError(f"order must be an integer >= 0, got {order!r}")
        self.model = model
        self.names: tuple[str, ...] = names
        self.coords: Tensor = (x if engine == "func" or x.requires_grad
                               else x.detach().requires_grad_(True))
        self._x_given = x
        self.pairs: tuple[tuple[int, int], ...] = tuple(
            tuple(sorted((self._index(a), self._index(b))))
            for a, b in pairs  # type: ignore[misc]
        )
        self._order = order
        self._value: Tensor | None = None
        self._jet: Jet | None = None
        self._jet_x: Jet | None = None  # for autograd fallbacks under the jets engine
        self._jet_pair_index: dict[tuple[int, int], int] = {}
        self._first: dict[int, Tensor] = {}  # j -> (N, C): d u_j / dx_c
        self._second: dict[tuple[int, int], Tensor] = {}  # (a, j) -> (N, C): d2 u_j / dx_a dx_c
        self._jac_x: Tensor | None = None  # func: (N, dim_out, C)
        self._hess_x: Tensor | None = None  # func: (N, dim_out, C, C)
        self._higher: dict[tuple[int, int], Tensor] = {}  # (c, n) -> (N, dim_out), n >= 3

        has_jet = callable(getattr(model, "forward_jet", None))
        if engine == "jets" and not has_jet:
            raise ValueError(
                f"engine='jets' needs a model with forward_jet; {type(model).__name__} has none "
                "(use engine='autograd' or 'auto')"
            )
        if engine == "func":
            self.engine = "func"
        else:
            self.engine = ("jets" if engine == "jets" or (engine == "auto" and has_jet)
                           else "autograd")
        if self.engine == "jets" and order >= 1:
            try:
                self._build_jet(order)
            except NotImplementedError:
                if engine == "jets":
                    raise
                self.engine = "autograd"
        tape = active_tape()
        if tape is not None and self.engine in ("autograd", "func"):
            tape.mark_unsupported(f"derivatives by engine {self.engine!r} (not recorded)")

    # ------------------------------------------------------------------------------- public
    @property
    def value(self) -> Tensor:
        """``u`` ``(N, dim_out)``."""
        if self._value is None:
            if self._jet is None and self.engine == "jets" and active_tape() is not None:
                # a tape records jets, not value passes: a first-derivative jet (cheap)
                self._build_jet(1)
            if self._jet is not None:
                self._value = self._jet.value
            else:
                # the jets engine never differentiates the value with respect to x (its
                # derivatives come from the jet), so the model may take a once-differentiable
                # fast path (the native KAN pass) on an input that needs no gradient
                x = self.coords.detach() if self.engine == "jets" else self.coords
                # func: PyTorch layers only (torch.func transforms follow)
                layers = twice_differentiable() if self.engine == "func" else nullcontext()
                with torch.enable_grad(), layers:
                    out = self.model(x)
                if out.dim() != 2 or out.shape[0] != self.coords.shape[0]:
                    raise ValueError(
                        f"model output must have shape (N, dim_out), got {tuple(out.shape)}"
                    )
                self._value = out
        return self._value

    @property
    def dim_out(self) -> int:
        return self.value.shape[1]

    def x(self, name: str) -> Tensor:
        """The coordinate column ``name`` ``(N, 1)`` (for coefficients such as ``a(x, y)``).

        A constant (no autograd graph) unless the ``x`` given to the constructor requires
        grad: a source term ``f(x, y)`` then adds nothing to the backward pass.
        """
        c = self._index(name)
        return self._x_given[:, c : c + 1]

    def d(self, name: str) -> Tensor:
        """``du/d name`` ``(N, dim_out)``."""
        c = self._index(name)
        if self.engine == "jets":
            return self._ensure_jet().d1[:, c, :]
        if self.engine == "func":
            return self._func_first()[:, :, c]
        return torch.stack([self._first_row(j)[:, c] for j in range(self.dim_out)], dim=1)

    def d2(self, a: str, b: str | None = None) -> Tensor:
        """``d^2 u / (d a d b)`` ``(N, dim_out)``; ``b`` defaults to ``a``."""
        ia = self._index(a)
        ib = ia if b is None else self._index(b)
        ia, ib = min(ia, ib), max(ia, ib)
        if self.engine == "jets":
            jet = self._ensure_jet()
            p = self._jet_pair_index.get((ia, ib))
            if p is not None:
                return jet.d2[:, p, :]
        if self.engine == "func":
            return self._func_second()[:, :, ia, ib]
        return torch.stack([self._second_row(ia, j)[:, ib] for j in range(self.dim_out)], dim=1)

    def dn(self, name: str, n: int) -> Tensor:
        """``d^n u / d name^n`` ``(N, dim_out)`` for ``n >= 1`` (``d`` and ``d2`` for 1 and 2).

        Orders above two are reverse-mode passes over the second derivative (the autograd
        engine's, or under the jets engine the autograd derivative of the twice-differentiable
        jet's first derivative), one per order and component; the func engine nests ``n``
        forward-mode derivatives of ``s -> g(x + s e_name)`` per point. Cached."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"derivative order must be an integer >= 1, got {n!r}")
        if n <= 2:
            return self.d(name) if n == 1 else self.d2(name)
        c = self._index(name)
        if (c, n) not in self._higher:
            if self.engine == "func":
                self._higher[(c, n)] = self._func_directional(c, n)
            else:
                tape = active_tape()
                if tape is not None:
                    tape.mark_unsupported(f"derivative of order {n} along {name!r} by autograd")
                lower = (torch.stack([self._second_row(c, j)[:, c] for j in range(self.dim_out)],
                                     dim=1) if n == 3 else self.dn(name, n - 1))
                with torch.enable_grad():
                    self._higher[(c, n)] = torch.stack(
                        [_grad(lower[:, j], self.coords)[:, c] for j in range(self.dim_out)],
                        dim=1)
        return self._higher[(c, n)]

    def laplacian(self, names: Sequence[str] | None = None) -> Tensor:
        """``sum_c d^2 u / d c^2`` over ``names`` (default: every coordinate but ``"t"``)."""
        names = self._names_or_spatial(names)
        out = self.d2(names[0])
        for n in names[1:]:
            out = out + self.d2(n)
        return out

    def grad(self, names: Sequence[str] | None = None) -> Tensor:
        """``(du/d c)_c`` over ``names`` (default: all coordinates): ``(N, k, dim_out)``."""
        names = self.names if names is None else tuple(names)
        return torch.stack([self.d(n) for n in names], dim=1)

    # ----------------------------------------------------------------------------- internal
    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown coordinate {name!r}; known: {self.names}") from None

    def _names_or_spatial(self, names: Sequence[str] | None) -> tuple[str, ...]:
        if names is None:
            names = tuple(n for n in self.names if n != "t")
        names = tuple(names)
        if not names:
            raise ValueError("laplacian needs at least one coordinate")
        return names

    def _build_jet(self, order: int) -> None:
        c = len(self.names)
        prs: list[tuple[int, int]] = []
        if order >= 2:
            prs = [(i, i) for i in range(c)] + [p for p in self.pairs if p[0] != p[1]]
        with torch.enable_grad():  # x itself needs no gradient: the jet carries d/dx
            jet = self.model.forward_jet(Jet.seed(self.coords.detach(), prs))
        n = self.coords.shape[0]
        if jet.value.dim() != 2 or jet.value.shape[0] != n or jet.d1.shape[1] != c:
            raise ValueError(
                f"forward_jet returned value {tuple(jet.value.shape)}, d1 {tuple(jet.d1.shape)}; "
                f"expected (N={n}, dim_out) and (N, C={c}, dim_out)"
            )
        self._jet = jet
        self._jet_pair_index = {p: i for i, p in enumerate(jet.pairs)}
        if self._value is None:
            self._value = jet.value

    def _ensure_jet(self) -> Jet:
        if self._jet is None:
            self._build_jet(2)
        assert self._jet is not None
        return self._jet

    def _row_function(self):
        """``g: x_n (C,) -> u_n (dim_out,)``, the model on one row (func engine)."""
        model = self.model

        def g(z: Tensor) -> Tensor:
            return model(z.unsqueeze(0))[0]

        return g

    def _func_first(self) -> Tensor:
        """``d u_j / d x_c`` ``(N, dim_out, C)`` by ``vmap(jacfwd(g))``, cached."""
        if self._jac_x is None:
            with torch.enable_grad(), twice_differentiable():
                self._jac_x = torch.func.vmap(torch.func.jacfwd(self._row_function()))(
                    self.coords)
        return self._jac_x

    def _func_second(self) -> Tensor:
        """``d^2 u_j / d x_a d x_b`` ``(N, dim_out, C, C)`` by ``vmap(jacfwd(jacfwd(g)))``
        (every pair in one pass; ``C`` forward tangents of ``C`` tangents), cached."""
        if self._hess_x is None:
            g = self._row_function()
            with torch.enable_grad(), twice_differentiable():
                self._hess_x = torch.func.vmap(torch.func.jacfwd(torch.func.jacfwd(g)))(
                    self.coords)
        return self._hess_x

    def _func_directional(self, c: int, n: int) -> Tensor:
        """``d^n/ds^n g(x_i + s e_c)`` at ``s = 0`` ``(N, dim_out)`` by nested ``jacfwd``."""
        g = self._row_function()
        e = torch.zeros(len(self.names), dtype=self.coords.dtype, device=self.coords.device)
        e[c] = 1.0

        def along(s: Tensor, z: Tensor) -> Tensor:
            return g(z + s * e)

        f = along
        for _ in range(n):
            f = torch.func.jacfwd(f, argnums=0)
        s0 = torch.zeros((), dtype=self.coords.dtype, device=self.coords.device)
        with torch.enable_grad(), twice_differentiable():
            return torch.func.vmap(f, in_dims=(None, 0))(s0, self.coords)

    def _differentiable_jet(self) -> Jet:
        """First-derivative jet of the model at ``coords`` (which require grad) built with
        twice-differentiable layers (:func:`~kanpde.models.kan.fused_jet.twice_differentiable`),
        for autograd of ``d1`` with respect to ``x``; cached."""
        if self._jet_x is None:
            with torch.enable_grad(), twice_differentiable():
                self._jet_x = self.model.forward_jet(Jet.seed(self.coords, ()))
        return self._jet_x

    def _first_row(self, j: int) -> Tensor:
        """``d u_j / dx`` ``(N, C)`` (autograd engine), cached."""
        if j not in self._first:
            with torch.enable_grad():  # the column is taken in the graph (also in no_grad)
                self._first[j] = _grad(self.value[:, j], self.coords)
        return self._first[j]

    def _second_row(self, a: int, j: int) -> Tensor:
        """``d/dx (d u_j / dx_a)`` ``(N, C)``, cached; from the jet's d1 under the jets engine."""
        key = (a, j)
        if key not in self._second:
            tape = active_tape()
            if tape is not None:
                tape.mark_unsupported(
                    f"second derivative ({self.names[a]}, .) by autograd of a jet (declare it "
                    "in Problem.mixed_derivatives)"
                )
            with torch.enable_grad():  # slices in the graph (also in no_grad)
                if self.engine == "jets":
                    first = self._differentiable_jet().d1[:, a, j]
                else:
                    first = self._first_row(j)[:, a]
                self._second[key] = _grad(first, self.coords)
        return self._second[key]


def _grad(out: Tensor, x: Tensor) -> Tensor:
    """``d out / d x`` for a per-row scalar ``out`` ``(N,)``: ``(N, C)`` with a graph."""
    if not out.requires_grad:
        return torch.zeros_like(x)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def make_derivatives(
    model: nn.Module,
    x: Tensor,
    names: Sequence[str],
    engine: str = "auto",
    pairs: Sequence[Sequence[str]] = (),
    order: int = 2,
) -> Derivatives:
    """Derivative accessor of ``model`` at ``x`` ``(N, C)``; see the module docstring.

    Args:
        model: maps ``(N, C)`` to ``(N, dim_out)`` row by row.
        x: points ``(N, C)``; columns named by ``names``.
        names: the ``C`` coordinate names.
        engine: ``"auto"`` | ``"autograd"`` | ``"jets"`` | ``"func"``.
        pairs: mixed second derivatives the jet should carry, as name pairs, e.g.
            ``(("x", "t"),)``; others fall back to autograd.
        order: the highest derivative order the caller needs (a hint for the jets engine).
    """
    return Derivatives(model, x, names, engine=engine, pairs=pairs, order=order)
