import os

import numpy as np
import pytest

from kanpde.pde.reference import cache_dir, cache_key, cache_path, cached


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KANPDE_CACHE")
    assert cache_dir() == cache_dir().home() / ".cache" / "kanpde"


def test_computes_once_then_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"u": np.arange(6.0).reshape(2, 3), "x": np.array([0.5])}

    a = cached("demo", {"n": 3, "dt": 1e-5}, compute)
    b = cached("demo", {"dt": 1e-5, "n": 3}, compute)  # key order does not matter
    assert len(calls) == 1
    np.testing.assert_array_equal(a["u"], b["u"])
    assert set(b) == {"u", "x"}
    assert [p.name for p in tmp_path.iterdir()] == [cache_path("demo", {"n": 3, "dt": 1e-5}).name]


def test_every_parameter_changes_the_key():
    base = {"n": 512, "dt": 1e-5, "nested": {"seed": 0, "l": 0.2}}
    keys = {
        cache_key("ac", base),
        cache_key("ac", {**base, "n": 1024}),
        cache_key("ac", {**base, "dt": 1.0000000001e-5}),
        cache_key("ac", {**base, "nested": {"seed": 1, "l": 0.2}}),
        cache_key("darcy", base),
    }
    assert len(keys) == 5


def test_unreadable_file_is_recomputed_and_no_temp_files_remain(tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))
    path = cache_path("demo", {"a": 1})
    path.write_bytes(b"truncated")
    out = cached("demo", {"a": 1}, lambda: {"v": np.ones(2)})
    np.testing.assert_array_equal(out["v"], [1.0, 1.0])
    assert os.listdir(tmp_path) == [path.name]


def test_failed_computation_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))

    def boom():
        raise RuntimeError("solver failed")

    with pytest.raises(RuntimeError):
        cached("demo", {"a": 2}, boom)
    assert not any(tmp_path.iterdir()) if tmp_path.exists() else True


def test_bad_names_and_parameters():
    with pytest.raises(ValueError, match="file-name stem"):
        cached("a/b", {}, dict)
    with pytest.raises(ValueError, match="not supported"):
        cache_key("x", {"f": object()})


def test_cached_at_scattered_points(tmp_path, monkeypatch):
    """Computed once per point set; other points (same count and ends) are recomputed, not
    served from the cache."""
    from kanpde.pde.reference import cached_at

    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))
    calls = []

    def compute(x):
        calls.append(len(x))
        return x.sum(axis=1)

    x = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 2.0]])
    np.testing.assert_array_equal(cached_at("pts", {"v": 1}, x, compute), [1.0, 1.0, 3.0])
    np.testing.assert_array_equal(cached_at("pts", {"v": 1}, x, compute), [1.0, 1.0, 3.0])
    assert calls == [3]
    y = x.copy()
    y[1] = [0.25, 0.25]  # same count, first and last row: the key matches, the points differ
    np.testing.assert_array_equal(cached_at("pts", {"v": 1}, y, compute), [1.0, 0.5, 3.0])
    assert calls == [3, 3]
