"""On-disk cache of reference solutions.

``cached(name, params, compute)`` returns the arrays ``compute()`` produces, stored after the
first call as ``<cache dir>/<name>-<key>.npz``. The key is a SHA-256 digest of ``name`` and
every parameter (JSON with sorted keys, floats written exactly), so changing any parameter
(or the solver's ``version`` entry) gives a new file. The cache directory is ``$KANPDE_CACHE``
when set, else ``~/.cache/kanpde``. Writes are atomic (a temporary file in the same directory,
then ``os.replace``), so concurrent runs never read a partial file; an unreadable file is
recomputed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kanpde.core.atomic import atomic_path
from kanpde.core.paths import cache_dir

_PARAMS_KEY = "__params__"


def cache_key(name: str, params: Mapping[str, Any]) -> str:
    """Hex digest (24 characters) of ``name`` and ``params``."""
    text = json.dumps({"name": name, "params": _plain(params)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_path(name: str, params: Mapping[str, Any]) -> Path:
    return cache_dir() / f"{name}-{cache_key(name, params)}.npz"


def cached(
    name: str,
    params: Mapping[str, Any],
    compute: Callable[[], Mapping[str, np.ndarray]],
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """The arrays of ``compute()``, read from / written to the cache (see module docstring)."""
    if not name or any(c in name for c in "/\\"):
        raise ValueError(f"cache name must be a non-empty file-name stem, got {name!r}")
    if not use_cache:
        return {k: np.asarray(v) for k, v in compute().items()}
    path = cache_path(name, params)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files if k != _PARAMS_KEY}
        except (OSError, ValueError, KeyError, EOFError):
            pass  # unreadable (e.g. truncated by a crash before atomic writes): recompute
    arrays = {k: np.asarray(v) for k, v in compute().items()}
    if _PARAMS_KEY in arrays:
        raise ValueError(f"array name {_PARAMS_KEY!r} is reserved")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        meta = json.dumps({"name": name, "params": _plain(params)}, sort_keys=True)
        np.savez(f, **arrays, **{_PARAMS_KEY: np.array(meta)})
    return arrays


def _plain(obj: Any) -> Any:
    """JSON-able copy of parameters: numpy scalars to Python, tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float):
        return repr(obj)  # exact round-trip text, and nan/inf stay valid JSON strings
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    raise ValueError(f"cache parameter of type {type(obj).__name__} is not supported: {obj!r}")


def cached_at(
    name: str,
    params: Mapping[str, Any],
    coords: np.ndarray,
    compute: Callable[[np.ndarray], np.ndarray],
    use_cache: bool = True,
) -> np.ndarray:
    """A reference at scattered points ``coords`` ``(n, d)``: ``compute(coords)``, cached
    under ``params`` plus the points' count, first and last rows (and recomputed when the
    stored points differ from ``coords``)."""
    coords = np.asarray(coords, dtype=np.float64)
    key = {**params, "points": len(coords), "first": coords[:1], "last": coords[-1:]}
    data = cached(name, key, lambda: {"x": coords, "u": compute(coords)}, use_cache)
    if data["x"].shape != coords.shape or not np.allclose(data["x"], coords, atol=1e-12):
        return np.asarray(compute(coords))
    return data["u"]
