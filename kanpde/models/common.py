"""Shared argument checks and the local random generator of every model constructor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor


def make_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A CPU generator: ``seed`` itself, seeded with ``seed``, or non-deterministically seeded.

    Never touches torch's global RNG.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed={seed!r} must be an int, a torch.Generator or None")
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be an integer >= 1")
    return value


def check_widths(widths: Sequence[int], argument: str = "widths") -> list[int]:
    """Validate a width list ``[dim_in, ..., dim_out]`` (>= 2 entries, each an int >= 1)."""
    if isinstance(widths, (str, bytes)):
        raise ValueError(f"{argument}={widths!r} must be a list of positive ints")
    try:
        widths = list(widths)  # lists, tuples, OmegaConf ListConfig
    except TypeError:
        raise ValueError(f"{argument}={widths!r} must be a list of positive ints") from None
    if len(widths) < 2:
        raise ValueError(
            f"{argument}={widths!r} must list at least the input and output widths "
            "([dim_in, ..., dim_out])"
        )
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ValueError(f"{argument}={widths!r}: every width must be an integer >= 1")
    return [int(w) for w in widths]


def check_input_width(x: Tensor, width: int, model: str) -> None:
    """ValueError unless ``x`` is ``(N, width)``."""
    if x.dim() != 2 or x.shape[1] != width:
        raise ValueError(
            f"{model} expects input of shape (N, {width}) (widths[0]={width}), "
            f"got {tuple(x.shape)}"
        )


def check_range(grid_range: Sequence[float]) -> tuple[float, float]:
    """``(lo, hi)`` from ``grid_range``; ValueError unless two numbers with ``lo < hi``."""
    try:
        lo, hi = (float(v) for v in grid_range)
    except (TypeError, ValueError):
        raise ValueError(f"grid_range={grid_range!r} must be two numbers (lo, hi)") from None
    if not lo < hi:
        raise ValueError(f"grid_range={grid_range!r} must satisfy lo < hi")
    return lo, hi


class HasWidths:
    """``dim_in`` and ``dim_out`` of a model with ``widths = [dim_in, ..., dim_out]``."""

    widths: list[int]

    @property
    def dim_in(self) -> int:
        return self.widths[0]

    @property
    def dim_out(self) -> int:
        return self.widths[-1]
