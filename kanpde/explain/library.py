"""The library of univariate functions ``g`` for symbolic edges ``a * g(b * x + c) + d``.

Each entry has the same function three ways (numpy for fitting, torch for fine-tuning on
the PDE loss, sympy for the formula), a complexity (used to rank fits of similar quality,
lower is simpler) and its domain: ``"all"``, ``"positive"`` (``z > 0``: log),
``"nonnegative"`` (``z >= 0``: sqrt) or ``"nonzero"`` (``1/x``). ``"0"`` is the zero edge.

    name       g(z)          complexity        name       g(z)          complexity
    0          0             0                 sin        sin z         2
    x          z             1                 cos        cos z         2
    x^2        z^2           2                 tanh       tanh z        3
    x^3        z^3           3                 log        log z         2
    x^4        z^4           3                 sqrt       sqrt z        2
    exp        e^z           2                 abs        |z|           3
    1/x        1/z           2                 gaussian   e^{-z^2}      3
    sigmoid    1/(1+e^-z)    3                 arctan     atan z        3
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
import torch


@dataclass(frozen=True)
class LibraryFunction:
    """One library entry (see the module docstring)."""

    name: str
    numpy: Callable[[np.ndarray], np.ndarray]
    torch: Callable[[torch.Tensor], torch.Tensor]
    sympy: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    domain: str = "all"

    def valid(self, z: np.ndarray) -> np.ndarray:
        """Bool array: where ``z`` lies in the domain (with a margin away from the edge)."""
        if self.domain == "positive":
            return z > 1e-8
        if self.domain == "nonnegative":
            return z >= 0
        if self.domain == "nonzero":
            return np.abs(z) > 1e-8
        return np.isfinite(z)


def _np_sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


_ENTRIES = [
    LibraryFunction("0", np.zeros_like, torch.zeros_like, lambda z: sympy.Integer(0), 0),
    LibraryFunction("x", lambda z: z, lambda z: z, lambda z: z, 1),
    LibraryFunction("x^2", np.square, torch.square, lambda z: z**2, 2),
    LibraryFunction("x^3", lambda z: z**3, lambda z: z**3, lambda z: z**3, 3),
    LibraryFunction("x^4", lambda z: z**4, lambda z: z**4, lambda z: z**4, 3),
    LibraryFunction("exp", np.exp, torch.exp, sympy.exp, 2),
    LibraryFunction("sin", np.sin, torch.sin, sympy.sin, 2),
    LibraryFunction("cos", np.cos, torch.cos, sympy.cos, 2),
    LibraryFunction("tanh", np.tanh, torch.tanh, sympy.tanh, 3),
    LibraryFunction("log", np.log, torch.log, sympy.log, 2, "positive"),
    LibraryFunction("sqrt", np.sqrt, torch.sqrt, sympy.sqrt, 2, "nonnegative"),
    LibraryFunction("abs", np.abs, torch.abs, sympy.Abs, 3),
    LibraryFunction("1/x", np.reciprocal, torch.reciprocal, lambda z: 1 / z, 2, "nonzero"),
    LibraryFunction("gaussian", lambda z: np.exp(-z * z), lambda z: torch.exp(-z * z),
                    lambda z: sympy.exp(-(z**2)), 3),
    LibraryFunction("sigmoid", _np_sigmoid, torch.sigmoid, lambda z: 1 / (1 + sympy.exp(-z)), 3),
    LibraryFunction("arctan", np.arctan, torch.atan, sympy.atan, 3),
]

LIBRARY: dict[str, LibraryFunction] = {f.name: f for f in _ENTRIES}


def get_functions(names: Sequence[str] | None = None) -> list[LibraryFunction]:
    """Library entries by name (all when ``names`` is None); unknown names raise ValueError."""
    if names is None:
        return list(_ENTRIES)
    out = []
    for name in names:
        if name not in LIBRARY:
            raise ValueError(f"function {name!r} is not in the library; allowed: {list(LIBRARY)}")
        out.append(LIBRARY[name])
    if not out:
        raise ValueError(f"functions is empty; allowed: {list(LIBRARY)}")
    return out
