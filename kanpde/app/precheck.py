"""Every setting of a ``kanpde`` command checked before any work is done.

:func:`precheck` runs before Hydra starts the application (so before Hydra creates or
writes anything in a run directory): it composes the config of the command line exactly
as the application will, and for a sweep (``-m``) the config of every job (the product of
the command line's sweeps and the preset's ``hydra.sweeper.params``, the command line
taking precedence), then checks each with :func:`validate`:

- every number in the config is finite (``nan`` / ``inf`` nowhere);
- every value the solve's objects check themselves (problem, model, sampler, training
  schedule, study rules: :func:`kanpde.app.assemble.build`), including those that depend on
  the problem (widths against its dimensions, B-spline order against its derivative order,
  causal training against its time coordinate, loss-weight names against its terms);
- the output directory (``hydra.run.dir``, for a sweep ``hydra.sweep.dir``) can be created
  and written, and with ``train.resume=true`` it holds a checkpoint.

A failure is a :class:`ConfigError` naming the key; the console script prints
``kanpde: config error: <key>: <what is wrong and what is allowed>`` and exits with
status 2. Command lines with other Hydra flags (``--cfg``, ``--help``, ``-cn``, ...) are
left to Hydra.
"""

from __future__ import annotations

import copy
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from kanpde.app.assemble import DEVICES, Plan, build
from kanpde.core.errors import ConfigError
from kanpde.report.sweeps import basic_sweep

MULTIRUN_FLAGS = ("-m", "--multirun")


class Unresolvable(Exception):
    """The config refers to the runtime of a Hydra run (``${hydra:...}``): it can only be
    checked inside the run."""


def finite_numbers(node: Any, key: str = "") -> None:
    """ConfigError at the first number below ``node`` that is not finite."""
    if isinstance(node, dict):
        for k, v in node.items():
            finite_numbers(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            finite_numbers(v, f"{key}[{i}]")
    elif isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"{key}: must be a finite number, got {node!r}")


def validate(cfg: dict[str, Any], *, check_device: bool = True) -> Plan:
    """Build every object of the solve from the plain config ``cfg`` (no training, no
    files) and return their :class:`Plan`: ConfigError on the first bad setting.
    ``check_device=False`` checks the device name only (a sweep's jobs may run on another
    machine, e.g. a Slurm GPU node)."""
    finite_numbers(cfg)
    if not check_device:
        name = cfg.get("device")
        if not isinstance(name, str) or not (name in DEVICES or name.startswith("cuda:")):
            raise ConfigError(f"device: got {name!r}; allowed values: auto, cpu, cuda, cuda:<n>")
        cfg = {**cfg, "device": "cpu"}
    return build(cfg)


def _can_create_in(directory: Path) -> bool:
    """Whether a directory can be created in ``directory`` (tried, then removed again:
    permission bits alone do not tell for root, read-only or virtual file systems)."""
    try:
        probe = Path(tempfile.mkdtemp(prefix=".kanpde-write-check-", dir=directory))
    except OSError:
        return False
    probe.rmdir()
    return True


def writable_dir(path: Path, key: str) -> None:
    """ConfigError unless ``path`` is a writable directory or can be created as one."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "exists and is not a directory" if probe == path else f"is under the file {probe}"
        raise ConfigError(f"{key}: {path} {what}; give a directory path")
    if not (os.access(probe, os.W_OK | os.X_OK) and _can_create_in(probe)):
        where = "" if probe == path else f" (its existing parent {probe} is not writable)"
        raise ConfigError(
            f"{key}: cannot write to {path}{where}; give a directory you can write, e.g. "
            f"{key}=results/runs/<name>"
        )


LAUNCHER_PLUGINS = {  # Hydra launcher config -> the package that provides it
    "joblib": "hydra-joblib-launcher (a dependency of kanpde: reinstall kanpde)",
    "submitit_slurm": "hydra-submitit-launcher: pip install 'kanpde[sweep]'",
    "submitit_local": "hydra-submitit-launcher: pip install 'kanpde[sweep]'",
}


def _hydra_error(exc: Exception, overrides: list[str]) -> ConfigError:
    """A one-line ConfigError from a Hydra / OmegaConf composition error (a launcher whose
    plugin is not installed: the package to install)."""
    text = " ".join(str(exc).split())
    cause = exc.__cause__
    if text.startswith("Error merging override") and cause is not None:  # say why
        text = f"{text}: " + " ".join(str(cause).split("full_key:")[0].split())
    text = text.split(" Config search path")[0]  # Hydra's search path: machine paths
    missing = re.search(r"Could not load 'hydra/launcher/([^']+)'", text)
    if missing:
        plugin = LAUNCHER_PLUGINS.get(missing.group(1), "the Hydra launcher plugin providing it")
        return ConfigError(f"hydra/launcher: the launcher {missing.group(1)!r} is not "
                           f"installed; it comes with {plugin}")
    keys = sorted({line.split("=", 1)[0].lstrip("+~") for line in overrides}, key=len)
    for key in reversed(keys):  # the most specific key the message names
        if key and key in text:
            return ConfigError(f"{key}: {text}")
    quoted = re.search(r"'([^']+)'", text)
    return ConfigError(f"{quoted.group(1) if quoted else 'overrides'}: {text}")


def compose_config(conf: Path, overrides: list[str]) -> dict[str, Any]:
    """The composed config of ``overrides`` as a plain dict, ``hydra`` node unresolved."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf), version_base="1.3", job_name="kanpde"):
            cfg = compose("solve", overrides=overrides, return_hydra_config=True)
        hydra_node = OmegaConf.create(OmegaConf.to_container(cfg.hydra, resolve=False))
        plain = {str(k): OmegaConf.to_container(cfg[k], resolve=True)
                 if OmegaConf.is_config(cfg[k]) else cfg[k] for k in cfg if k != "hydra"}
    except (HydraException, OmegaConfBaseException) as exc:
        if "HydraConfig was not set" in str(exc):  # ${hydra:...} resolves only in a run
            raise Unresolvable(str(exc)) from None
        raise _hydra_error(exc, overrides) from None
    finally:
        GlobalHydra.instance().clear()
    plain["hydra"] = hydra_node
    return plain


def _hydra_value(node: Any, path: str) -> Any:
    """``node.<path>`` resolved, or None when it cannot be resolved outside a run."""
    try:
        return OmegaConf.select(node, path, throw_on_resolution_failure=True)
    except Exception:
        return None


def sweep_jobs(conf: Path, overrides: list[str]) -> list[list[str]] | None:
    """The override lists of every job of a sweep (Hydra's basic sweeper:
    :func:`kanpde.report.sweeps.basic_sweep` over the preset's ``hydra.sweeper.params`` and
    the command line), or None when some sweep is not a plain list, range or choice (then
    the jobs are checked as they start)."""
    fixed = [line for line in overrides if "=" not in line]  # deletions such as ~key
    assigned = [line for line in overrides if "=" in line]
    command_line = basic_sweep({}, assigned)
    if command_line is None:
        return None
    hydra_node = compose_config(conf, fixed + command_line[0])["hydra"]
    params = OmegaConf.select(hydra_node, "sweeper.params")
    params = OmegaConf.to_container(params) if OmegaConf.is_config(params) else {}
    jobs = basic_sweep(params, assigned)
    return None if jobs is None else [fixed + job for job in jobs]


def precheck(argv: list[str], conf: Path) -> tuple[dict[str, Any], Plan] | None:
    """Check the command line ``argv`` (without the program name) of ``kanpde``; raise
    :class:`ConfigError` on the first bad setting. For a single run, return the composed
    config and the :class:`Plan` built from it (the solve runs that plan: one build per
    solve). Does nothing for command lines with Hydra flags other than ``-m``."""
    multirun = any(a in MULTIRUN_FLAGS for a in argv)
    overrides = [a for a in argv if a not in MULTIRUN_FLAGS]
    if any(a.startswith("-") for a in overrides):
        return None
    try:
        return _precheck(overrides, multirun, conf)
    except Unresolvable:
        return None


def _precheck(overrides: list[str], multirun: bool, conf: Path
              ) -> tuple[dict[str, Any], Plan] | None:
    if not multirun:
        cfg = compose_config(conf, overrides)
        hydra_node = cfg.pop("hydra")
        composed = copy.deepcopy(cfg)
        plan = validate(cfg)
        run_dir = _hydra_value(hydra_node, "run.dir")
        if run_dir is not None:
            writable_dir(Path(str(run_dir)), "hydra.run.dir")
            resume = (cfg.get("train") or {}).get("resume")
            if resume is True and not (Path(str(run_dir)) / "checkpoint.pt").is_file():
                raise ConfigError(
                    f"train.resume: true but there is no checkpoint at "
                    f"{Path(str(run_dir)) / 'checkpoint.pt'}; run without resume, or point "
                    "hydra.run.dir at the directory of the run to continue"
                )
        return composed, plan
    check_sweep(conf, overrides)
    return None


def check_sweep(conf: Path, overrides: list[str]) -> list[tuple[list[str], Plan]] | None:
    """Check every job of the sweep ``overrides`` describes (:func:`sweep_jobs`) and the
    sweep directory; return each job's overrides with the plan built from it (each job
    built once), or None when the jobs are checked as they start. Raises
    :class:`ConfigError` naming the first bad job."""
    jobs = sweep_jobs(conf, overrides)
    if jobs is None:
        return None
    sweep_dir = None
    plans = []
    for job in jobs:
        cfg = compose_config(conf, job)
        hydra_node = cfg.pop("hydra")
        try:
            plans.append((job, validate(copy.deepcopy(cfg), check_device=False)))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in the sweep job {' '.join(job)})") from None
        if sweep_dir is None:
            sweep_dir = _hydra_value(hydra_node, "sweep.dir")
    if sweep_dir is not None:
        writable_dir(Path(str(sweep_dir)), "hydra.sweep.dir")
    return plans
