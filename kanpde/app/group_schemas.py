"""Typed schemas of the ``problem``, ``model`` and ``sampler`` groups, made from the
constructors the groups build, registered in Hydra's ConfigStore as ``schema/<group>/<name>``.

A group option lists its schema first in its defaults (``conf/problem/poisson.yaml``)::

    defaults:
      - /schema/problem/poisson@_here_
      - _self_

so Hydra checks the option at composition: an unknown key fails (``Key 'varient' not in
'PoissonSchema'``) and a value of the wrong type too (``Value 'abc' of type 'str' could not be
converted to Integer``), in one line naming the key (:mod:`kanpde.app.precheck`); ranges and
choices are still the constructor's to check when the solve is built.

A schema has one field per constructor argument, with the constructor's default (the
composed node therefore names every setting of the object it builds) and a type that
OmegaConf can hold: ``int``, ``float``, ``bool``, ``str``, lists and string-keyed dicts of
them, optional or not; any other annotation (a union of several types, a tensor, a
generator, a tuple of mixed types) is ``Any``. Arguments the assembly passes a model itself
(``seed``, ``dtype``, ``device``) are left out of the model schemas. A constructor that
takes ``**options`` (a KAN's basis options) gets its known options as optional fields;
:func:`kanpde.app.assemble.construct` passes an option only when set.

Registered: every problem of the ``kanpde.problems`` entry-point group under its name, the
model families, and ``make_sampler`` (``schema/sampler/sampler``). ``problem=custom`` has no
schema: a problem of the user's own takes its arguments with ``+problem.<arg>=<value>``.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from kanpde.models import KAN, MLP, SIREN, FourierMLP
from kanpde.models.bases.factory import basis_option_names
from kanpde.pde import make_sampler
from kanpde.pde.registry import registered_problems

PASSED_BY_ASSEMBLY = frozenset({"seed", "dtype", "device"})  # to models
MODELS: dict[str, Callable] = {"kan": KAN, "mlp": MLP, "siren": SIREN, "fourier_mlp": FourierMLP}
#: the optional keyword options of constructors that take ``**options``: name -> type
OPTIONS: dict[Callable, dict[str, Any]] = {KAN: {name: Any for name in basis_option_names()}}
_PRIMITIVES = (int, float, bool, str)


def _plain_type(annotation: Any) -> Any:
    """The OmegaConf-holdable type of ``annotation`` (module docstring), or ``Any``."""
    if annotation in _PRIMITIVES:
        return annotation
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:  # X | None
            inner = _plain_type(args[0])
            return Any if inner is Any else Optional[inner]  # noqa: UP045 (OmegaConf)
        return Any
    homogeneous = len(set(args)) == 1 or (origin is tuple and len(args) == 2
                                          and typing.get_args(annotation)[1] is Ellipsis)
    if origin in (list, Sequence, tuple) and args and homogeneous:
        inner = _plain_type(args[0])
        return Any if inner is Any else typing.List[inner]  # noqa: UP006 (OmegaConf)
    if origin in (dict, Mapping) and len(args) == 2 and args[0] is str:
        inner = _plain_type(args[1])
        return Any if inner is Any else typing.Dict[str, inner]  # noqa: UP006 (OmegaConf)
    return Any


def _default(value: Any) -> dataclasses.Field:
    if value is inspect.Parameter.empty:
        return dataclasses.field(default=MISSING)
    if isinstance(value, tuple | list):
        items = list(value)
        return dataclasses.field(default_factory=lambda: list(items))
    if isinstance(value, dict):
        items = dict(value)
        return dataclasses.field(default_factory=lambda: dict(items))
    return dataclasses.field(default=value)


def schema_of(fn: Callable, target: str, passed: frozenset[str] = frozenset()) -> type:
    """A dataclass with ``_target_ = target`` and one typed field per argument of ``fn``
    (but those in ``passed``, which the assembly gives)."""
    try:
        hints = typing.get_type_hints(fn.__init__ if inspect.isclass(fn) else fn)
    except Exception:  # an annotation that does not resolve: the fields are Any
        hints = {}
    fields: list[tuple[str, Any, dataclasses.Field]] = [
        ("_target_", str, dataclasses.field(default=target))]
    for name, p in inspect.signature(fn).parameters.items():
        if name in passed or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        typ = _plain_type(hints.get(name, Any))
        if p.default is None and typ is not Any and typing.get_origin(typ) is not typing.Union:
            typ = Optional[typ]  # noqa: UP045 (OmegaConf)
        fields.append((name, typ, _default(p.default)))
    for name, typ in OPTIONS.get(fn, {}).items():
        fields.append((name, Optional[typ] if typ is not Any else Any,  # noqa: UP045
                       dataclasses.field(default=None)))
    title = getattr(fn, "__name__", "Target").title().replace("_", "")
    return dataclasses.make_dataclass(f"{title}Schema", fields)


def register() -> None:
    """Store every group schema in Hydra's ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    for name, ep in registered_problems().items():
        try:  # a broken registration or a default OmegaConf cannot hold: no schema for it
            cls = ep.load()
            store.store(group="schema/problem", name=name,
                        node=schema_of(cls, f"{cls.__module__}.{cls.__qualname__}"))
        except Exception:  # noqa: BLE001 (a third party's class; its option stays untyped)
            continue
    for name, cls in MODELS.items():
        store.store(group="schema/model", name=name,
                    node=schema_of(cls, f"kanpde.models.{cls.__name__}", PASSED_BY_ASSEMBLY))
    store.store(group="schema/sampler", name="sampler",
                node=schema_of(make_sampler, "kanpde.pde.make_sampler"))
