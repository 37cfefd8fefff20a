"""The interface of a KAN basis: univariate functions ``B_b`` applied to every input feature.

A basis maps inputs ``x`` ``(N, in)`` to the values of its ``n`` functions on every feature,
``B[n, i, b] = B_b^{(i)}(x[n, i])`` ``(N, in, n)`` (each feature may have its own knots), and
to their first and second derivatives with respect to ``x`` (same shape). A KAN edge is a
linear combination ``sum_b c_b B_b(x_i)``.

A *locally supported* basis (B-splines) also exposes :meth:`Basis.local`: for every input only
``m = local_size`` consecutive functions ``B_{start}, ..., B_{start+m-1}`` can be non-zero;
``local`` returns ``start`` ``(N, in)``, their values/derivatives ``(N, in, order+1, m)`` and
a validity mask, so the cost of a layer can grow with ``m`` rather than with ``n``. The dense
tensors equal the valid local values scattered into ``n`` slots.
"""

from __future__ import annotations

from torch import Tensor, nn

DEFAULT_SPLINE_ORDER = 5  # k of every KAN constructor by default (the config's model=kan):
# quintic B-splines reach far lower errors than cubic ones under Gauss-Newton training on the
# smooth benchmarks at the same parameter count

class Basis(nn.Module):
    """Base class of KAN bases (see the module docstring for the shapes).

    Attributes:
        name: registry name (``"bspline"``, ``"chebyshev"``, ``"rbf"``).
        in_features: number of input features ``in``.
        n_functions: number of basis functions ``n`` per feature.
        local_size: ``m`` when at most ``m`` functions are non-zero at any input, else None.
        has_grid: True when the basis lives on a knot grid that can be extended or adapted.
    """

    name: str = "basis"
    has_grid: bool = False

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.in_features = int(in_features)

    @property
    def n_functions(self) -> int:
        raise NotImplementedError

    @property
    def local_size(self) -> int | None:
        return None

    def evaluate(self, x: Tensor, order: int = 0) -> list[Tensor]:
        """``[B, dB/dx, d2B/dx2][: order + 1]``, each ``(N, in, n)``, for ``x`` ``(N, in)``."""
        raise NotImplementedError

    def local(self, x: Tensor, order: int = 0) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(start (N, in) int64, values (N, in, order + 1, m), mask (N, in, m) bool | None)``."""
        raise NotImplementedError(f"basis {self.name!r} is not locally supported")

    def forward(self, x: Tensor) -> Tensor:
        """Basis values ``(N, in, n)`` at ``x`` ``(N, in)``."""
        return self.evaluate(x, 0)[0]

    def check_input(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (N, {self.in_features}), "
                f"got {tuple(x.shape)}"
            )

    @staticmethod
    def check_order(order: int) -> None:
        if order not in (0, 1, 2):
            raise ValueError(f"order={order!r} is not one of [0, 1, 2]")
