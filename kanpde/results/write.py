"""Writing ``run.h5`` atomically (:func:`write_run`) and adding a group to one (:func:`add_group`).

Both write a temporary file in the destination directory, flush and fsync it, then rename
it over the destination (:func:`os.replace`): a reader sees the previous complete file or
the new complete file, never a partial one; on any error the temporary file is removed and
the previous file is left untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from kanpde.core.atomic import atomic_path
from kanpde.results.schema import COMPRESS_MIN_SIZE, RESERVED_GROUPS, STR_DTYPE
from kanpde.results.validate import (
    attr_value,
    check_name,
    is_tensor,
    numeric_array,
    validate_eval,
    validate_extra,
    validate_final,
    validate_history,
    validate_model_info,
    validate_model_state,
    validate_root_attrs,
)


def _create_dataset(group: h5py.Group, name: str, data: np.ndarray, compress: bool) -> h5py.Dataset:
    kwargs: dict[str, Any] = {}
    if compress and data.ndim >= 1 and data.size >= COMPRESS_MIN_SIZE:
        kwargs = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    return group.create_dataset(name, data=data, **kwargs)


def state_to_numpy(name: str, value: Any) -> tuple[np.ndarray, str]:
    """A state_dict entry as a CPU numpy array plus its original torch dtype name."""
    if is_tensor(value):
        t = value.detach()
        torch_dtype = str(t.dtype).removeprefix("torch.")
        if torch_dtype == "bfloat16":
            t = t.float()  # numpy has no bfloat16; exact widening
        return t.cpu().numpy(), torch_dtype
    arr = numeric_array(value, f"model_state[{name!r}]")
    return arr, ""


def _write_contents(
    f: h5py.File,
    root_attrs: dict[str, Any],
    history: dict[str, np.ndarray],
    final: dict[str, float],
    fields: dict[str, np.ndarray],
    axes: list[tuple[str, np.ndarray]],
    coord_names: list[str] | None,
    model_state: Mapping[str, Any],
    model_class: str,
    model_description: str,
    extra: dict[str, dict[str, Any]],
) -> None:
    for key, value in root_attrs.items():
        if isinstance(value, str):
            f.attrs.create(key, value, dtype=STR_DTYPE)
        else:
            f.attrs[key] = value

    g = f.create_group("history", track_order=True)
    for key, arr in history.items():
        g.create_dataset(key, data=arr)

    g = f.create_group("final", track_order=True)
    for key, value in final.items():
        g.attrs[key] = np.float64(value)

    g = f.create_group("eval", track_order=True)
    for key, arr in fields.items():
        _create_dataset(g, key, arr, compress=True)
    if coord_names is not None:
        g.attrs["coord_names"] = np.array(coord_names, dtype=STR_DTYPE)
    if axes:
        ga = g.create_group("axes", track_order=True)
        ga.attrs["names"] = np.array([n for n, _ in axes], dtype=STR_DTYPE)
        for name, arr in axes:
            ga.create_dataset(name, data=arr)

    g = f.create_group("model", track_order=True)
    g.attrs.create("class", model_class, dtype=STR_DTYPE)
    g.attrs.create("description", model_description, dtype=STR_DTYPE)
    for key, value in model_state.items():
        arr, torch_dtype = state_to_numpy(key, value)
        ds = _create_dataset(g, key, arr, compress=True)
        ds.attrs.create("torch_dtype", torch_dtype, dtype=STR_DTYPE)

    for group, datasets in extra.items():
        g = f.create_group(group, track_order=True)
        for name, value in datasets.items():
            arr = numeric_array(value, f"extra[{group!r}][{name!r}]")
            _create_dataset(g, name, arr, compress=True)


def write_run(
    path: str | os.PathLike[str],
    *,
    config_yaml: str,
    attrs: Mapping[str, Any],
    history: Mapping[str, Any],
    final: Mapping[str, Any],
    eval_fields: Mapping[str, Any],
    model_state: Mapping[str, Any],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    eval_axes: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    coord_names: Sequence[str] | None = None,
    model_info: Mapping[str, Any] | None = None,
) -> Path:
    """Write one run to ``path`` (``run.h5``) atomically and return ``Path(path)``.

    Args:
        path: destination file; its parent directory is created when missing.
        config_yaml: the resolved config as YAML text (root attr ``config``).
        attrs: root attributes. Required: device, dtype, problem, model (non-empty str),
            seed (int or None), n_params (int >= 0), wall_time_s (float >= 0), status (one
            of :data:`ALLOWED_STATUS`). Optional: message (str, default ""), kanpde_version
            and versions (dict or JSON text; both filled in when absent), and any other
            None / bool / int / float / str attr or flat sequence of numbers or strings.
        history: key -> 1-D numeric array, all of the same length ``T`` (may be 0).
        final: metric name -> float (NaN allowed, e.g. for a diverged run).
        eval_fields: coords (n, dim_in), u_pred (n, dim_out), u_ref (n, dim_out), optional
            error (n, dim_out) (computed as u_pred - u_ref when absent) and any other
            numeric arrays. Grid axes may also be given here as keys ``"axes/<name>"``.
        model_state: a ``state_dict()``: name -> tensor (copied to CPU numpy).
        extra: group -> {name: array}, e.g. ``{"edges": {"x": (M, in), "phi": (M, in, out)}}``.
        eval_axes: ordered (name, 1-D array) pairs (e.g. ``problem.test_axes()``) or a dict;
            coords must equal ``stack(meshgrid(*axes, indexing="ij"), -1).reshape(n, dim_in)``.
        coord_names: names of the coordinate columns (taken from eval_axes when given).
        model_info: JSON-able model description; ``model_info["class"]`` (str) becomes the
            ``model`` group's ``class`` attr, the whole mapping its ``description`` JSON text.

    Raises:
        ValueError: on any invalid argument (naming it); nothing is written then.
        Any error raised while writing propagates after the temporary file is removed; an
        existing file at ``path`` is then left unchanged.
    """
    dest = Path(path)
    root_attrs = validate_root_attrs(config_yaml, attrs)
    hist = validate_history(history)
    fin = validate_final(final)
    fields, axes, names = validate_eval(eval_fields, eval_axes, coord_names)
    state = validate_model_state(model_state)
    extras = validate_extra(extra)
    model_class, model_description = validate_model_info(model_info)

    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp, h5py.File(tmp, "x", track_order=True) as f:
        _write_contents(
            f, root_attrs, hist, fin, fields, axes, names, state,
            model_class, model_description, extras,
        )  # fmt: skip
        f.flush()
    return dest


def add_group(
    path: str | os.PathLike[str],
    group: str,
    datasets: Mapping[str, Any],
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Add (or replace) the extra group ``/<group>`` of an existing run file, atomically.

    ``datasets``: name -> numeric array; ``attrs``: name -> None / bool / int / float / str
    or a flat sequence (as root attrs). The file is copied to a temporary file beside it,
    the group written there, and the copy renamed over ``path`` (:func:`os.replace`): a reader
    sees the old or the new file, never a partial one. The schema groups (history, final,
    eval, model) cannot be replaced.
    """
    import shutil

    dest = Path(path)
    if not dest.is_file():
        raise FileNotFoundError(f"run file {str(dest)!r} does not exist")
    check_name(group, "group")
    if group in RESERVED_GROUPS:
        raise ValueError(f"group {group!r} is part of the run schema; use another name")
    data = validate_extra({group: datasets})[group]
    plain = {check_name(k, "attrs key"): attr_value(v, f"attrs[{k!r}]")
             for k, v in (attrs or {}).items()}
    with atomic_path(dest) as tmp:
        shutil.copyfile(dest, tmp)
        with h5py.File(tmp, "r+") as f:
            if group in f:
                del f[group]
            g = f.create_group(group, track_order=True)
            for key, value in plain.items():
                if isinstance(value, str):
                    g.attrs.create(key, value, dtype=STR_DTYPE)
                else:
                    g.attrs[key] = value
            for name, value in data.items():
                _create_dataset(g, name, numeric_array(value, f"datasets[{name!r}]"),
                                compress=True)
            f.flush()
    return dest
