"""The training history: one row per evaluation, every key a column of equal length.

A key that first appears in a later row is filled with NaN for the rows before it, and a
key missing from a row gets NaN there, so every column has one value per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def append_row(history: dict[str, list[float]], row: Mapping[str, float]) -> None:
    """Append ``row`` to ``history`` (in place)."""
    n = len(history.get("step", next(iter(history.values()), [])))
    for key, value in row.items():
        history.setdefault(key, [math.nan] * n).append(value)
    for column in history.values():
        if len(column) == n:  # absent from this row
            column.append(math.nan)
