"""Reading ``run.h5`` back as plain Python and numpy (no torch needed)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from kanpde.results.schema import RESERVED_GROUPS


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
        """The run status ("completed" | "diverged" | "interrupted" | "pruned" | "running")."""
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
    for group in RESERVED_GROUPS:
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
        if isinstance(obj, h5py.Group) and name not in RESERVED_GROUPS
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
