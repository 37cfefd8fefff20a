"""kanpde.core.atomic: the one atomic writer (every file a reader may see goes through it)."""

from __future__ import annotations

import pytest

from kanpde.core.atomic import atomic_path, write_text


def test_success_replaces_the_destination_and_leaves_no_temporary(tmp_path):
    dest = tmp_path / "sub" / "a.txt"
    write_text(dest, "first")
    write_text(dest, "second")
    assert dest.read_text() == "second"
    assert [p.name for p in dest.parent.iterdir()] == ["a.txt"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    dest = tmp_path / "a.txt"
    write_text(dest, "old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_the_temporary_keeps_the_requested_suffix_beside_the_destination(tmp_path):
    dest = tmp_path / "fig.png"
    with atomic_path(dest, suffix=".tmp.png") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp.png")
        assert tmp.name.startswith(".fig.png.")
        tmp.write_bytes(b"png")
    assert dest.read_bytes() == b"png"
