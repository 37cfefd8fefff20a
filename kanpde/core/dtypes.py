"""The floating-point types a solve may run in, by their config names (``dtype: float64``).

Imports torch (import this module by name, as :mod:`kanpde.core.jet`)."""

from __future__ import annotations

import torch

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}
