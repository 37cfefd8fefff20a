"""From a plain config (``conf/solve.yaml`` composed, as a dict) to the :class:`Plan` of a
solve, in one pass (:func:`build`):

    problem = instantiate(cfg.problem)                 # a kanpde.pde.Problem
    problem.add_observations(...), problem.learn(...)  # cfg.data, cfg.learn (inverse problems)
    cfg     = study rules resolved (grid ladder, parameter matching)
    train   = TrainConfig.from_dict(cfg.train)         # validated, nothing changed afterwards
    model   = T(x, net(E(S(x))))                       # backbone, embeddings, scaling, constraint
    sampler = instantiate(cfg.sampler)

Nodes with a ``_target_`` are built by Hydra's ``instantiate`` after their keys are checked
against the target's signature, so a bad key or value is a :class:`ConfigError` naming it
(``model.grid_size: ...``). A ``_target_`` without a dot names a registered problem
(:mod:`kanpde.pde.registry`).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate

from kanpde.app.field_networks import field_names, with_fields
from kanpde.app.study_rules import apply_study_rules
from kanpde.core.dtypes import DTYPES
from kanpde.core.errors import ConfigError
from kanpde.models import Embedded, FourierEmbedding, PeriodicEmbedding, ScaledModel
from kanpde.pde import ENGINES, HardConstraint, Periodic
from kanpde.pde.observations import generate_observations, load_observations
from kanpde.pde.registry import problem_class
from kanpde.train import distributed
from kanpde.train.config import TrainConfig
from kanpde.train.setup import check_against_problem

DEVICES = ("auto", "cpu", "cuda")

def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` fails clearly without a GPU."""
    if not isinstance(name, str) or not (name in DEVICES or name.startswith("cuda:")):
        raise ConfigError(f"device: got {name!r}; allowed values: auto, cpu, cuda, cuda:<n>")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} requested but CUDA is not available; use auto or cpu")
    return torch.device(name)


def rank_device(device: torch.device, comm: distributed.Comm) -> torch.device:
    """In a data-parallel run each process takes its own GPU: ``cuda`` -> ``cuda:<local
    rank>``; an explicit ``cuda:<n>`` or the CPU is kept."""
    if comm.distributed and device.type == "cuda" and device.index is None:
        return torch.device("cuda", comm.local_rank % torch.cuda.device_count())
    return device


def resolve_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ConfigError(f"dtype: got {name!r}; allowed values: {', '.join(DTYPES)}")
    return DTYPES[name]


def check_top_level(cfg: dict[str, Any]) -> None:
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed: expected an integer >= 0, got {seed!r}")
    if cfg.get("derivatives") not in ENGINES:
        raise ConfigError(
            f"derivatives: got {cfg.get('derivatives')!r}; allowed values: {', '.join(ENGINES)}"
        )


def _locate(target: str, key: str):
    """The callable ``target`` names: a dotted path, or (no dot) a registered problem."""
    try:
        if "." not in target:
            return problem_class(target)
        return get_object(target)
    except Exception as exc:
        raise ConfigError(f"{key}._target_: cannot import {target!r} ({exc})") from exc


def construct(node: dict[str, Any], key: str, **extra: Any) -> Any:
    """Call ``node['_target_']`` with the node's other keys (and ``extra``).

    Unknown keys and rejected values become :class:`ConfigError` naming ``key.<name>``.
    """
    node = dict(node)
    target = node.pop("_target_", None)
    if not target or target == "???":
        raise ConfigError(
            f"{key}._target_: not set; give the class to build, e.g. "
            f"{key}._target_=my_module.MyClass"
        )
    fn = _locate(target, key)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    if params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        allowed = [n for n in params if n not in extra and n != "self"]
        for name in node:
            if name not in params:
                raise ConfigError(
                    f"{key}.{name}: unknown setting for {target}; allowed: {', '.join(allowed)}"
                )
    # an option a group schema declares for a constructor's ``**options`` (a KAN's basis
    # options) is passed only when set
    open_keys = {k for k in node if params and k not in params}
    node = {k: v for k, v in node.items() if not (k in open_keys and v is None)}
    kwargs = {**node, **{k: v for k, v in extra.items() if k in params or not params}}
    try:
        return instantiate({"_target_": fn, **kwargs}, _convert_="all")
    except InstantiationException as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, ValueError | TypeError) else exc
        raise ConfigError(f"{key}: {cause}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{key}: {exc}") from exc


def periodic_axes(problem) -> list[int]:
    """Indices of the coordinates on which the problem has a periodic condition."""
    names = list(problem.names)
    return sorted({names.index(c.axis) for c in problem.conditions if isinstance(c, Periodic)})


def build_embeddings(cfg: dict[str, Any], problem) -> tuple[list, int]:
    """The configured input embeddings, in order, and the width they hand to the backbone."""
    emb_cfg = dict(cfg.get("embedding") or {})
    allowed = {"periodic", "fourier_features", "fourier_sigma"}
    for key in emb_cfg:
        if key not in allowed:
            raise ConfigError(f"embedding.{key}: unknown key; allowed keys: {sorted(allowed)}")
    embeddings = []
    dim = problem.dim_in
    if emb_cfg.get("periodic", False):
        axes = periodic_axes(problem)
        if not axes:
            raise ConfigError(
                f"embedding.periodic: {type(problem).__name__} has no periodic coordinate"
            )
        embeddings.append(PeriodicEmbedding(dim, axes))
        dim = embeddings[-1].dim_out
    n_ff = emb_cfg.get("fourier_features", 0)
    if isinstance(n_ff, bool) or not isinstance(n_ff, int) or n_ff < 0:
        raise ConfigError(f"embedding.fourier_features: expected an integer >= 0, got {n_ff!r}")
    if n_ff:
        try:
            embeddings.append(FourierEmbedding(dim, n_ff, emb_cfg.get("fourier_sigma", 1.0),
                                               seed=cfg["seed"] + 7919))
        except ValueError as exc:
            raise ConfigError(f"embedding: {exc}") from exc
        dim = embeddings[-1].dim_out
    return embeddings, dim


def assemble_model(cfg: dict[str, Any], problem, embedded: tuple[list, int] | None = None):
    """Backbone, input embeddings, scaling to [-1, 1] and the optional hard constraint:

        u(x) = T(x, net(E(S(x))))   (T: output transform, E: embeddings, S: scaling)

    ``model.widths`` is given in the problem's dimensions; an embedding widens the
    backbone's first layer to its own output width. ``embedded``: the result of
    :func:`build_embeddings` when already built.
    """
    embeddings, dim = embedded if embedded is not None else build_embeddings(cfg, problem)
    widths = list(cfg["model"].get("widths") or [])
    extra: dict[str, Any] = {"seed": cfg["seed"]}
    if embeddings and widths:
        extra["widths"] = [dim, *widths[1:]]
    net = construct(cfg["model"], "model", **extra)
    for emb in reversed(embeddings):
        net = Embedded(emb, net)
    model = with_fields(cfg, problem, ScaledModel(net, problem.domain.lo, problem.domain.hi),
                        construct)
    if cfg.get("hard_constraint", False):
        if not problem.has_output_transform:
            raise ConfigError(
                f"hard_constraint: {type(problem).__name__} (variant "
                f"{getattr(problem, 'variant', '-')}) supplies no output transform"
            )
        model = HardConstraint(model, problem)
    return model


DATA_KEYS = ("file", "n", "noise", "components", "seed", "weight")


def attach_inverse(cfg: dict[str, Any], problem) -> None:
    """Add the configured observations (``data``) as a loss term and make the ``learn``
    coefficients trainable; bad settings are ConfigErrors naming the key."""
    data = dict(cfg.get("data") or {})
    for key in data:
        if key not in DATA_KEYS:
            raise ConfigError(f"data.{key}: unknown key; allowed keys: {', '.join(DATA_KEYS)}")
    file, n = data.get("file"), data.get("n", 0) or 0
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"data.n: expected an integer >= 0, got {n!r}")
    if file is not None and n:
        raise ConfigError("data.file: give observations from a file or data.n > 0 generated "
                          "from the reference, not both")
    if file is not None or n:
        key = "data.file" if file is not None else "data.n"
        try:
            if file is not None:
                obs = load_observations(file, data.get("components"), problem.dim_out)
            else:
                obs = generate_observations(problem, n, float(data.get("noise", 0.0)),
                                            int(data.get("seed", 0)), data.get("components"))
            problem.add_observations(obs, weight=data.get("weight", 1.0))
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from exc
    learn = cfg.get("learn") or {}
    if not isinstance(learn, dict):
        raise ConfigError(f"learn: expected a mapping {{name: initial value}}, got {learn!r}")
    if learn:
        try:
            problem.learn(learn)
        except ValueError as exc:
            raise ConfigError(f"learn: {exc}") from exc


@dataclass
class Plan:
    """Everything one solve runs with, built once (:func:`build`).

    Attributes:
        config: the resolved config (study rules applied): what the run records.
        problem: the problem, with its observations and learned coefficients attached.
        model: the physical model ``T(x, net(E(S(x))))`` (parameters in the default dtype;
            the trainer moves it to ``device`` and ``dtype``).
        sampler, train: the collocation sampler and the validated :class:`TrainConfig`.
        device, dtype: where and in which precision the solve runs.
    """

    config: dict[str, Any]
    problem: Any
    model: torch.nn.Module
    sampler: Any
    train: TrainConfig
    device: torch.device
    dtype: torch.dtype


def _train_dict(cfg: dict[str, Any], problem) -> dict[str, Any]:
    """``cfg.train`` with the loss weights of terms a setting satisfies exactly set to 0
    (unless given): the constrained terms of a hard constraint, the periodic conditions of
    a periodic embedding. The recorded config keeps the user's weights."""
    train = copy.deepcopy(cfg["train"])
    weights = dict(train.get("loss_weights") or {})
    if cfg.get("hard_constraint", False):
        for term in problem.constrained_terms:
            weights.setdefault(term, 0.0)
    if (cfg.get("embedding") or {}).get("periodic", False):
        for c in problem.conditions:
            if isinstance(c, Periodic):
                weights.setdefault(c.name, 0.0)
    train["loss_weights"] = weights
    return train


def build(cfg: dict[str, Any]) -> Plan:
    """The :class:`Plan` of a plain config, every setting checked once (a bad one is a
    :class:`ConfigError` naming its key); the study rules are resolved here, once."""
    check_top_level(cfg)
    device = rank_device(resolve_device(cfg["device"]), distributed.current())
    dtype = resolve_dtype(cfg["dtype"])
    problem = construct(cfg["problem"], "problem")
    attach_inverse(cfg, problem)
    embedded = build_embeddings(cfg, problem)
    cfg = apply_study_rules(cfg, embedded[1])
    train_cfg = TrainConfig.from_dict(_train_dict(cfg, problem))
    widths = list(cfg["model"].get("widths") or [])
    fields = field_names(cfg, problem)
    dim_out = problem.dim_out - len(fields)
    if widths and (widths[0] != problem.dim_in or widths[-1] != dim_out):
        beside = f" (beside the field networks of {', '.join(fields)})" if fields else ""
        raise ConfigError(
            f"model.widths: {widths} must start with the problem's input dimension "
            f"{problem.dim_in} ({', '.join(problem.names)}) and end with its output dimension "
            f"{dim_out}{beside}"
        )
    model = assemble_model(cfg, problem, embedded)
    sampler = construct(cfg["sampler"], "sampler")
    check_against_problem(train_cfg, problem, model)
    return Plan(cfg, problem, model, sampler, train_cfg, device, dtype)
