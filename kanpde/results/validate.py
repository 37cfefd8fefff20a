"""Checks of everything :func:`kanpde.results.write_run` stores: names, attributes, history,
final metrics, evaluation fields, model state, extra groups. Each bad value raises
ValueError naming it. Tensors are accepted without importing torch: a value is a tensor
only if torch is loaded already (:func:`is_tensor`)."""

from __future__ import annotations

import json
import math
import numbers
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from kanpde.results.schema import (
    ALLOWED_STATUS,
    NUMERIC_KINDS,
    REQUIRED_ATTRS,
    RESERVED_GROUPS,
    SCHEMA_VERSION,
    STR_DTYPE,
    environment_versions,
    kanpde_version,
)


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (only possible when torch is imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def check_name(name: Any, what: str) -> str:
    """An HDF5 link name: a non-empty str without '/' and not '.'."""
    if not isinstance(name, str) or not name or "/" in name or name == ".":
        raise ValueError(
            f"{what} name {name!r} is invalid: names must be non-empty strings without '/'"
        )
    return name


def numeric_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a numeric numpy array (bool, int, float or complex)."""
    if is_tensor(value):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in NUMERIC_KINDS:
        raise ValueError(
            f"{what} has dtype {arr.dtype}; allowed: bool, integer, float or complex arrays"
        )
    return arr


def attr_value(value: Any, what: str) -> Any:
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
            return np.array(items, dtype=STR_DTYPE)
        if all(isinstance(v, (numbers.Real, np.bool_)) for v in items):
            arr = np.asarray(items, dtype=value.dtype if isinstance(value, np.ndarray) else None)
            if arr.dtype.kind in NUMERIC_KINDS:
                return arr.astype(np.float64) if arr.size == 0 else arr
    raise ValueError(
        f"{what} has unsupported type {type(value).__name__}; allowed: None, bool, int, float, "
        "str or a flat sequence of numbers or strings (encode anything else as JSON text)"
    )


def validate_root_attrs(config_yaml: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
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
    out["kanpde_version"] = str(attrs.get("kanpde_version", kanpde_version()))
    out["versions"] = versions
    out["message"] = message
    for key, value in attrs.items():
        check_name(key, "attrs key")
        if key in ("versions", "kanpde_version", "message"):
            continue
        out[key] = attr_value(value, f"attrs[{key!r}]")
    return out


def validate_history(history: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(history, Mapping):
        raise ValueError(f"history must be a mapping, got {type(history).__name__}")
    out: dict[str, np.ndarray] = {}
    first: str | None = None
    for key, value in history.items():
        check_name(key, "history key")
        arr = numeric_array(value, f"history[{key!r}]")
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


def validate_final(final: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(final, Mapping):
        raise ValueError(f"final must be a mapping, got {type(final).__name__}")
    out: dict[str, float] = {}
    for key, value in final.items():
        check_name(key, "final key")
        if is_tensor(value):
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


def normalize_axes(
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
        check_name(name, "eval axis")
        arr = numeric_array(values, f"eval_axes[{name!r}]")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"eval_axes[{name!r}] must be a non-empty 1-D array, got {arr.shape}")
        out.append((name, arr))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"eval_axes names must be unique, got {names}")
    return out


def validate_eval(
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
        check_name(key, "eval_fields key")
        if key == "axes":
            raise ValueError("eval_fields['axes'] is reserved; pass axes as eval_axes")
        fields[key] = numeric_array(value, f"eval_fields[{key!r}]")
    if inline_axes and eval_axes is not None:
        raise ValueError("pass the evaluation axes either as eval_axes or as 'axes/<name>' keys")
    axes = normalize_axes(inline_axes if inline_axes else eval_axes)

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
        coord_names = [check_name(c, "coord_names entry") for c in coord_names]
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


def validate_model_state(model_state: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(model_state, Mapping):
        raise ValueError(f"model_state must be a mapping, got {type(model_state).__name__}")
    for key in model_state:
        check_name(key, "model_state key")
    # Conversion to numpy happens at write time (it may copy from a device).
    return dict(model_state)


def validate_extra(extra: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise ValueError(f"extra must be a mapping of group -> {{name: array}}, got {type(extra)}")
    out: dict[str, dict[str, Any]] = {}
    for group, datasets in extra.items():
        check_name(group, "extra group")
        if group in RESERVED_GROUPS:
            raise ValueError(
                f"extra group {group!r} clashes with a schema group; reserved: {RESERVED_GROUPS}"
            )
        if not isinstance(datasets, Mapping):
            raise ValueError(f"extra[{group!r}] must be a mapping name -> array")
        for name in datasets:
            check_name(name, f"extra[{group!r}] dataset")
        out[group] = dict(datasets)
    return out


def validate_model_info(model_info: Mapping[str, Any] | None) -> tuple[str, str]:
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
