"""add_group: an extra group added to an existing run file atomically, replaced on repeat."""

from __future__ import annotations

import numpy as np
import pytest

from kanpde.results import add_group, read_group_attrs, read_run, write_run


def test_add_and_replace_a_group(synth, tmp_path):
    path = write_run(tmp_path / "run.h5",
                     **synth.run_kwargs([("x", np.linspace(0, 1, 5))], lambda c: c[:, :1] ** 2))
    before = read_run(path)
    add_group(path, "explain", {"score_0": np.eye(2), "mask_0": np.ones((2, 2), np.int8)},
              {"formula": "sin(pi*x)", "formula_max_abs": 1e-9, "flag": True})
    rec = read_run(path)
    np.testing.assert_array_equal(rec.extra["explain"]["score_0"], np.eye(2))
    assert rec.extra["explain"]["mask_0"].dtype == np.int8
    assert rec.final == before.final and rec.attrs["config"] == before.attrs["config"]
    np.testing.assert_array_equal(rec.eval["u_ref"], before.eval["u_ref"])
    attrs = read_group_attrs(path, "explain")
    assert attrs == {"formula": "sin(pi*x)", "formula_max_abs": 1e-9, "flag": True}
    add_group(path, "explain", {"score_0": np.zeros(3)})
    assert set(read_run(path).extra["explain"]) == {"score_0"}
    assert read_group_attrs(path, "explain") == {} and read_group_attrs(path, "none") == {}
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]  # no temporary file left


def test_add_group_bad_input(synth, tmp_path):
    path = write_run(tmp_path / "run.h5",
                     **synth.run_kwargs([("x", np.linspace(0, 1, 5))], lambda c: c[:, :1]))
    with pytest.raises(ValueError, match="schema"):
        add_group(path, "final", {"a": np.zeros(1)})
    with pytest.raises(ValueError, match="group"):
        add_group(path, "a/b", {"a": np.zeros(1)})
    with pytest.raises(ValueError, match="datasets"):
        add_group(path, "explain", {"a": np.array(["text"])})
    with pytest.raises(ValueError, match="attrs"):
        add_group(path, "explain", {}, {"bad": {"nested": 1}})
    with pytest.raises(FileNotFoundError):
        add_group(tmp_path / "missing.h5", "explain", {})
    assert "explain" not in read_run(path).extra
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]
