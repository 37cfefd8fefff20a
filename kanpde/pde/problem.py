"""The Problem base class: a PDE on a domain with conditions, a residual and a reference.

A problem is the PDE ``R[u](x) = 0`` on ``domain`` plus conditions ``B_k[u] = 0`` on parts
of its boundary. ``domain`` is any :class:`~kanpde.pde.geometry.domain.Domain` (kept as
``problem.geometry``): a box, a planar shape (disk, polygon, set operations), an n-D solid
(balls, boxes and their set operations) or a space-time domain over one of them, whose
interior points are drawn in it, whose conditions live on its boundary and whose test set is
the grid points of its bounding box inside it (no test grid: ``test_axes()`` is empty).
``problem.domain`` is the bounding box (what the model is scaled to). Its PINN loss is

    L(theta) = w_residual * mean_i |R[u_theta](x_i)|^2 + sum_k w_k * mean_j |B_k[u_theta](x_kj)|^2

with one term per condition (named by the condition) and weights :attr:`Problem.loss_weights`
(1.0 for every term unless the problem or the constructor says otherwise).

A subclass calls ``super().__init__(domain, conditions, ...)`` and implements
:meth:`residual` against the derivative accessor (``u.value``, ``u.d("x")``, ``u.d2("x")``,
``u.laplacian()``, ``u.x("x")``); it provides :meth:`exact` when a closed form exists, or
overrides :meth:`reference` to compute a reference solution on the test grid.

Collocation (``sample_points``): ``n_interior`` points in the domain for the residual;
``n_boundary`` points shared by the conditions on spatial faces in proportion to the measure
of the faces each one samples (a periodic condition samples only its low face; each of its
points is a pair); ``n_initial`` points (default ``n_boundary``) shared by the initial-slice
conditions. The points of every term are drawn with an independent seed derived from
``seed``; the rows of a data term (observations) are fixed.

Inverse problems: :meth:`Problem.add_observations` adds measured values as a loss term
(:mod:`kanpde.pde.observations`); :meth:`Problem.learn` makes coefficients the problem lists
in :attr:`Problem.learnable` trainable (:mod:`kanpde.pde.coefficients`).
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.pde.conditions import Condition
from kanpde.pde.derivatives import Derivatives, make_derivatives
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.inverse import InverseProblem
from kanpde.pde.sampling import Sampler, make_sampler, seed_children, split_count

log = logging.getLogger("kanpde")


class Problem(InverseProblem, ABC):
    """Base class of every PDE problem (see the module docstring).

    Class attributes a subclass may set:
        name: short name of the problem family.
        variants: the allowed values of the ``variant`` constructor argument.
        mixed_derivatives: mixed second derivatives the residual uses, as name pairs (the
            jets engine then propagates them; others fall back to autograd).
        residual_order: the highest derivative order in the residual (orders above 2 through
            ``Derivatives.dn``).
        constrained_terms: the loss terms that :meth:`output_transform` satisfies exactly.
        test_shape: points per axis of the default test grid (one int per coordinate).
        linear: True when every residual (PDE and conditions) is affine in the solution and
            its derivatives, and :meth:`output_transform` affine in the network output
            (what Gauss-Newton's variable projection needs).
        output_names: names of the output components (e.g. ("u", "v", "p")), used by figures;
            empty: ``u`` or ``u[j]``.
        scored_outputs: the output columns the test metrics score (None: all; a mixed
            formulation's auxiliary outputs are not part of the solution).
        learnable: names of the scalar coefficients (float attributes) that :meth:`learn`
            may make trainable; the residual reads them through :meth:`coef`.
    """

    name: str = "problem"
    variants: tuple[str, ...] = ()
    mixed_derivatives: tuple[tuple[str, str], ...] = ()
    residual_order: int = 2
    constrained_terms: tuple[str, ...] = ()
    test_shape: tuple[int, ...] | None = None
    linear: bool = False
    output_names: tuple[str, ...] = ()
    scored_outputs: tuple[int, ...] | None = None

    def __init__(
        self,
        domain: Domain,
        conditions: Sequence[Condition],
        *,
        dim_out: int = 1,
        loss_weights: Mapping[str, float] | None = None,
        default_loss_weights: Mapping[str, float] | None = None,
    ) -> None:
        if not isinstance(domain, Domain):
            raise ValueError("domain must be a kanpde.pde.Domain (a Box, a planar Shape, a Solid, "
                             f"a SpaceTime), got {type(domain).__name__}")
        self.geometry: Domain = domain
        # a domain that is not its bounding box (a shape, a solid with holes): its test points
        # are the grid points of its bounds inside it
        self.shape: Domain | None = None if domain.fills_bounds else domain
        domain = domain.bounds
        if isinstance(dim_out, bool) or int(dim_out) != dim_out or dim_out < 1:
            raise ValueError(f"dim_out must be a positive integer, got {dim_out!r}")
        conditions = list(conditions)
        names = [c.name for c in conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"condition names must be unique, got {names}")
        for c in conditions:
            if c.box != domain:
                raise ValueError(f"condition {c.name!r} lives on {c.box}, not on {domain}")
        self.domain = domain
        self.conditions = conditions
        self.dim_out = int(dim_out)
        weights = {t: 1.0 for t in self.terms}
        for source in (default_loss_weights, loss_weights):
            for k, v in (source or {}).items():
                if k not in weights:
                    raise ValueError(
                        f"loss_weights has unknown term {k!r}; allowed terms: {self.terms}"
                    )
                v = float(v)
                if not (math.isfinite(v) and v >= 0):
                    raise ValueError(f"loss_weights[{k!r}] must be finite and >= 0, got {v}")
                weights[k] = v
        self.loss_weights: dict[str, float] = weights
        self._test_set: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------------ description
    @property
    def dim_in(self) -> int:
        return self.domain.dim

    @property
    def names(self) -> tuple[str, ...]:
        return self.domain.names

    @property
    def terms(self) -> list[str]:
        """Loss terms: ``"residual"`` then each condition's name."""
        return ["residual"] + [c.name for c in self.conditions]

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        known = [c.name for c in self.conditions]
        raise ValueError(f"unknown condition {name!r}; conditions: {known}")

    # ------------------------------------------------------------------------ mathematics
    @abstractmethod
    def residual(self, u: Derivatives) -> Tensor:
        """The PDE residual ``R[u]`` at the accessor's points: ``(N, n_eq)`` (or ``(N,)``)."""

    def exact(self, x: Tensor) -> Tensor | None:
        """The exact solution at ``x`` ``(N, dim_in)``: ``(N, dim_out)``; None when unknown."""
        return None

    def exact_gradient(self, x: Tensor) -> Tensor | None:
        """``du/dx`` of the exact solution: ``(N, dim_in, dim_out)``; None when unknown.

        The default differentiates :meth:`exact` with autograd. An ``exact`` that autograd
        cannot follow (computed with numpy, tabulated, or detached) has no known gradient:
        None, with one log line (the H1 metric is then not reported).
        """
        xr = x.detach().requires_grad_(True)
        with torch.enable_grad():
            try:
                u = self.exact(xr)
            except (RuntimeError, TypeError) as err:  # e.g. numpy() on a tensor with grad
                return _no_gradient(self, f"exact() failed on a tensor that requires grad ({err})")
            if u is None:
                return None
            if not isinstance(u, Tensor) or not u.requires_grad:
                return _no_gradient(self, "exact() does not depend on x through autograd")
            cols = []
            for j in range(u.shape[1]):
                (g,) = torch.autograd.grad(u[:, j].sum(), xr, retain_graph=True, allow_unused=True)
                cols.append(torch.zeros_like(xr) if g is None else g)
        return torch.stack(cols, dim=2).detach()

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor | None:
        """Optional hard constraint: the constrained output from the network's ``u``.

        Returns None (the default) when the problem has no hard-constraint form; see
        :class:`kanpde.pde.HardConstraint`. ``x`` ``(N, dim_in)``, ``u`` ``(N, dim_out)``.
        """
        return None

    @property
    def has_output_transform(self) -> bool:
        probe = torch.zeros(1, self.dim_in, dtype=torch.float64)
        return (
            self.output_transform(probe, torch.zeros(1, self.dim_out, dtype=torch.float64))
            is not None
        )

    # ------------------------------------------------------------------------ test set
    def test_axes(self) -> list[tuple[str, np.ndarray]]:
        """The 1-D axes of the test grid, in domain name order.

        Test coordinates are ``meshgrid(*axes, indexing="ij")`` flattened in C order, so
        ``u_ref.reshape([len(a) for _, a in axes] + [dim_out])`` is the field on the grid.
        The default is ``test_shape`` (101 per axis when unset) equispaced points per axis.
        A problem on a domain that is not a box has no test grid (``[]``): its test points are the
        grid points of its bounding box that lie in the shape.
        """
        if self.shape is not None:
            return []
        shape = self.test_shape or (101,) * self.dim_in
        if len(shape) != self.dim_in:
            raise ValueError(f"test_shape {shape} needs one entry per coordinate {self.names}")
        return list(zip(self.names, self.domain.grid_axes(shape), strict=True))

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """``(coords (n, dim_in), u_ref (n, dim_out))`` float64 on the test grid (cached).

        Returns copies, so callers may modify them.
        """
        if self._test_set is None and self.shape is not None:
            counts = self.test_shape or (101,) * self.dim_in
            mesh = np.meshgrid(*self.domain.grid_axes(counts), indexing="ij")
            grid = np.stack([m.ravel() for m in mesh], axis=1).astype(np.float64)
            coords = grid[self.shape.contains(grid)]
            u_ref = np.asarray(self.reference_at(coords), dtype=np.float64)
            self._test_set = (coords, u_ref.reshape(coords.shape[0], self.dim_out))
        if self._test_set is None:
            axes = [a for _, a in self.test_axes()]
            mesh = np.meshgrid(*axes, indexing="ij")
            coords = np.stack([m.ravel() for m in mesh], axis=1).astype(np.float64)
            u_ref = np.asarray(self.reference(axes), dtype=np.float64)
            u_ref = u_ref.reshape(coords.shape[0], self.dim_out)
            self._test_set = (coords, u_ref)
        return self._test_set[0].copy(), self._test_set[1].copy()

    def reference(self, axes: Sequence[np.ndarray]) -> np.ndarray:
        """The reference solution on the grid ``meshgrid(*axes, indexing="ij")``.

        Returns ``(n, dim_out)`` in the flattened grid order. The default evaluates
        :meth:`exact` in float64; problems without a closed form override this.
        """
        mesh = np.meshgrid(*axes, indexing="ij")
        x = torch.as_tensor(np.stack([m.ravel() for m in mesh], axis=1), dtype=torch.float64)
        u = self.exact(x)
        if u is None:
            raise ValueError(
                f"{type(self).__name__} has no exact solution; it must override reference()"
            )
        return u.detach().cpu().numpy()

    def reference_at(self, coords: np.ndarray) -> np.ndarray:
        """The reference solution at scattered points ``(n, dim_in)``: ``(n, dim_out)``
        (the test set of a problem on a shape). The default evaluates :meth:`exact`."""
        u = self.exact(torch.as_tensor(coords, dtype=torch.float64))
        if u is None:
            raise ValueError(
                f"{type(self).__name__} has no exact solution; it must override reference_at()"
            )
        return u.detach().cpu().numpy()

    # ------------------------------------------------------------------------ collocation
    def sample_points(
        self,
        sampler: Sampler | str,
        n_interior: int,
        n_boundary: int,
        seed: int | None = None,
        n_initial: int | None = None,
    ) -> dict[str, Tensor]:
        """Collocation points per loss term: ``{"residual": (n_interior, d), name: (m, d)}``.

        Float64 CPU tensors. See the module docstring for how the counts are split; a
        periodic condition's rows are points on its low face (each stands for a pair).
        """
        sampler = make_sampler(sampler)
        n_initial = n_boundary if n_initial is None else n_initial
        seeds = seed_children(seed, 1 + sum(c.kind != "data" for c in self.conditions))
        out = {"residual": self.geometry.sample_interior(n_interior, seeds[0], sampler)}
        counts: dict[str, int] = {}
        for kind, n in (("boundary", n_boundary), ("initial", n_initial)):
            group = [c for c in self.conditions if c.kind == kind]
            if group:
                for c, m in zip(group, split_count(n, [c.measure for c in group]), strict=True):
                    counts[c.name] = m
        data = [c for c in self.conditions if c.kind == "data"]  # fixed rows, no seed
        for c, s in zip([c for c in self.conditions if c.kind != "data"], seeds[1:],
                        strict=True):
            out[c.name] = c.sample(sampler, counts[c.name], s)
        for c in data:
            out[c.name] = c.sample()
        return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in out.items()}

    # ------------------------------------------------------------------------ losses
    def pointwise(
        self, model: nn.Module, points: Mapping[str, Tensor], engine: str = "auto"
    ) -> dict[str, Tensor]:
        """Pointwise residual of each term present in ``points``: ``{term: (M, k)}``.

        The model maps physical coordinates ``(N, dim_in)`` to ``(N, dim_out)`` and is
        evaluated once per point set. Points are cast to the model's dtype and device.
        Terms missing from ``points`` are skipped (e.g. pass only ``"residual"`` to score RAD
        candidates); unknown keys raise ValueError.
        """
        unknown = [k for k in points if k not in self.terms]
        if unknown:
            raise ValueError(f"points has unknown terms {unknown}; allowed terms: {self.terms}")
        dtype, device = _model_dtype_device(model)
        out: dict[str, Tensor] = {}
        for term, pts in points.items():
            x = torch.as_tensor(pts).to(dtype=dtype, device=device)
            c = None if term == "residual" else self.condition(term)
            width = self.dim_in + (0 if c is None else c.payload_columns)
            if x.dim() != 2 or x.shape[1] != width:
                raise ValueError(
                    f"points[{term!r}] must have shape (N, {width}), got {tuple(x.shape)}"
                )
            if c is None:
                u = make_derivatives(
                    model,
                    x,
                    self.names,
                    engine=engine,
                    pairs=self.mixed_derivatives,
                    order=self.residual_order,
                )
                r = self.residual(u)
            else:
                u = make_derivatives(
                    model,
                    c.eval_points(x[:, : self.dim_in]),
                    self.names,
                    engine=engine,
                    pairs=self.mixed_derivatives,
                    order=c.order,
                )
                r = c.term_residual(u, x[:, self.dim_in :])
            out[term] = r.unsqueeze(1) if r.dim() == 1 else r
        return out

    def losses(
        self, model: nn.Module, points: Mapping[str, Tensor], engine: str = "auto"
    ) -> dict[str, Tensor]:
        """Mean square of each term's pointwise residual: ``{term: scalar}`` (unweighted)."""
        return {k: (r**2).mean() for k, r in self.pointwise(model, points, engine).items()}

    def weighted_loss(
        self, losses: Mapping[str, Tensor], weights: Mapping[str, float] | None = None
    ) -> Tensor:
        """``sum_t w_t L_t`` with ``weights`` (default :attr:`loss_weights`)."""
        w = self.loss_weights if weights is None else weights
        total = None
        for k, v in losses.items():
            term = w[k] * v
            total = term if total is None else total + term
        if total is None:
            raise ValueError("losses is empty")
        return total

    def __repr__(self) -> str:
        variant = getattr(self, "variant", None)
        v = f"variant={variant!r}, " if variant is not None else ""
        return f"{type(self).__name__}({v}domain={self.domain})"


def check_variant(cls: type[Problem], variant: str) -> str:
    """``variant`` when it is one of ``cls.variants``, else ValueError listing them."""
    if variant not in cls.variants:
        raise ValueError(
            f"unknown {cls.__name__} variant {variant!r}; allowed values: {', '.join(cls.variants)}"
        )
    return variant


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """``float(value)`` if finite and > 0 (>= 0 with ``allow_zero``), else ValueError."""
    try:
        v = float(value)
    except (TypeError, ValueError):  # not a number: refused below, naming the key
        v = math.nan
    if not (math.isfinite(v) and (v >= 0 if allow_zero else v > 0)):
        raise ValueError(f"{name} must be finite and {('>', '>=')[allow_zero]} 0, got {value!r}")
    return v


def _model_dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            return t.dtype, t.device
    return torch.float64, torch.device("cpu")


def _no_gradient(problem: Problem, why: str) -> None:
    """Says (once per problem class) that the exact gradient, so rel_h1, is unknown."""
    if type(problem) not in _NO_GRADIENT_SAID:
        _NO_GRADIENT_SAID.add(type(problem))
        log.info("%s: %s; rel_h1 is not reported (exact_gradient() can provide the gradient)",
                 type(problem).__name__, why)


_NO_GRADIENT_SAID: set[type] = set()
