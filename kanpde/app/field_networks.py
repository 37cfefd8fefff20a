"""The config's ``fields``: separate networks for some of a problem's outputs.

    fields:
      a:                                   # an output name of the problem (its last outputs)
        _target_: kanpde.models.KAN        # any model node, as ``model``
        widths: [2, 5, 1]                  # len(inputs) inputs, one output
        inputs: [x, y]                     # optional: the problem's field_inputs by default

The solver network (``model``) then gives the other outputs (``model.widths`` ends with
``dim_out - len(fields)``), and the physical model is :class:`kanpde.models.Fields`: each
field network sees its input coordinates scaled from the domain's bounds to ``[-1, 1]``. A
KAN field network follows the training's grid ladder with the solver network.
"""

from __future__ import annotations

from typing import Any

from kanpde.core.errors import ConfigError
from kanpde.models import ScaledModel
from kanpde.models.fields import Fields


def field_names(cfg: dict[str, Any], problem) -> list[str]:
    """The configured field outputs, checked: known output names, the problem's last outputs
    (in output order); ``[]`` when ``fields`` is unset or empty."""
    fields = cfg.get("fields") or {}
    if not isinstance(fields, dict):
        raise ConfigError(f"fields: expected a mapping {{output name: model node}}, "
                          f"got {fields!r}")
    if not fields:
        return []
    names = list(problem.output_names)
    for name in fields:
        if name not in names:
            raise ConfigError(f"fields.{name}: not an output of {type(problem).__name__}; "
                              f"its outputs: {', '.join(names) or 'unnamed'}")
    tail = names[len(names) - len(fields):]
    if sorted(fields) != sorted(tail) or len(fields) >= len(names):
        raise ConfigError(f"fields: separate networks can supply the last outputs of "
                          f"{type(problem).__name__} (the solver network keeps at least the "
                          f"first), e.g. {', '.join(names[-1:])}; got {', '.join(fields)}")
    return tail


def field_columns(name: str, node: dict[str, Any], problem) -> list[int]:
    """The input columns of field ``name``: ``node['inputs']`` or the problem's default."""
    inputs = node.get("inputs") or problem.field_inputs.get(name)
    if not inputs:
        raise ConfigError(f"fields.{name}.inputs: not set and {type(problem).__name__} names no "
                          f"default; give coordinate names from {', '.join(problem.names)}")
    unknown = [c for c in inputs if c not in problem.names]
    if unknown or len(set(inputs)) != len(inputs):
        raise ConfigError(f"fields.{name}.inputs: {list(inputs)} must be distinct coordinates "
                          f"of {', '.join(problem.names)}")
    return [problem.names.index(c) for c in inputs]


def with_fields(cfg: dict[str, Any], problem, main, construct) -> Any:
    """``main`` alone, or :class:`Fields` of ``main`` and the configured field networks
    (``construct(node, key, **extra)`` builds a model node, as for ``model``)."""
    names = field_names(cfg, problem)
    if not names:
        return main
    if cfg.get("hard_constraint", False):
        raise ConfigError("fields: separate field networks cannot be combined with "
                          "hard_constraint=true")
    lo, hi = problem.domain.lo, problem.domain.hi
    parts = {}
    for name in names:
        node = dict(cfg["fields"][name])
        cols = field_columns(name, node, problem)
        node.pop("inputs", None)
        widths = list(node.get("widths") or [])
        if widths and (widths[0] != len(cols) or widths[-1] != 1):
            raise ConfigError(f"fields.{name}.widths: {widths} must start with the field's "
                              f"{len(cols)} inputs and end with 1 output")
        net = construct(node, f"fields.{name}", seed=cfg["seed"] + 1 + names.index(name))
        parts[name] = (ScaledModel(net, [lo[c] for c in cols], [hi[c] for c in cols]), cols)
    return Fields(main, parts, problem.dim_in)
