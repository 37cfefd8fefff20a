"""The ``run.h5`` schema: one HDF5 file per solve, written atomically, read back as numpy.

Layout (``n`` evaluation points, ``dim_in`` coordinates, ``dim_out`` solution components,
``T`` history rows)::

    /                 attrs: config (resolved YAML text), schema_version, kanpde_version,
                      versions (JSON text: python, torch, numpy, scipy, h5py, platform),
                      device, dtype, seed, n_params, wall_time_s,
                      status ("completed" | "diverged" | "interrupted" | "pruned" | "running"),
                      message, problem, model, plus any extra scalar / string attrs
                      (a solve adds output_names "u,v,p" for named fields, and for inverse
                      problems coef_<name>_true / _initial, data_points, data_source)
    /history/<key>    (T,)  one 1-D dataset per key (step, time_s, loss, rel_l2, loss_<term>,
                      weight_<term>, lr, grid_size, ...), all of the same length
    /final            attrs: the final metrics (rel_l2, mse, max_abs, rel_h1, ...; learned
                      coefficients as coef_<name>, coef_<name>_rel_error) as floats
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

import platform
from importlib import metadata

import h5py

from kanpde.core.version import __version__

SCHEMA_VERSION = 1

ALLOWED_STATUS: tuple[str, ...] = ("completed", "diverged", "interrupted", "pruned", "running")

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

RESERVED_GROUPS = ("history", "final", "eval", "model")
STR_DTYPE = h5py.string_dtype(encoding="utf-8")
COMPRESS_MIN_SIZE = 256  # datasets with fewer elements are stored uncompressed
NUMERIC_KINDS = "biufc"


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


def kanpde_version() -> str:
    return str(__version__)


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------
