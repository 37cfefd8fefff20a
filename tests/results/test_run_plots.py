"""Figures from synthetic run.h5 files (kanpde.figures)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from kanpde.figures import (
    edges_figure,
    error_figure,
    figures,
    grid_fields,
    loss_figure,
    main,
    map_orientation,
    plane,
    slices_figure,
    solution_figure,
)
from kanpde.results import read_run, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path: Path) -> None:
    """A real, non-blank PNG image."""
    assert path.read_bytes()[:8] == PNG_MAGIC
    img = mpimg.imread(path)  # (H, W, 4) floats in [0, 1]
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].std()) > 0.01  # something is drawn


def _names(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _pcolor_data(ax) -> np.ndarray:
    """The (n_v, n_h) array drawn by the first pcolormesh of an axes."""
    mesh = ax.collections[0]
    n_v, n_h = (k - 1 for k in mesh.get_coordinates().shape[:2])  # cell corners -> cells
    return np.ma.getdata(mesh.get_array()).reshape(n_v, n_h)


# --------------------------------------------------------------------------------------
# Orientation helpers
# --------------------------------------------------------------------------------------


def test_map_orientation() -> None:
    assert map_orientation(("t", "x")) == (1, 0)
    assert map_orientation(("x", "t")) == (0, 1)
    assert map_orientation(("x", "y")) == (0, 1)
    assert map_orientation(("y", "x")) == (0, 1)
    with pytest.raises(ValueError, match="2 coordinate names"):
        map_orientation(("x", "y", "t"))


def test_plane() -> None:
    a = np.arange(6.0).reshape(2, 3)  # ij grid: axis0 has 2 points, axis1 has 3
    np.testing.assert_array_equal(plane(a, 0, 1), a.T)  # axis0 horizontal -> (3, 2)
    np.testing.assert_array_equal(plane(a, 1, 0), a)
    with pytest.raises(ValueError):
        plane(a, 0, 0)


# --------------------------------------------------------------------------------------
# Full figure sets
# --------------------------------------------------------------------------------------


def test_two_d_xy(tmp_path: Path, synth) -> None:
    x, y = np.linspace(0, 1, 11), np.linspace(0, 2, 7)
    kw = synth.run_kwargs([("x", x), ("y", y)], synth.sinsin)
    kw["history"]["rel_h1"] = 2 * kw["history"]["rel_l2"]
    path = write_run(tmp_path / "run.h5", **kw)
    out = figures(path)
    assert _names(out) == ["loss.png", "error.png", "solution.png"]
    for p in out:
        assert p.parent == tmp_path
        _check_png(p)

    rec = read_run(path)
    fig = solution_figure(rec)
    axes = [ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]
    assert [ax.get_xlabel() for ax in axes] == ["x", "x", "x"]
    assert [ax.get_ylabel() for ax in axes] == ["y", "y", "y"]
    z = _pcolor_data(axes[0])  # prediction (n_y, n_x)
    assert z.shape == (7, 11)
    pred = kw["eval_fields"]["u_pred"][:, 0].reshape(11, 7)  # ij: (n_x, n_y)
    np.testing.assert_allclose(z, pred.T, rtol=0, atol=0)
    ref = synth.sinsin(synth.grid_coords([("x", x), ("y", y)]))[:, 0].reshape(11, 7)
    np.testing.assert_allclose(_pcolor_data(axes[1]), ref.T, rtol=0, atol=0)
    np.testing.assert_allclose(_pcolor_data(axes[2]), np.abs(pred - ref).T, rtol=0, atol=1e-15)

    err = error_figure(rec)
    assert [ax.get_xlabel() for ax in err.axes] == ["step", "wall time [s]"]
    assert all(len(ax.lines) == 2 for ax in err.axes)  # rel_l2 and rel_h1


@pytest.mark.parametrize("order", [("t", "x"), ("x", "t")])
def test_space_time_maps_put_x_horizontal(tmp_path: Path, synth, order) -> None:
    t, x = np.linspace(0, 0.5, 6), np.linspace(0, 1, 13)
    grid = {"t": t, "x": x}

    def u(c: np.ndarray) -> np.ndarray:
        tc, xc = c[:, order.index("t")], c[:, order.index("x")]
        return (np.exp(-(np.pi**2) * tc) * np.sin(np.pi * xc))[:, None]

    kw = synth.run_kwargs([(n, grid[n]) for n in order], u, problem="heat")
    path = write_run(tmp_path / "run.h5", **kw)
    out = figures(path, out_dir=tmp_path / "figs")
    assert _names(out) == ["loss.png", "error.png", "solution.png", "slices.png"]
    for p in out:
        assert p.parent == tmp_path / "figs"
        _check_png(p)

    rec = read_run(path)
    fig = solution_figure(rec)
    maps = [ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]
    assert len(maps) == 3
    for ax in maps:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "t")
    # row k of the drawn prediction is time t[k], column m is x[m]
    z = _pcolor_data(maps[1])  # reference
    expected = np.exp(-(np.pi**2) * t)[:, None] * np.sin(np.pi * x)[None, :]
    np.testing.assert_allclose(z, expected, rtol=0, atol=1e-15)

    sl = slices_figure(rec)
    assert len(sl.axes) == 4
    for ax, tk in zip(sl.axes, t[[0, 2, 3, 5]], strict=True):
        assert ax.get_title() == f"t = {tk:.3g}"
        ref = ax.lines[1]
        np.testing.assert_allclose(ref.get_xdata(), x)
        np.testing.assert_allclose(ref.get_ydata(), np.exp(-(np.pi**2) * tk) * np.sin(np.pi * x))


def test_three_d_xyt(tmp_path: Path, synth) -> None:
    x, y, t = np.linspace(0, 1, 9), np.linspace(0, 1, 8), np.linspace(0, 0.1, 5)
    kw = synth.run_kwargs([("x", x), ("y", y), ("t", t)], synth.heat2d)
    path = write_run(tmp_path / "run.h5", **kw)
    out = figures(path)
    assert _names(out) == ["loss.png", "error.png", "solution.png"]
    for p in out:
        _check_png(p)

    fig = solution_figure(read_run(path))
    maps = [ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]
    assert len(maps) == 9  # (pred, ref, |err|) x (first, middle, last t)
    titles = [ax.get_title() for ax in maps[3:6]]
    assert titles == [f"reference u, t = {tk:.3g}" for tk in (t[0], t[2], t[4])]
    for ax, k in zip(maps[3:6], (0, 2, 4), strict=True):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
        expected = np.exp(-2 * np.pi**2 * t[k]) * np.outer(np.sin(np.pi * y), np.sin(np.pi * x))
        np.testing.assert_allclose(_pcolor_data(ax), expected, rtol=0, atol=1e-15)


def test_one_d_and_multi_output(tmp_path: Path, synth) -> None:
    x = np.linspace(-1, 1, 50)

    def u(c: np.ndarray) -> np.ndarray:
        return np.stack([np.sin(3 * c[:, 0]), np.cos(c[:, 0])], axis=1)

    path = write_run(tmp_path / "run.h5", **synth.run_kwargs([("x", x)], u))
    out = figures(path)
    assert _names(out) == ["loss.png", "error.png", "solution.png"]
    fig = solution_figure(read_run(path))
    assert len(fig.axes) == 4  # 2 components x (values, |error|)
    np.testing.assert_allclose(fig.axes[2].lines[1].get_ydata(), np.cos(x))


def test_scattered_points_without_axes(tmp_path: Path, synth) -> None:
    rng = np.random.default_rng(0)
    coords = rng.uniform(size=(200, 2))
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 3)), ("y", np.linspace(0, 1, 2))], synth.sinsin)
    kw.pop("eval_axes")
    u = synth.sinsin(coords)
    kw["eval_fields"] = {"coords": coords, "u_pred": u + 0.01, "u_ref": u}
    path = write_run(tmp_path / "run.h5", **kw, coord_names=["x", "y"])
    out = figures(path)
    assert "solution.png" in _names(out)
    _check_png(tmp_path / "solution.png")


def test_edges(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 9)), ("y", np.linspace(0, 1, 9))], synth.sinsin)
    m, n_in, n_out = 64, 2, 5
    xs = np.stack([np.linspace(-1, 1, m), np.linspace(1, -1, m)], axis=1)  # (M, in)
    phi = np.stack(
        [
            np.stack([np.sin((j + 1) * xs[:, i]) + i for j in range(n_out)], axis=1)
            for i in range(n_in)
        ],
        axis=1,
    )  # (M, in, out)
    kw["extra"] = {"edges": {"x": xs, "phi": phi}}
    path = write_run(tmp_path / "run.h5", **kw)
    out = figures(path)
    assert _names(out) == ["loss.png", "error.png", "solution.png", "edges.png"]
    _check_png(tmp_path / "edges.png")

    fig = edges_figure(read_run(path))
    assert len(fig.axes) == n_in * n_out
    for i in range(n_in):
        for j in range(n_out):
            line = fig.axes[i * n_out + j].lines[0]
            xd = np.asarray(line.get_xdata())
            assert np.all(np.diff(xd) >= 0)  # sorted by x
            np.testing.assert_allclose(line.get_ydata(), np.sin((j + 1) * xd) + i, atol=1e-14)


def test_diverged_run_with_nans(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs(
        [("x", np.linspace(0, 1, 9)), ("y", np.linspace(0, 1, 9))], synth.sinsin,
        status="diverged", message="loss became NaN at step 40",
    )  # fmt: skip
    h = kw["history"]
    for key in h:
        if key.startswith("loss"):
            h[key] = h[key].copy()
            h[key][5:] = np.nan
    h["rel_l2"] = np.full_like(h["rel_l2"], np.nan)
    kw["final"] = {"rel_l2": np.nan, "mse": np.nan, "max_abs": np.nan}
    kw["eval_fields"]["u_pred"] = np.full_like(kw["eval_fields"]["u_pred"], np.nan)
    path = write_run(tmp_path / "run.h5", **kw)

    out = figures(path)
    assert _names(out) == ["loss.png"]  # only the finite part of the loss curves
    _check_png(out[0])
    fig = loss_figure(read_run(path))
    ax = fig.axes[0]
    assert "(diverged)" in ax.get_title()
    assert all(len(line.get_xdata()) == 5 for line in ax.lines if line.get_label() != "grid change")


def test_nothing_to_plot(tmp_path: Path, synth) -> None:
    path = write_run(
        tmp_path / "run.h5",
        config_yaml="",
        attrs=synth.base_attrs(status="interrupted"),
        history={"step": np.zeros(0, dtype=np.int64), "loss": np.zeros(0)},
        final={},
        eval_fields={},
        model_state={},
    )
    assert figures(path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


def test_loss_figure_terms_and_grid_changes(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 5))], lambda c: c[:, :1] ** 2, n_hist=10)
    rec = read_run(write_run(tmp_path / "run.h5", **kw))
    ax = loss_figure(rec).axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["total", "residual", "bc", "grid change"]
    assert ax.get_yscale() == "log"
    assert ax.lines[-1].get_xdata()[0] == 50  # grid_size changes from 5 to 10 at row 5


def test_grid_fields_shapes(tmp_path: Path, synth) -> None:
    kw = synth.run_kwargs([("t", np.linspace(0, 1, 3)), ("x", np.linspace(0, 1, 4))], synth.heat1d)
    names, axes, fields = grid_fields(read_run(write_run(tmp_path / "run.h5", **kw)))
    assert names == ["t", "x"] and [len(a) for a in axes] == [3, 4]
    assert {k: v.shape for k, v in fields.items()} == {
        k: (3, 4, 1) for k in ("u_pred", "u_ref", "error")
    }


def test_main(tmp_path: Path, synth, capsys) -> None:
    path = write_run(
        tmp_path / "run.h5", **synth.run_kwargs([("x", np.linspace(0, 1, 9))], lambda c: c[:, :1])
    )
    assert main([str(path), "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "out" / n) for n in ("loss.png", "error.png", "solution.png")]
    assert main([str(tmp_path / "missing.h5")]) == 1
    assert "missing.h5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(path), str(path), "-o", str(tmp_path)])


def test_scattered_points_in_more_coordinates_show_a_section(tmp_path: Path, synth) -> None:
    """Scattered points in (x, y, z, t): the figure shows the section at the middle z and
    the last t; the section holds exactly those points."""
    from kanpde.figures.fields import section

    g = np.linspace(0, 1, 5)
    mesh = np.meshgrid(g, g, g, np.array([0.0, 0.5, 2.0]), indexing="ij")
    coords = np.stack([m.ravel() for m in mesh], axis=1)
    coords = coords[np.hypot(coords[:, 0] - 0.5, coords[:, 1] - 0.5) <= 0.5]  # a cylinder
    mask, held = section(coords, ["x", "y", "z", "t"])
    assert held == "z=0.5, t=2" and np.all(coords[mask, 2] == 0.5)
    assert np.all(coords[mask, 3] == 2.0) and mask.sum() == (coords[:, 2:] == (0.5, 2.0)).all(
        axis=1).sum()
    kw = synth.run_kwargs([("x", np.linspace(0, 1, 3)), ("y", np.linspace(0, 1, 2))], synth.sinsin)
    kw.pop("eval_axes")
    u = synth.sinsin(coords[:, :2])
    kw["eval_fields"] = {"coords": coords, "u_pred": u + 0.01, "u_ref": u}
    path = write_run(tmp_path / "run.h5", **kw, coord_names=["x", "y", "z", "t"])
    assert "solution.png" in _names(figures(path))
    _check_png(tmp_path / "solution.png")
