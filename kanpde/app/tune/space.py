"""A search preset (``conf/search/<name>.yaml``) parsed and checked against the solve config.

A preset is the ``search`` node of the composed config::

    trials: 20                 # finished trials the study should hold
    sampler: tpe               # tpe | random
    seed: 0                    # the sampler's seed
    pruner: median             # median | halving | none
    objective: auto            # auto (rel_l2 where the problem has a reference, else loss)
                               # | rel_l2 | loss
    dir: null                  # the search folder (null: results/searches/<study name>)
    overrides: []              # solve overrides the search starts from (before the command
                               # line's), e.g. [experiment=compare, model=siren]
    params:                    # config keys (dotted; list items by index) -> distribution
      model.grid_size: {type: int, low: 3, high: 12}
      train.lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
      model.widths: {type: categorical, choices: [[2, 5, 1], [2, 10, 1]]}

Every key must name a setting of the composed solve config; ranges must be non-empty
(``low < high``); a log range must lie above zero; categorical choices are a non-empty list.
:func:`parse_search` raises a one-line :class:`ConfigError` naming the setting otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kanpde.core.errors import ConfigError

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "halving", "none")
OBJECTIVES = ("auto", "rel_l2", "loss")
TYPES = ("float", "int", "categorical")
SEARCH_KEYS = ("trials", "sampler", "seed", "pruner", "objective", "dir", "params",
               "startup_trials", "warmup_steps", "overrides")
_MISSING = object()


@dataclass(frozen=True)
class Param:
    """One searched setting: ``key`` (dotted path), its distribution."""

    key: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Search:
    """A checked search preset (see the module docstring)."""

    name: str
    params: tuple[Param, ...]
    trials: int = 20
    sampler: str = "tpe"
    seed: int = 0
    pruner: str = "median"
    objective: str = "auto"
    dir: str | None = None
    startup_trials: int = 3
    warmup_steps: int = 0


def get_path(cfg: Any, key: str) -> Any:
    """The value at dotted ``key`` of nested dicts/lists (``_MISSING`` when absent)."""
    node = cfg
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def set_path(cfg: dict[str, Any], key: str, value: Any) -> None:
    """Set the value at dotted ``key`` (which must exist) in place."""
    *parents, last = key.split(".")
    node: Any = cfg
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def parse_search(name: str, node: Any, cfg: dict[str, Any]) -> Search:
    """The preset ``node`` (the ``search`` config node) checked against the solve ``cfg``."""
    if not isinstance(node, dict):
        raise ConfigError(f"search: expected a mapping of search settings, got {node!r}")
    for key in node:
        if key not in SEARCH_KEYS:
            raise ConfigError(f"search.{key}: unknown key; allowed keys: {', '.join(SEARCH_KEYS)}")
    trials = node.get("trials", 20)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"search.trials: expected an integer >= 1, got {trials!r}")
    for key, allowed in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("objective", OBJECTIVES)):
        value = node.get(key, Search.__dataclass_fields__[key].default)
        if value not in allowed:
            raise ConfigError(f"search.{key}: got {value!r}; allowed values: {', '.join(allowed)}")
    for key in ("seed", "startup_trials", "warmup_steps"):
        value = node.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"search.{key}: expected an integer >= 0, got {value!r}")
    params = node.get("params") or {}
    if not isinstance(params, dict) or not params:
        raise ConfigError("search.params: expected a non-empty mapping {config key: "
                          "distribution}")
    parsed = tuple(_param(str(k), v, cfg) for k, v in params.items())
    base = node.get("overrides") or []
    if not isinstance(base, list) or not all(isinstance(o, str) and "=" in o for o in base):
        raise ConfigError(f"search.overrides: expected a list of key=value overrides, got "
                          f"{base!r}")
    directory = node.get("dir")
    if directory is not None and not isinstance(directory, str):
        raise ConfigError(f"search.dir: expected a path or null, got {directory!r}")
    return Search(name=name, params=parsed, trials=trials,
                  sampler=node.get("sampler", "tpe"), seed=node.get("seed", 0),
                  pruner=node.get("pruner", "median"), objective=node.get("objective", "auto"),
                  dir=directory, startup_trials=node.get("startup_trials", 3),
                  warmup_steps=node.get("warmup_steps", 0))


def _param(key: str, spec: Any, cfg: dict[str, Any]) -> Param:
    where = f"search.params.{key}"
    if get_path(cfg, key) is _MISSING:
        raise ConfigError(f"{where}: unknown config key {key!r} (it must name a setting of "
                          "the solve config, e.g. model.grid_size, train.lr, "
                          "train.phases.0.steps)")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with a type ({', '.join(TYPES)}), "
                          f"got {spec!r}")
    allowed = {"type", "low", "high", "log", "step", "choices"}
    extra = sorted(set(spec) - allowed)
    if extra:
        raise ConfigError(f"{where}.{extra[0]}: unknown key; allowed keys: "
                          f"{', '.join(sorted(allowed))}")
    kind = spec.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{where}.type: got {kind!r}; allowed values: {', '.join(TYPES)}")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        return Param(key, kind, choices=tuple(choices))
    low, high, log, step = spec.get("low"), spec.get("high"), spec.get("log", False), spec.get(
        "step")
    for bound, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise ConfigError(f"{where}.{bound}: expected a finite number, got {value!r}")
        if kind == "int" and int(value) != value:
            raise ConfigError(f"{where}.{bound}: an int range needs integer bounds, got {value!r}")
    if not low < high:
        raise ConfigError(f"{where}: empty range: low={low!r} must be below high={high!r}")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range must lie above zero, got low={low!r}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int | float)
                             or step <= 0 or log):
        raise ConfigError(f"{where}.step: expected a number > 0 (and no log scale), got {step!r}")
    return Param(key, kind, float(low), float(high), log,
                 None if step is None else float(step))


def suggest(trial, p: Param) -> Any:
    """The trial's value for ``p`` (Optuna's suggest API)."""
    if p.type == "categorical":
        index = trial.suggest_categorical(p.key, list(range(len(p.choices))))
        value = p.choices[index]
        trial.set_user_attr(f"value:{p.key}", value)
        return value
    if p.type == "int":
        return trial.suggest_int(p.key, int(p.low), int(p.high), log=p.log,
                                 step=1 if p.step is None else int(p.step))
    return trial.suggest_float(p.key, p.low, p.high, log=p.log, step=p.step)
