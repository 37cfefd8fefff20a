"""Where kanpde keeps what it computes once: reference solutions and built native kernels."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$KANPDE_CACHE`` or ``~/.cache/kanpde`` (not created here)."""
    env = os.environ.get("KANPDE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "kanpde"
