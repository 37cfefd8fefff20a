"""Console entry points; the only module that touches Hydra.

    kanpde problem=<name> model=<name> [key=value ...]    one solve -> results/runs/...
    kanpde -m problem=darcy model=kan,mlp seed=0,1,2        a sweep (Hydra multirun)
    torchrun --nproc_per_node=<n> -m kanpde ...             one data-parallel solve

Exit status of a single run: 0 completed, 1 diverged, interrupted or a lost peer process,
2 configuration error.
"""

from __future__ import annotations

import datetime
import inspect
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from kanpde.train import distributed
from kanpde.train.config import ConfigError

log = logging.getLogger("kanpde")

DEVICES = ("auto", "cpu", "cuda")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
ENGINES = ("auto", "jets", "autograd")


def conf_dir() -> Path:
    """The config tree: $KANPDE_CONF, else ``conf/`` beside the package (source checkout)."""
    env = os.environ.get("KANPDE_CONF")
    path = Path(env) if env else Path(__file__).resolve().parents[1] / "conf"
    return path


# ------------------------------------------------------------------ validation
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
    from hydra.utils import get_object

    try:
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
    kwargs = {**node, **{k: v for k, v in extra.items() if k in params or not params}}
    try:
        return fn(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{key}: {exc}") from exc


def periodic_axes(problem) -> list[int]:
    """Indices of the coordinates on which the problem has a periodic condition."""
    from kanpde.pde import Periodic

    names = list(problem.names)
    return sorted({names.index(c.axis) for c in problem.conditions if isinstance(c, Periodic)})


def assemble_model(cfg: dict[str, Any], problem):
    """Backbone, input embeddings, scaling to [-1, 1] and the optional hard constraint:

        u(x) = T(x, net(E(S(x))))   (T: output transform, E: embeddings, S: scaling)

    ``model.widths`` is given in the problem's dimensions; an embedding widens the
    backbone's first layer to its own output width.
    """
    from kanpde.models import Embedded, FourierEmbedding, PeriodicEmbedding, ScaledModel

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
    widths = list(cfg["model"].get("widths") or [])
    extra: dict[str, Any] = {"seed": cfg["seed"]}
    if embeddings and widths:
        extra["widths"] = [dim, *widths[1:]]
    net = construct(cfg["model"], "model", **extra)
    for emb in reversed(embeddings):
        net = Embedded(emb, net)
    model = ScaledModel(net, problem.domain.lo, problem.domain.hi)
    if cfg.get("hard_constraint", False):
        from kanpde.pde import HardConstraint

        if not problem.has_output_transform:
            raise ConfigError(
                f"hard_constraint: {type(problem).__name__} (variant "
                f"{getattr(problem, 'variant', '-')}) supplies no output transform"
            )
        model = HardConstraint(model, problem)
    return model


def backbone_of(model):
    """The innermost network (below the constraint, scaling and embeddings)."""
    net = model
    while True:
        inner = getattr(net, "net", None)
        if inner is None:
            inner = getattr(net, "model", None)
        if not isinstance(inner, torch.nn.Module):
            return net
        net = inner


def build(cfg: dict[str, Any]):
    """Problem, physical model, sampler, train config, device and dtype from a plain config."""
    from kanpde.train.config import TrainConfig

    check_top_level(cfg)
    device = rank_device(resolve_device(cfg["device"]), distributed.current())
    dtype = resolve_dtype(cfg["dtype"])
    train_cfg = TrainConfig.from_dict(cfg["train"])
    problem = construct(cfg["problem"], "problem")
    widths = list(cfg["model"].get("widths") or [])
    if widths and (widths[0] != problem.dim_in or widths[-1] != problem.dim_out):
        raise ConfigError(
            f"model.widths: {widths} must start with the problem's input dimension "
            f"{problem.dim_in} ({', '.join(problem.names)}) and end with its output dimension "
            f"{problem.dim_out}"
        )
    model = assemble_model(cfg, problem)
    if cfg.get("hard_constraint", False):
        for term in problem.constrained_terms:  # satisfied exactly: no loss needed
            train_cfg.loss_weights.setdefault(term, 0.0)
    if (cfg.get("embedding") or {}).get("periodic", False):
        from kanpde.pde import Periodic

        for c in problem.conditions:  # exact through the embedding
            if isinstance(c, Periodic):
                train_cfg.loss_weights.setdefault(c.name, 0.0)
    sampler = construct(cfg["sampler"], "sampler")
    return problem, model, sampler, train_cfg, device, dtype


# ------------------------------------------------------------------ one solve
def model_description(node: dict[str, Any]) -> dict[str, Any]:
    """The model's config keys (JSON-able) for the run record."""
    return {k: v for k, v in node.items() if isinstance(v, int | float | str | list | bool)}


def solve(cfg: dict[str, Any], run_dir: Path, config_yaml: str) -> str:
    """Train, write ``run_dir/run.h5`` and the figures; return the run status."""
    from kanpde import __version__
    from kanpde.io import write_run
    from kanpde.models import count_parameters
    from kanpde.train import Trainer, grid_size_of
    from kanpde.train.edges import edge_functions

    problem, model, sampler, train_cfg, device, dtype = build(cfg)
    comm = distributed.current()
    run_dir.mkdir(parents=True, exist_ok=True)
    n_params = count_parameters(model)
    if comm.distributed:
        log.info("data-parallel: %d processes, %s shards of the collocation points",
                 comm.world_size, train_cfg.shards or comm.world_size)
    log.info(
        "%s | %s %s (%d parameters) | %s %s | derivatives=%s | %s",
        type(problem).__name__, type(backbone_of(model)).__name__, cfg["model"].get("widths"),
        n_params,
        device, cfg["dtype"], cfg["derivatives"], run_dir,
    )
    trainer = Trainer(
        problem, model, sampler, train_cfg, seed=cfg["seed"], engine=cfg["derivatives"],
        device=device, dtype=dtype, run_dir=run_dir,
    )
    t0 = time.perf_counter()
    result = trainer.fit()
    if not comm.is_main:  # rank 0 writes the run
        return result.status
    coords = result.test.coords
    extra = {}
    edges = edge_functions(model, train_cfg.edge_samples)
    if edges is not None:
        extra["edges"] = edges
    path = write_run(
        run_dir / "run.h5",
        config_yaml=config_yaml,
        attrs={
            "kanpde_version": __version__,
            "device": str(device),
            "dtype": cfg["dtype"],
            "seed": cfg["seed"],
            "n_params": n_params,
            "n_params_final": count_parameters(model),
            "wall_time_s": time.perf_counter() - t0,
            "train_time_s": result.train_time_s,
            "steps": result.steps,
            "status": result.status,
            "message": result.message,
            "problem": type(problem).__name__,
            "variant": str(getattr(problem, "variant", "")),
            "model": type(backbone_of(model)).__name__,
            "embedding": json.dumps(cfg.get("embedding") or {}),
            "hard_constraint": bool(cfg.get("hard_constraint", False)),
            "grid_size": grid_size_of(model) or 0,
            "derivatives": cfg["derivatives"],
            "world_size": comm.world_size,
            "n_shards": trainer.n_shards,
        },
        history=result.history,
        final=result.final,
        eval_fields={
            "coords": coords,
            "u_pred": result.u_pred,
            "u_ref": result.test.u_ref,
        },
        eval_axes=problem.test_axes(),
        coord_names=list(problem.names),
        model_state=model.state_dict(),
        model_info={"class": type(backbone_of(model)).__name__,
                    **model_description(cfg["model"])},
        extra=extra,
    )
    if cfg.get("figures", True):
        from kanpde.plots import figures

        try:
            figures(path)
        except Exception as exc:  # a figure must never cost the result
            log.warning("figures failed: %s", exc)
    summary = "  ".join(f"{k}={v:.3e}" for k, v in result.final.items())
    log.info("%s after %d steps in %.1f s: %s -> %s", result.status, result.steps,
             result.wall_time_s, summary, path)
    if result.status != "completed":
        log.error(result.message)
    return result.status


# ------------------------------------------------------------------ Hydra glue
_STATUS: dict[str, Any] = {"code": 0, "peer_lost": False}
LAUNCH_ENV = "KANPDE_LAUNCH_TIME"
_LAUNCH: dict[str, datetime.datetime] = {}


def launch_time(pattern: str) -> str:
    """The ``${kanpde_now:<strftime pattern>}`` resolver of the run and sweep directories.

    The launch time is ``$KANPDE_LAUNCH_TIME`` (ISO format) when set, else the time of the
    first call in this process; :func:`main` pins it, the same on every rank of a torchrun
    job (rank 0's), so all ranks and sweep workers resolve the same directory."""
    raw = os.environ.get(LAUNCH_ENV)
    if raw:
        try:
            return datetime.datetime.fromisoformat(raw).strftime(pattern)
        except ValueError:
            raise ConfigError(
                f"{LAUNCH_ENV}: expected an ISO date-time such as 2025-01-31T12:00:00, "
                f"got {raw!r}"
            ) from None
    return _LAUNCH.setdefault("t", datetime.datetime.now()).strftime(pattern)


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("kanpde_now", launch_time, use_cache=True, replace=True)


_register_resolvers()


def _pin_launch_time(comm: distributed.Comm) -> None:
    """Rank 0's launch time for every rank (and for the processes they start)."""
    stamp = os.environ.get(LAUNCH_ENV) or datetime.datetime.now().isoformat(timespec="seconds")
    os.environ[LAUNCH_ENV] = comm.broadcast_object(stamp)


def _quiet_rank_overrides(argv: list[str]) -> list[str]:
    """Hydra overrides for ranks other than 0: no .hydra/ files and no log file of their
    own (rank 0 writes them), errors still printed."""
    out = []
    for key, value in (("hydra.output_subdir", "null"), ("hydra/job_logging", "disabled"),
                       ("hydra/hydra_logging", "disabled")):
        if not any(a.split("=", 1)[0].lstrip("+~") == key for a in argv):
            out.append(f"{key}={value}")
    return out


def _task(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    plain = OmegaConf.to_container(cfg, resolve=True)
    yaml_text = OmegaConf.to_yaml(cfg, resolve=True)
    try:
        distributed.export_submitit_env()  # a multi-task submitit job: torchrun's vars
        if not distributed.init_from_env().is_main:  # rank 0 logs
            logging.getLogger("kanpde").setLevel(logging.WARNING)
        status = solve(plain, run_dir, yaml_text)
    except ConfigError as exc:
        print(f"kanpde: config error: {exc}", file=sys.stderr)
        _STATUS["code"] = max(_STATUS["code"], 2)
        return
    except distributed.PeerLost as exc:
        ckpt = run_dir / "checkpoint.pt"
        print(
            f"kanpde: data-parallel run stopped: {exc}\n"
            f"kanpde: the last checkpoint {ckpt} is intact"
            f"{'' if ckpt.is_file() else ' (none was written yet)'}; continue with the same "
            f"command plus hydra.run.dir={run_dir} train.resume=true",
            file=sys.stderr, flush=True,
        )
        _STATUS["code"], _STATUS["peer_lost"] = max(_STATUS["code"], 1), True
        return
    if status != "completed":
        _STATUS["code"] = max(_STATUS["code"], 1)


def main() -> None:
    """``kanpde`` console script (Hydra application over ``conf/solve.yaml``)."""
    import hydra

    path = conf_dir()
    if not (path / "solve.yaml").is_file():
        print(f"kanpde: config tree not found at {path} (set KANPDE_CONF)", file=sys.stderr)
        sys.exit(2)
    try:
        comm = distributed.init_from_env()  # torchrun: join the process group
        _pin_launch_time(comm)
    except (ConfigError, distributed.PeerLost) as exc:
        print(f"kanpde: {exc}", file=sys.stderr)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    if not comm.is_main:
        sys.argv.extend(_quiet_rank_overrides(sys.argv[1:]))
    app = hydra.main(version_base="1.3", config_path=str(path), config_name="solve")(_task)
    app()
    if not _STATUS["peer_lost"]:  # with a dead peer, leaving the group could block
        distributed.shutdown()
    sys.exit(_STATUS["code"])


def report_main() -> None:
    """``kanpde-report <run or sweep dirs> -o <study dir>`` (see :mod:`kanpde.report`)."""
    from kanpde.report import main as report

    sys.exit(report())


if __name__ == "__main__":
    main()
