"""Console entry points; with :mod:`kanpde.app.assemble` the only code that touches Hydra.

    kanpde problem=<name> model=<name> [key=value ...]    one solve -> results/runs/...
    kanpde -m problem=darcy model=kan,mlp seed=0,1,2        a sweep (Hydra multirun)
    torchrun --nproc_per_node=<n> -m kanpde ...             one data-parallel solve
    kanpde-report <run or sweep dirs> -o <study dir>        tables and figures

Exit status of a single run: 0 completed, 1 diverged, interrupted or a lost peer process,
2 configuration error.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

import kanpde.conf
from kanpde.app.assemble import build
from kanpde.app.precheck import precheck
from kanpde.app.solve import solve
from kanpde.core.errors import ConfigError
from kanpde.report import main as report
from kanpde.train import distributed


def conf_dir() -> Path:
    """The config tree: ``$KANPDE_CONF``, else the installed package ``kanpde.conf``."""
    env = os.environ.get("KANPDE_CONF")
    if env:
        return Path(env)
    return Path(kanpde.conf.__file__).resolve().parent


# ------------------------------------------------------------------ Hydra glue
_STATUS: dict[str, Any] = {"code": 0, "peer_lost": False}
_CHECKED: dict[str, Any] = {}  # the up-front check's composed config and plan (a single run)
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
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
        distributed.export_submitit_env()  # a multi-task submitit job: torchrun's vars
        if not distributed.init_from_env().is_main:  # rank 0 logs
            logging.getLogger("kanpde").setLevel(logging.WARNING)
        # the plan the up-front check built from this very config, else (a sweep job, a
        # config that resolves only inside the run) built here
        checked = _CHECKED.pop("plan", None) if _CHECKED.pop("config", None) == plain else None
        plan = checked if checked is not None else build(plain)
        yaml_text = OmegaConf.to_yaml(OmegaConf.create(plan.config))
        status = solve(plan, run_dir, yaml_text)
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
    try:
        checked = precheck(sys.argv[1:], path)  # before Hydra creates or writes anything
    except ConfigError as exc:
        print(f"kanpde: config error: {exc}", file=sys.stderr)
        sys.exit(2)
    if checked is not None:
        _CHECKED["config"], _CHECKED["plan"] = checked
    source = str(path) if os.environ.get("KANPDE_CONF") else "pkg://kanpde.conf"
    app = hydra.main(version_base="1.3", config_path=source, config_name="solve")(_task)
    app()
    if not _STATUS["peer_lost"]:  # with a dead peer, leaving the group could block
        distributed.shutdown()
    sys.exit(_STATUS["code"])


def report_main() -> None:
    """``kanpde-report <run or sweep dirs> -o <study dir>`` (see :mod:`kanpde.report`)."""
    sys.exit(report())
