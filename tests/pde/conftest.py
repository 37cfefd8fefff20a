"""Fixtures of the kanpde.pde tests (the jet test network lives in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test writes reference caches into its own temporary directory."""
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path / "kanpde-cache"))
