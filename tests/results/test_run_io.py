"""Round trip, validation, atomicity and error handling of kanpde.results (run.h5)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import kanpde
from kanpde.core import atomic
from kanpde.results import ALLOWED_STATUS, SCHEMA_VERSION, environment_versions, read_run, write_run
from kanpde.results.tensors import load_state_dict_tensors


def _line(c: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(3 * c[:, 0]), c[:, 0] ** 2], axis=1)  # (n, 2)


# --------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", ["1d", "2d"])
def test_round_trip_every_field(tmp_path: Path, synth, dtype, case) -> None:
    if case == "1d":
        axes = [("x", np.linspace(-1.0, 1.0, 33))]
        u = _line
    else:  # non-alphabetical order, to check that the axis order is kept
        axes = [("y", np.linspace(0.0, 1.0, 6)), ("x", np.linspace(0.0, 2.0, 9))]
        u = synth.sinsin
    kw = synth.run_kwargs(
        axes, u, dtype=dtype, seed=None, tags=["a", "béta"], widths=[2, 5, 1], flag=True,
        lr=1e-3, note="ünïcode",
    )  # fmt: skip
    kw["final"]["rel_h1"] = float("nan")
    kw["extra"] = {"edges": {"x": np.linspace(-1, 1, 40)[:, None], "phi": np.ones((40, 1, 3))}}
    path = write_run(tmp_path / "run.h5", **kw)
    assert path == tmp_path / "run.h5"

    rec = read_run(path)
    assert rec.path == path
    assert rec.config == kw["config_yaml"]
    assert rec.attrs["config"] == kw["config_yaml"]
    assert rec.status == "completed"
    for key in ("device", "dtype", "n_params", "wall_time_s", "problem", "model"):
        assert rec.attrs[key] == kw["attrs"][key]
        assert type(rec.attrs[key]) is type(kw["attrs"][key])
    assert rec.attrs["seed"] is None
    assert rec.attrs["tags"] == ["a", "béta"]
    assert rec.attrs["widths"] == [2, 5, 1]
    assert rec.attrs["flag"] is True
    assert rec.attrs["lr"] == 1e-3
    assert rec.attrs["note"] == "ünïcode"
    assert rec.attrs["message"] == ""
    assert rec.attrs["kanpde_version"] == kanpde.__version__
    assert rec.attrs["schema_version"] == SCHEMA_VERSION
    assert set(rec.versions) == {"python", "torch", "numpy", "scipy", "h5py", "platform"}
    assert rec.versions["h5py"] == h5py.__version__

    assert list(rec.history) == list(kw["history"])  # written order kept
    for key, arr in kw["history"].items():
        assert rec.history[key].dtype == arr.dtype
        np.testing.assert_array_equal(rec.history[key], arr)

    assert set(rec.final) == {"rel_l2", "mse", "max_abs", "rel_h1"}
    assert rec.final["rel_l2"] == 0.0123 and np.isnan(rec.final["rel_h1"])

    ev = kw["eval_fields"]
    assert set(rec.eval) == {"coords", "u_pred", "u_ref", "error"}
    for key in ("coords", "u_pred", "u_ref"):
        assert rec.eval[key].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(rec.eval[key], ev[key])
    np.testing.assert_array_equal(rec.eval["error"], ev["u_pred"] - ev["u_ref"])
    assert rec.eval["error"].dtype == np.dtype(dtype)

    names = [n for n, _ in axes]
    assert list(rec.axes) == names and rec.coord_names == names
    for name, a in axes:
        np.testing.assert_array_equal(rec.axes[name], a.astype(dtype))
    mesh = np.meshgrid(*rec.axes.values(), indexing="ij")
    np.testing.assert_array_equal(np.stack(mesh, -1).reshape(-1, len(axes)), rec.eval["coords"])

    state = kw["model_state"]
    assert list(rec.model_state) == list(state)  # dots in names kept, order kept
    assert "0.weight" in rec.model_state
    for key, t in state.items():
        np.testing.assert_array_equal(rec.model_state[key], t.numpy())
    assert rec.model_info == kw["model_info"]

    assert set(rec.extra) == {"edges"}
    np.testing.assert_array_equal(rec.extra["edges"]["x"], kw["extra"]["edges"]["x"])
    np.testing.assert_array_equal(rec.extra["edges"]["phi"], kw["extra"]["edges"]["phi"])


@pytest.mark.parametrize("tdtype", [torch.float64, torch.float32])
def test_state_dict_reload_restores_the_model(tmp_path: Path, synth, tdtype) -> None:
    model = synth.small_model(2, 1, tdtype)
    model.register_buffer("scalar", torch.tensor(2.5, dtype=tdtype))
    model.register_buffer("bf16", torch.tensor([1.5, -3.0], dtype=torch.bfloat16))
    model.register_buffer("count", torch.tensor([7], dtype=torch.int64))
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 4))], _line)
    kw["model_state"] = model.state_dict()
    rec = read_run(write_run(tmp_path / "run.h5", **kw))

    tensors = load_state_dict_tensors(rec)
    for key, t in model.state_dict().items():
        assert tensors[key].dtype == t.dtype, key
        assert tensors[key].shape == t.shape, key
        torch.testing.assert_close(tensors[key], t, rtol=0, atol=0)
    fresh = synth.small_model(2, 1, tdtype)
    fresh.register_buffer("scalar", torch.tensor(0.0, dtype=tdtype))
    fresh.register_buffer("bf16", torch.zeros(2, dtype=torch.bfloat16))
    fresh.register_buffer("count", torch.zeros(1, dtype=torch.int64))
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    fresh.load_state_dict(tensors)
    x = torch.linspace(-1, 1, 10, dtype=tdtype).reshape(5, 2)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_error_given_is_kept_and_extra_eval_arrays_round_trip(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 5))], _line)
    custom = np.full((5, 2), 7.0)
    kw["eval_fields"]["error"] = custom
    kw["eval_fields"]["residual"] = np.arange(5.0)
    rec = read_run(write_run(tmp_path / "run.h5", **kw))
    np.testing.assert_array_equal(rec.eval["error"], custom)
    np.testing.assert_array_equal(rec.eval["residual"], np.arange(5.0))


def test_axes_as_eval_field_keys_and_scattered_eval(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("t", np.linspace(0, 1, 3)), ("x", np.linspace(0, 1, 4))], synth.heat1d)
    axes = kw.pop("eval_axes")
    for name, a in axes:
        kw["eval_fields"][f"axes/{name}"] = a
    rec = read_run(write_run(tmp_path / "a.h5", **kw))
    assert list(rec.axes) == ["t", "x"] and rec.coord_names == ["t", "x"]

    # no grid: scattered points with coordinate names only
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 5))], _line)
    kw.pop("eval_axes")
    rec = read_run(write_run(tmp_path / "b.h5", **kw, coord_names=["x"]))
    assert rec.axes == {} and rec.coord_names == ["x"]


def test_empty_history_and_eval(tmp_path: Path, synth) -> None:
    rec = read_run(
        write_run(
            tmp_path / "run.h5",
            config_yaml="",
            attrs=synth.base_attrs(status="interrupted", message="stopped by user"),
            history={"step": np.zeros(0, dtype=np.int64), "loss": np.zeros(0)},
            final={},
            eval_fields={},
            model_state={},
        )
    )
    assert rec.status == "interrupted" and rec.attrs["message"] == "stopped by user"
    assert rec.history["loss"].shape == (0,)
    assert rec.final == {} and rec.eval == {} and rec.axes == {} and rec.model_state == {}
    assert rec.extra == {} and rec.model_info == {}


def test_large_datasets_are_compressed(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs(
        [("x", np.linspace(0, 1, 20)), ("y", np.linspace(0, 1, 20))], synth.sinsin
    )
    kw["model_state"] = {"w": torch.ones(300, dtype=torch.float64), "b": torch.ones(3)}
    path = write_run(tmp_path / "run.h5", **kw)
    with h5py.File(path, "r") as f:
        assert f["eval/u_pred"].compression == "gzip"
        assert f["model/w"].compression == "gzip"
        assert f["model/b"].compression is None
        assert f.attrs["config"] == kw["config_yaml"]
        assert h5py.check_string_dtype(f.attrs.get_id("config").dtype).encoding == "utf-8"


def test_overwrite_replaces_the_file(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 5))], _line, status="running")
    write_run(tmp_path / "run.h5", **kw)
    kw["attrs"]["status"] = "completed"
    kw["final"]["rel_l2"] = 0.5
    write_run(tmp_path / "run.h5", **kw)
    rec = read_run(tmp_path / "run.h5")
    assert rec.status == "completed" and rec.final["rel_l2"] == 0.5
    assert sorted(os.listdir(tmp_path)) == ["run.h5"]


def test_parent_directory_is_created(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 5))], _line)
    path = write_run(tmp_path / "a" / "b" / "run.h5", **kw)
    assert read_run(path).status == "completed"


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _kw(synth):
    return synth.run_kwargs([("x", np.linspace(0, 1, 5))], _line)


def test_every_allowed_status_is_accepted(tmp_path: Path, synth) -> None:
    for status in ALLOWED_STATUS:
        kw = _kw(synth)
        kw["attrs"]["status"] = status
        assert read_run(write_run(tmp_path / f"{status}.h5", **kw)).status == status


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda kw: kw["attrs"].update(status="finished"), r"'finished'.*completed.*diverged"),
        (lambda kw: kw["attrs"].pop("n_params"), r"n_params"),
        (lambda kw: kw["attrs"].pop("status"), r"status"),
        (lambda kw: kw["attrs"].update(n_params=-1), r"n_params"),
        (lambda kw: kw["attrs"].update(seed=1.5), r"seed"),
        (lambda kw: kw["attrs"].update(wall_time_s=float("nan")), r"wall_time_s"),
        (lambda kw: kw["attrs"].update(device=""), r"device"),
        (lambda kw: kw["attrs"].update(config="x"), r"config"),
        (lambda kw: kw["attrs"].update(options={"a": 1}), r"attrs\['options'\].*dict"),
        (lambda kw: kw["attrs"].update(versions="{not json"), r"versions"),
        (lambda kw: kw.update(config_yaml={"a": 1}), r"config_yaml"),
        (lambda kw: kw["history"].update(loss=np.ones(3)), r"history\['loss'\].*length 3"),
        (lambda kw: kw["history"].update(lr=np.ones((12, 2))), r"history\['lr'\].*1-D"),
        (lambda kw: kw["history"].update({"a/b": np.ones(12)}), r"a/b"),
        (lambda kw: kw["final"].update(rel_l2="small"), r"final\['rel_l2'\]"),
        (lambda kw: kw["eval_fields"].update(u_ref=np.ones((5, 3))), r"equal shapes"),
        (lambda kw: kw["eval_fields"].update(u_pred=np.ones(5)), r"u_pred.*2-D"),
        (lambda kw: kw["eval_fields"].update(u_pred=np.ones((4, 2))), r"u_pred.*4 rows"),
        (lambda kw: kw["eval_fields"].update(coords=np.ones((5, 1))), r"meshgrid"),
        (lambda kw: kw.update(eval_axes=[("x", np.linspace(0, 1, 4))]), r"span 4 points"),
        (lambda kw: kw.update(coord_names=["t"]), r"coord_names"),
        (lambda kw: kw.update(extra={"eval": {"a": np.ones(2)}}), r"'eval'.*reserved"),
        (lambda kw: kw.update(extra={"e": {"a": np.array([None, 1])}}), r"extra.*dtype object"),
        (lambda kw: kw.update(model_info={"class": "K", "f": object()}), r"model_info"),
    ],
)
def test_invalid_arguments_raise_and_write_nothing(tmp_path: Path, synth, mutate, match) -> None:
    kw = _kw(synth)
    mutate(kw)
    with pytest.raises(ValueError, match=match):
        write_run(tmp_path / "run.h5", **kw)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------
# Atomicity
# --------------------------------------------------------------------------------------


def test_failure_mid_write_keeps_previous_file(tmp_path: Path, synth) -> None:
    path = tmp_path / "run.h5"
    write_run(path, **_kw(synth))
    before = path.read_bytes()

    kw = _kw(synth)
    kw["attrs"]["status"] = "running"
    # a meta tensor cannot be copied to the CPU: fails after the other groups were written
    kw["model_state"] = {**kw["model_state"], "zz": torch.empty(3, device="meta")}
    with pytest.raises((NotImplementedError, RuntimeError)):
        write_run(path, **kw)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.h5"]
    assert read_run(path).status == "completed"

    kw = _kw(synth)
    kw["attrs"]["bad"] = object()  # non-serialisable attr
    with pytest.raises(ValueError, match="bad"):
        write_run(path, **kw)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.h5"]


def test_interrupt_during_write_removes_temp_file(tmp_path: Path, synth, monkeypatch) -> None:
    path = tmp_path / "run.h5"
    write_run(path, **_kw(synth))
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "fsync_path", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run(path, **_kw(synth))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.h5"]


def test_temp_file_is_complete_and_in_the_same_directory(tmp_path: Path, synth, monkeypatch):
    seen: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src, dst):
        src, dst = Path(src), Path(dst)
        assert read_run(src).status == "completed"  # fully written before the rename
        seen.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    path = write_run(tmp_path / "run.h5", **_kw(synth))
    assert len(seen) == 1
    src, dst = seen[0]
    assert dst == path and src.parent == path.parent and src != path
    assert os.listdir(tmp_path) == ["run.h5"]


# --------------------------------------------------------------------------------------
# Reading bad files
# --------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        read_run(tmp_path / "nope.h5")


def test_garbage_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.h5"
    bad.write_bytes(b"this is not an HDF5 file" * 10)
    with pytest.raises(OSError, match="garbage.h5"):
        read_run(bad)


def test_truncated_file(tmp_path: Path, synth) -> None:
    path = write_run(tmp_path / "run.h5", **_kw(synth))
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError, match="cut.h5"):
        read_run(cut)


def test_hdf5_file_that_is_not_a_run(tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    with pytest.raises(ValueError, match=r"other.h5.*not a kanpde run file.*config"):
        read_run(other)
    with h5py.File(other, "a") as f:
        f.attrs["config"] = ""
        f.attrs["status"] = "completed"
    with pytest.raises(ValueError, match=r"other.h5.*group 'history'"):
        read_run(other)


def test_versions_attr_is_json(tmp_path: Path, synth) -> None:
    path = write_run(tmp_path / "run.h5", **_kw(synth))
    with h5py.File(path, "r") as f:
        versions = json.loads(f.attrs["versions"])
    assert versions == environment_versions()


def test_reading_a_run_needs_no_torch(tmp_path: Path, synth) -> None:
    """kanpde.results reads run.h5 in a process that never imports torch."""
    import subprocess
    import sys

    model = synth.small_model(2, 1, torch.float64)
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 4))], _line)
    kw["model_state"] = model.state_dict()
    path = write_run(tmp_path / "run.h5", **kw)
    code = ("import sys; from kanpde.results import read_run; "
            f"rec = read_run({str(path)!r}); "
            "assert rec.model_state and 'torch' not in sys.modules, sorted(sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


_KILLED_WRITER = """
import os, sys, time, torch
from kanpde.results import write as kio
kw = torch.load(sys.argv[2], weights_only=False)
real = kio._create_dataset
def slow(*args, **kwargs):  # the temp file is half written when the marker appears
    out = real(*args, **kwargs)
    open(sys.argv[3], "w").close()
    time.sleep(60)
    return out
kio._create_dataset = slow
kio.write_run(sys.argv[1], **kw)
"""


def test_killed_during_write_the_previous_file_stays_readable(tmp_path: Path, synth) -> None:
    """SIGKILL of a process in the middle of writing run.h5: the previous file is intact, the
    half-written temp file is not taken for a run, and the next write succeeds."""
    import signal
    import subprocess
    import sys
    import time

    from kanpde.report.runs import find_run_files

    path = tmp_path / "run.h5"
    write_run(path, **_kw(synth))
    before = path.read_bytes()
    kw = _kw(synth)
    kw["attrs"]["status"] = "interrupted"
    torch.save(kw, tmp_path / "kw.pt")
    marker = tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path),
                             str(tmp_path / "kw.pt"), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    temps = [p for p in tmp_path.iterdir() if p.name.startswith(".run.h5.")]
    assert len(temps) == 1 and temps[0].stat().st_size > 0  # killed mid-write
    assert path.read_bytes() == before
    rec = read_run(path)
    assert rec.status == "completed"
    assert find_run_files([tmp_path]) == [path]
    write_run(path, **kw)
    assert read_run(path).status == "interrupted"
