"""The ``run.h5`` schema: one HDF5 file per solve, written atomically, read back as numpy.

Layout (``n`` evaluation points, ``dim_in`` coordinates, ``dim_out`` solution components,
``T`` history rows)::

    /                 attrs: config (resolved YAML text), schema_version, kanpde_version,
                      versions (JSON text: python, torch, numpy, scipy, h5py, platform),
                      device, dtype, seed, n_params, wall_time_s,
                      status ("completed" | "diverged" | "interrupted" | "running"),
                      message, problem, model, plus any extra scalar / string attrs
    /history/<key>    (T,)  one 1-D dataset per key (step, time_s, loss, rel_l2, loss_<term>,
                      weight_<term>, lr, grid_size, ...), all of the same length
    /final            attrs: the final metrics (rel_l2, mse, max_abs, rel_h1, ...) as floats
    /eval/coords      (n, dim_in)   evaluation points
    /eval/u_pred      (n, dim_out)  model prediction
    /eval/u_ref       (n, dim_out)  reference solution
    /eval/error       (n, dim_out)  u_pred - u_ref
    /eval/axes/<name> (n_k,)  1-D grid axes, attr ``names`` (their order), such that
                      coords == stack(meshgrid(*axes, indexing="ij"), -1).reshape(n, dim_in)
    /eval             attrs: coord_names (the coordinate names, in column order)
    /model/<key>      state_dict tensors (as numpy, CPU), attr ``torch_dtype`` each;
                      group attrs: class (str), description (JSON text)
    /<group>/<name>   extra groups, e.g. /edges/x (M, in) and /edges/phi (M, in, out): the
                      sample inputs and values of the first KAN layer's edge functions
    /explain/         added later by ``kanpde-explain`` (:func:`add_group`): score_<l>,
                      mask_<l> (d_l, d_l+1) per KAN layer; attrs report (JSON text) and,
                      when composed, formula, formula_latex, formula_max_abs, formula_rel_l2

Strings are stored as UTF-8 variable-length strings; groups keep their insertion order.

:func:`write_run` writes to a temporary file in the destination directory, flushes and
fsyncs it, then renames it over the destination with :func:`os.replace`, so a reader sees
either the previous complete file or the new complete file, never a partial one; on any
error the temporary file is removed and the previous file is left untouched.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import platform
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from kanpde.core.version import __version__

__all__ = [
    "ALLOWED_STATUS",
    "REQUIRED_ATTRS",
    "SCHEMA_VERSION",
    "RunRecord",
    "add_group",
    "environment_versions",
    "load_state_dict_tensors",
    "read_group_attrs",
    "read_run",
    "write_run",
]

SCHEMA_VERSION = 1

ALLOWED_STATUS: tuple[str, ...] = ("completed", "diverged", "interrupted", "running")

#: Root attributes the caller must pass in ``attrs`` (``config`` comes from ``config_yaml``;
#: ``kanpde_version``, ``versions`` and ``message`` are filled in when absent).
REQUIRED_ATTRS: tuple[str, ...] = (
    "device",
    "dtype",
    "seed",
    "n_params",
    "wall_time_s",
    "status",
    "problem",
    "model",
)

_RESERVED_GROUPS = ("history", "final", "eval", "model")
_STR_DTYPE = h5py.string_dtype(encoding="utf-8")
_COMPRESS_MIN_SIZE = 256  # datasets with fewer elements are stored uncompressed
_NUMERIC_KINDS = "biufc"


# --------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------


def environment_versions() -> dict[str, str]:
    """Versions of Python, the numerical stack and the platform, for the ``versions`` attr."""
    out = {"python": platform.python_version()}
    for dist in ("torch", "numpy", "scipy", "h5py"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["platform"] = platform.platform()
    return out


def _kanpde_version() -> str:
    return str(__version__)


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


def _check_name(name: Any, what: str) -> str:
    """An HDF5 link name: a non-empty str without '/' and not '.'."""
    if not isinstance(name, str) or not name or "/" in name or name == ".":
        raise ValueError(
            f"{what} name {name!r} is invalid: names must be non-empty strings without '/'"
        )
    return name


def _numeric_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a numeric numpy array (bool, int, float or complex)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(
            f"{what} has dtype {arr.dtype}; allowed: bool, integer, float or complex arrays"
        )
    return arr


def _attr_value(value: Any, what: str) -> Any:
    """Convert an attribute value to something h5py stores faithfully.

    Allowed: None, bool, int, float, str (and numpy scalars), or a flat sequence of
    numbers or of strings. Anything else raises ValueError naming ``what``.
    """
    if value is None:
        return h5py.Empty("f8")
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return np.int64(value)
    if isinstance(value, numbers.Real):
        return np.float64(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value.ravel()) if isinstance(value, np.ndarray) else list(value)
        if isinstance(value, np.ndarray) and value.ndim != 1:
            raise ValueError(f"{what} must be a scalar or a 1-D sequence, got shape {value.shape}")
        if items and all(isinstance(v, str) for v in items):
            return np.array(items, dtype=_STR_DTYPE)
        if all(isinstance(v, (numbers.Real, np.bool_)) for v in items):
            arr = np.asarray(items, dtype=value.dtype if isinstance(value, np.ndarray) else None)
            if arr.dtype.kind in _NUMERIC_KINDS:
                return arr.astype(np.float64) if arr.size == 0 else arr
    raise ValueError(
        f"{what} has unsupported type {type(value).__name__}; allowed: None, bool, int, float, "
        "str or a flat sequence of numbers or strings (encode anything else as JSON text)"
    )


def _validate_root_attrs(config_yaml: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(config_yaml, str):
        raise ValueError(f"config_yaml must be a str (YAML text), got {type(config_yaml).__name__}")
    if not isinstance(attrs, Mapping):
        raise ValueError(f"attrs must be a mapping, got {type(attrs).__name__}")
    missing = [k for k in REQUIRED_ATTRS if k not in attrs]
    if missing:
        raise ValueError(f"attrs is missing required key(s) {missing}; required: {REQUIRED_ATTRS}")
    for key in ("config", "schema_version"):
        if key in attrs:
            raise ValueError(f"attrs[{key!r}] is written by write_run and must not be passed")

    out: dict[str, Any] = {}
    status = attrs["status"]
    if status not in ALLOWED_STATUS:
        raise ValueError(f"attrs['status'] = {status!r} is invalid; allowed: {ALLOWED_STATUS}")
    for key in ("device", "dtype", "problem", "model"):
        if not isinstance(attrs[key], str) or not attrs[key]:
            raise ValueError(f"attrs[{key!r}] must be a non-empty str, got {attrs[key]!r}")
    seed = attrs["seed"]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"attrs['seed'] must be an int or None, got {seed!r}")
    n_params = attrs["n_params"]
    if isinstance(n_params, bool) or not isinstance(n_params, numbers.Integral) or n_params < 0:
        raise ValueError(f"attrs['n_params'] must be a non-negative int, got {n_params!r}")
    wall = attrs["wall_time_s"]
    if (
        isinstance(wall, bool)
        or not isinstance(wall, numbers.Real)
        or not math.isfinite(float(wall))
        or wall < 0
    ):
        raise ValueError(f"attrs['wall_time_s'] must be a finite float >= 0, got {wall!r}")
    message = attrs.get("message", "")
    if not isinstance(message, str):
        raise ValueError(f"attrs['message'] must be a str, got {type(message).__name__}")

    versions = attrs.get("versions", None)
    if versions is None:
        versions = environment_versions()
    if isinstance(versions, Mapping):
        versions = json.dumps(dict(versions), sort_keys=True)
    if not isinstance(versions, str):
        raise ValueError("attrs['versions'] must be a dict or its JSON text")
    try:
        json.loads(versions)
    except json.JSONDecodeError as exc:
        raise ValueError(f"attrs['versions'] is not valid JSON text: {exc}") from None

    out["config"] = config_yaml
    out["schema_version"] = SCHEMA_VERSION
    out["kanpde_version"] = str(attrs.get("kanpde_version", _kanpde_version()))
    out["versions"] = versions
    out["message"] = message
    for key, value in attrs.items():
        _check_name(key, "attrs key")
        if key in ("versions", "kanpde_version", "message"):
            continue
        out[key] = _attr_value(value, f"attrs[{key!r}]")
    return out


def _validate_history(history: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(history, Mapping):
        raise ValueError(f"history must be a mapping, got {type(history).__name__}")
    out: dict[str, np.ndarray] = {}
    first: str | None = None
    for key, value in history.items():
        _check_name(key, "history key")
        arr = _numeric_array(value, f"history[{key!r}]")
        if arr.ndim != 1:
            raise ValueError(f"history[{key!r}] must be 1-D, got shape {arr.shape}")
        if first is not None and arr.shape[0] != out[first].shape[0]:
            raise ValueError(
                f"history[{key!r}] has length {arr.shape[0]} but history[{first!r}] has length "
                f"{out[first].shape[0]}; all history arrays must have the same length"
            )
        first = first or key
        out[key] = arr
    return out


def _validate_final(final: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(final, Mapping):
        raise ValueError(f"final must be a mapping, got {type(final).__name__}")
    out: dict[str, float] = {}
    for key, value in final.items():
        _check_name(key, "final key")
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            if value.numel() != 1:
                raise ValueError(f"final[{key!r}] must be a scalar, got shape {tuple(value.shape)}")
            value = value.item()
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"final[{key!r}] must be a real number, got {value!r}")
        out[key] = float(value)
    return out


def _normalize_axes(
    eval_axes: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> list[tuple[str, np.ndarray]]:
    if eval_axes is None:
        return []
    items = list(eval_axes.items()) if isinstance(eval_axes, Mapping) else list(eval_axes)
    out: list[tuple[str, np.ndarray]] = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError("eval_axes must be a mapping or a sequence of (name, 1-D array) pairs")
        name, values = item
        _check_name(name, "eval axis")
        arr = _numeric_array(values, f"eval_axes[{name!r}]")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"eval_axes[{name!r}] must be a non-empty 1-D array, got {arr.shape}")
        out.append((name, arr))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"eval_axes names must be unique, got {names}")
    return out


def _validate_eval(
    eval_fields: Mapping[str, Any],
    eval_axes: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
    coord_names: Sequence[str] | None,
) -> tuple[dict[str, np.ndarray], list[tuple[str, np.ndarray]], list[str] | None]:
    if not isinstance(eval_fields, Mapping):
        raise ValueError(f"eval_fields must be a mapping, got {type(eval_fields).__name__}")
    fields: dict[str, np.ndarray] = {}
    inline_axes: list[tuple[str, Any]] = []
    for key, value in eval_fields.items():
        if isinstance(key, str) and key.startswith("axes/"):
            inline_axes.append((key[len("axes/") :], value))
            continue
        _check_name(key, "eval_fields key")
        if key == "axes":
            raise ValueError("eval_fields['axes'] is reserved; pass axes as eval_axes")
        fields[key] = _numeric_array(value, f"eval_fields[{key!r}]")
    if inline_axes and eval_axes is not None:
        raise ValueError("pass the evaluation axes either as eval_axes or as 'axes/<name>' keys")
    axes = _normalize_axes(inline_axes if inline_axes else eval_axes)

    coords = fields.get("coords")
    if coords is not None and coords.ndim != 2:
        raise ValueError(f"eval_fields['coords'] must be 2-D (n, dim_in), got {coords.shape}")
    n = coords.shape[0] if coords is not None else None
    for key in ("u_pred", "u_ref", "error"):
        arr = fields.get(key)
        if arr is None:
            continue
        if arr.ndim != 2:
            raise ValueError(f"eval_fields[{key!r}] must be 2-D (n, dim_out), got {arr.shape}")
        if n is not None and arr.shape[0] != n:
            raise ValueError(
                f"eval_fields[{key!r}] has {arr.shape[0]} rows but eval_fields['coords'] has {n}"
            )
    shapes = {k: fields[k].shape for k in ("u_pred", "u_ref", "error") if k in fields}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"eval_fields u_pred / u_ref / error must have equal shapes, got {shapes}")
    if "error" not in fields and "u_pred" in fields and "u_ref" in fields:
        fields["error"] = fields["u_pred"] - fields["u_ref"]

    if coord_names is not None:
        coord_names = [_check_name(c, "coord_names entry") for c in coord_names]
        if coords is not None and len(coord_names) != coords.shape[1]:
            raise ValueError(
                f"coord_names has {len(coord_names)} names but coords has {coords.shape[1]} columns"
            )
    if axes:
        names = [name for name, _ in axes]
        if coord_names is not None and list(coord_names) != names:
            raise ValueError(f"coord_names {coord_names} differ from the eval_axes names {names}")
        coord_names = names
        if coords is None:
            raise ValueError("eval_axes were given without eval_fields['coords']")
        if coords.shape[1] != len(axes):
            raise ValueError(
                f"eval_axes has {len(axes)} axes but coords has {coords.shape[1]} columns"
            )
        grid = np.stack(np.meshgrid(*[a for _, a in axes], indexing="ij"), axis=-1)
        grid = grid.reshape(-1, len(axes))
        if grid.shape != coords.shape:
            raise ValueError(
                f"eval_axes span {grid.shape[0]} points but coords has {coords.shape[0]} rows"
            )
        scale = max(float(np.max(np.abs(grid))), 1.0)
        tol = 1e-5 if np.finfo(np.result_type(coords.dtype, np.float32)).bits < 64 else 1e-10
        if not np.allclose(coords, grid, rtol=0.0, atol=tol * scale):
            raise ValueError(
                "eval coords are not the ij-meshgrid of eval_axes: expected coords == "
                "stack(meshgrid(*axes, indexing='ij'), -1).reshape(-1, dim_in)"
            )
    return fields, axes, (list(coord_names) if coord_names is not None else None)


def _validate_model_state(model_state: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(model_state, Mapping):
        raise ValueError(f"model_state must be a mapping, got {type(model_state).__name__}")
    for key in model_state:
        _check_name(key, "model_state key")
    # Conversion to numpy happens at write time (it may copy from a device).
    return dict(model_state)


def _validate_extra(extra: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise ValueError(f"extra must be a mapping of group -> {{name: array}}, got {type(extra)}")
    out: dict[str, dict[str, Any]] = {}
    for group, datasets in extra.items():
        _check_name(group, "extra group")
        if group in _RESERVED_GROUPS:
            raise ValueError(
                f"extra group {group!r} clashes with a schema group; reserved: {_RESERVED_GROUPS}"
            )
        if not isinstance(datasets, Mapping):
            raise ValueError(f"extra[{group!r}] must be a mapping name -> array")
        for name in datasets:
            _check_name(name, f"extra[{group!r}] dataset")
        out[group] = dict(datasets)
    return out


def _validate_model_info(model_info: Mapping[str, Any] | None) -> tuple[str, str]:
    if model_info is None:
        return "", "{}"
    if not isinstance(model_info, Mapping):
        raise ValueError(f"model_info must be a mapping, got {type(model_info).__name__}")
    cls = model_info.get("class", "")
    if not isinstance(cls, str):
        raise ValueError(f"model_info['class'] must be a str, got {cls!r}")
    try:
        text = json.dumps(dict(model_info), sort_keys=True, allow_nan=True)
    except TypeError as exc:
        raise ValueError(f"model_info must be JSON-serialisable: {exc}") from None
    return cls, text


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def _create_dataset(group: h5py.Group, name: str, data: np.ndarray, compress: bool) -> h5py.Dataset:
    kwargs: dict[str, Any] = {}
    if compress and data.ndim >= 1 and data.size >= _COMPRESS_MIN_SIZE:
        kwargs = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    return group.create_dataset(name, data=data, **kwargs)


def _state_to_numpy(name: str, value: Any) -> tuple[np.ndarray, str]:
    """A state_dict entry as a CPU numpy array plus its original torch dtype name."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        torch_dtype = str(t.dtype).removeprefix("torch.")
        if t.dtype == torch.bfloat16:
            t = t.to(torch.float32)  # numpy has no bfloat16; exact widening
        return t.cpu().numpy(), torch_dtype
    arr = _numeric_array(value, f"model_state[{name!r}]")
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
            f.attrs.create(key, value, dtype=_STR_DTYPE)
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
        g.attrs["coord_names"] = np.array(coord_names, dtype=_STR_DTYPE)
    if axes:
        ga = g.create_group("axes", track_order=True)
        ga.attrs["names"] = np.array([n for n, _ in axes], dtype=_STR_DTYPE)
        for name, arr in axes:
            ga.create_dataset(name, data=arr)

    g = f.create_group("model", track_order=True)
    g.attrs.create("class", model_class, dtype=_STR_DTYPE)
    g.attrs.create("description", model_description, dtype=_STR_DTYPE)
    for key, value in model_state.items():
        arr, torch_dtype = _state_to_numpy(key, value)
        ds = _create_dataset(g, key, arr, compress=True)
        ds.attrs.create("torch_dtype", torch_dtype, dtype=_STR_DTYPE)

    for group, datasets in extra.items():
        g = f.create_group(group, track_order=True)
        for name, value in datasets.items():
            arr = _numeric_array(value, f"extra[{group!r}][{name!r}]")
            _create_dataset(g, name, arr, compress=True)


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY
    if directory:
        flags |= getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:  # some platforms cannot open directories; best effort
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


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
    root_attrs = _validate_root_attrs(config_yaml, attrs)
    hist = _validate_history(history)
    fin = _validate_final(final)
    fields, axes, names = _validate_eval(eval_fields, eval_axes, coord_names)
    state = _validate_model_state(model_state)
    extras = _validate_extra(extra)
    model_class, model_description = _validate_model_info(model_info)

    dest.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_replace(dest) as tmp, h5py.File(tmp, "x", track_order=True) as f:
        _write_contents(
            f, root_attrs, hist, fin, fields, axes, names, state,
            model_class, model_description, extras,
        )  # fmt: skip
        f.flush()
    return dest


@contextlib.contextmanager
def _atomic_replace(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success fsync it and rename it over
    ``dest`` (a reader sees the old or the new file, never a partial one), on failure
    remove it."""
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_path(dest.parent, directory=True)


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
    _check_name(group, "group")
    if group in _RESERVED_GROUPS:
        raise ValueError(f"group {group!r} is part of the run schema; use another name")
    data = _validate_extra({group: datasets})[group]
    plain = {_check_name(k, "attrs key"): _attr_value(v, f"attrs[{k!r}]")
             for k, v in (attrs or {}).items()}
    with _atomic_replace(dest) as tmp:
        shutil.copyfile(dest, tmp)
        with h5py.File(tmp, "r+") as f:
            if group in f:
                del f[group]
            g = f.create_group(group, track_order=True)
            for key, value in plain.items():
                if isinstance(value, str):
                    g.attrs.create(key, value, dtype=_STR_DTYPE)
                else:
                    g.attrs[key] = value
            for name, value in data.items():
                _create_dataset(g, name, _numeric_array(value, f"datasets[{name!r}]"),
                                compress=True)
            f.flush()
    return dest


def read_group_attrs(path: str | os.PathLike[str], group: str) -> dict[str, Any]:
    """The attributes of ``/<group>`` of a run file as plain Python (empty when absent)."""
    with h5py.File(Path(path), "r") as f:
        if group not in f:
            return {}
        return {k: _plain(v) for k, v in f[group].attrs.items()}


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """The contents of one ``run.h5`` as plain Python / numpy.

    Attributes:
        path: the file read.
        attrs: root attributes (including ``config`` and ``status``); numpy scalars become
            Python scalars, array attrs become lists, an empty attr becomes None.
        config: the resolved config YAML text.
        history: key -> (T,) arrays, in written order.
        final: metric -> float.
        eval: coords (n, dim_in), u_pred / u_ref / error (n, dim_out) and other eval arrays.
        axes: ordered name -> (n_k,) grid axes (empty when the eval points are not a grid).
        coord_names: names of the coordinate columns (empty when unknown).
        model_state: state_dict name -> numpy array.
        model_dtypes: state_dict name -> original torch dtype name ("float32", ...).
        model_info: the JSON model description (``class`` included when given).
        extra: group -> {name: array} for every non-schema group.
    """

    path: Path
    attrs: dict[str, Any]
    config: str
    history: dict[str, np.ndarray]
    final: dict[str, float]
    eval: dict[str, np.ndarray]
    axes: dict[str, np.ndarray]
    model_state: dict[str, np.ndarray]
    extra: dict[str, dict[str, np.ndarray]]
    coord_names: list[str] = field(default_factory=list)
    model_dtypes: dict[str, str] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """The run status ("completed" | "diverged" | "interrupted" | "running")."""
        return str(self.attrs["status"])

    @property
    def versions(self) -> dict[str, str]:
        """The ``versions`` attr parsed from its JSON text."""
        return json.loads(self.attrs.get("versions", "{}"))


def _plain(value: Any) -> Any:
    """An h5py attribute value as plain Python."""
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_group_arrays(group: h5py.Group) -> dict[str, np.ndarray]:
    return {k: np.asarray(v[()]) for k, v in group.items() if isinstance(v, h5py.Dataset)}


def read_run(path: str | os.PathLike[str]) -> RunRecord:
    """Read a ``run.h5`` written by :func:`write_run` into a :class:`RunRecord`.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        OSError: when the file is not a readable HDF5 file (corrupt or truncated).
        ValueError: when it is HDF5 but not a kanpde run file (missing schema parts).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"run file {str(p)!r} does not exist")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise OSError(f"cannot open run file {str(p)!r} (corrupt or not HDF5): {exc}") from exc
    try:
        with f:
            return _read_contents(f, p)
    except (OSError, KeyError, RuntimeError) as exc:
        raise OSError(f"cannot read run file {str(p)!r} (corrupt?): {exc}") from exc


def _read_contents(f: h5py.File, p: Path) -> RunRecord:
    for key in ("config", "status"):
        if key not in f.attrs:
            raise ValueError(f"{str(p)!r} is not a kanpde run file: root attr {key!r} missing")
    for group in _RESERVED_GROUPS:
        if group not in f or not isinstance(f[group], h5py.Group):
            raise ValueError(f"{str(p)!r} is not a kanpde run file: group {group!r} missing")

    attrs = {k: _plain(v) for k, v in f.attrs.items()}
    history = _read_group_arrays(f["history"])
    final = {k: float(v) for k, v in f["final"].attrs.items()}

    g_eval = f["eval"]
    ev = _read_group_arrays(g_eval)
    axes: dict[str, np.ndarray] = {}
    if "axes" in g_eval:
        ga = g_eval["axes"]
        order = _plain(ga.attrs["names"]) if "names" in ga.attrs else list(ga.keys())
        axes = {name: np.asarray(ga[name][()]) for name in order}
    coord_names = _plain(g_eval.attrs["coord_names"]) if "coord_names" in g_eval.attrs else []
    if not coord_names and axes:
        coord_names = list(axes)

    g_model = f["model"]
    model_state = _read_group_arrays(g_model)
    model_dtypes = {k: str(_plain(g_model[k].attrs.get("torch_dtype", ""))) for k in model_state}
    model_info: dict[str, Any] = {}
    if "description" in g_model.attrs:
        model_info = json.loads(_plain(g_model.attrs["description"]))
    if "class" in g_model.attrs and _plain(g_model.attrs["class"]):
        model_info.setdefault("class", _plain(g_model.attrs["class"]))

    extra = {
        name: _read_group_arrays(obj)
        for name, obj in f.items()
        if isinstance(obj, h5py.Group) and name not in _RESERVED_GROUPS
    }
    return RunRecord(
        path=p,
        attrs=attrs,
        config=str(attrs["config"]),
        history=history,
        final=final,
        eval=ev,
        axes=axes,
        model_state=model_state,
        extra=extra,
        coord_names=list(coord_names),
        model_dtypes=model_dtypes,
        model_info=model_info,
    )


def load_state_dict_tensors(
    record: RunRecord, device: torch.device | str | None = None
) -> dict[str, torch.Tensor]:
    """The stored state_dict as tensors with their original torch dtypes.

    ``model.load_state_dict(load_state_dict_tensors(read_run(path)))`` restores the model.
    """
    out: dict[str, torch.Tensor] = {}
    for key, arr in record.model_state.items():
        t = torch.from_numpy(np.array(arr, copy=True))
        name = record.model_dtypes.get(key, "")
        if name:
            dtype = getattr(torch, name, None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"model_state[{key!r}] has unknown torch dtype {name!r}")
            t = t.to(dtype)
        out[key] = t.to(device) if device is not None else t
    return out
