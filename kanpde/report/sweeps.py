"""What a sweep should have produced and did not: missing runs of Hydra sweeps.

Two sources, both plain files that Hydra leaves (read with Hydra's own override parser):

* a *job directory* (one holding ``.hydra/``, written when the job starts) without
  ``run.h5``: the run started and did not finish (crashed, was killed, or is still
  running); its overrides come from ``.hydra/overrides.yaml`` and the last line of its
  log file is quoted;
* a *sweep directory* (one holding ``multirun.yaml``) whose basic-sweeper job list has
  numbers without a directory: those runs never started (the sweep was stopped, or is
  still queued). The job list is the Cartesian product of ``hydra.sweeper.params``
  followed by the command-line overrides (``hydra.overrides.task``), a later override of a
  key replacing the earlier one in place, in the order of Hydra's basic sweeper; job ``n``
  is the ``n``-th element and lives in ``<sweep dir>/<n>`` (``hydra.sweep.subdir`` =
  ``${hydra.job.num}``, the kanpde default). Sweep values understood: comma lists
  (``a,b,[1,2],[3,4]``), ``choice(...)`` and ``range(start, stop[, step])``; for anything
  else (``glob(...)``, a custom sweeper or subdir) the expected list is unknown and only
  started-but-unfinished runs are reported.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

__all__ = ["MissingRun", "basic_sweep", "expand_sweep", "expected_jobs", "find_missing"]

_JOB_NUM_SUBDIR = "${hydra.job.num}"


@dataclass
class MissingRun:
    """A run a sweep should have written and did not."""

    directory: Path  # the job directory (existing or expected)
    overrides: list[str]
    reason: str


def expand_sweep(value: str) -> list[str] | None:
    """The values a basic-sweeper override value takes, as Hydra's basic sweeper writes them
    into each job's overrides (Hydra's own override parser), or None when not understood.

    ``"0,1,2"`` -> ``["0", "1", "2"]``; ``"[2,5,1],[2,10,1]"`` -> two lists;
    ``"range(0,3)"`` -> ``["0", "1", "2"]``; ``"choice(a,b)"`` -> ``["a", "b"]``;
    ``"kan"`` -> ``["kan"]``; ``"glob(*)"``, ``"interval(0,1)"`` (they need the config or
    a search sweeper) and unparsable values -> None.
    """
    try:
        override = _parser().parse_overrides([f"sweep_key={value.strip()}"])[0]
    except HydraException:
        return None
    if not override.is_sweep_override():
        return [override.get_value_element_as_str()]
    try:
        return list(override.sweep_string_iterator())
    except HydraException:
        return None


def _parser() -> OverridesParser:
    if "parser" not in _PARSER:
        _PARSER["parser"] = OverridesParser.create()
    return _PARSER["parser"]


_PARSER: dict[str, OverridesParser] = {}


def expected_jobs(multirun_yaml: str | os.PathLike[str]) -> list[list[str]] | None:
    """The overrides of every job of a basic-sweeper multirun, in job-number order.

    None when the file cannot be read or uses a sweeper, sweep syntax or subdir pattern that
    is not understood (see the module docstring).
    """
    try:
        data = yaml.safe_load(Path(multirun_yaml).read_text())
    except (OSError, yaml.YAMLError):
        return None
    hydra = (data or {}).get("hydra") if isinstance(data, dict) else None
    if not isinstance(hydra, dict):
        return None
    sweeper = hydra.get("sweeper") or {}
    if "BasicSweeper" not in str(sweeper.get("_target_", "BasicSweeper")):
        return None
    if str((hydra.get("sweep") or {}).get("subdir", _JOB_NUM_SUBDIR)) != _JOB_NUM_SUBDIR:
        return None
    params = sweeper.get("params") or {}
    task = [str(o) for o in ((hydra.get("overrides") or {}).get("task") or [])]
    return basic_sweep(params, task)


def basic_sweep(params: dict[str, Any], overrides: Iterable[str]) -> list[list[str]] | None:
    """The jobs of Hydra's basic sweeper, in job-number order: the override list of each.

    ``params`` are the sweeper's ``hydra.sweeper.params`` (key -> sweep value), then come
    the command line's ``overrides``; a later key replaces an earlier one in place, and the
    jobs are the Cartesian product of the values (:func:`expand_sweep`). None when an
    override is not ``key=value`` or a value cannot be enumerated."""
    args = [f"{k}={_param_text(v)}" for k, v in params.items()] + list(overrides)
    axes: dict[str, list[str]] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            return None
        key = key.strip()
        values = expand_sweep(value)
        if values is None:
            return None
        axes[key] = [f"{key}={v}" for v in values]  # a later key replaces in place
    return [list(combo) for combo in itertools.product(*axes.values())]


def _param_text(value: Any) -> str:
    """A sweeper param as Hydra formats it (``f"{k}={v}"`` of the loaded YAML value)."""
    if isinstance(value, bool):
        return str(value)
    if value is None:
        return "None"
    return str(value)


def _read_overrides(job_dir: Path) -> list[str]:
    try:
        data = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [str(o) for o in data] if isinstance(data, list) else []


def _last_log_line(job_dir: Path) -> str:
    """The last non-empty line of the job's ``*.log`` file(s), or ""."""
    lines: list[str] = []
    for log in sorted(job_dir.glob("*.log")):
        try:
            text = log.read_text(errors="replace")
        except OSError:
            continue
        lines += [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def find_missing(
    paths: Iterable[str | os.PathLike[str]], run_file: str = "run.h5"
) -> list[MissingRun]:
    """Missing runs under ``paths`` (see the module docstring), sorted by directory."""
    missing: dict[Path, MissingRun] = {}
    for p in paths:
        root = Path(p)
        if not root.is_dir():
            continue
        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            here = Path(dirpath)
            if ".hydra" in dirs and run_file not in files:
                last = _last_log_line(here)
                reason = "started but left no run.h5 (crashed, killed or still running)"
                if last:
                    reason += f"; last log line: {last}"
                missing[here.resolve()] = MissingRun(here, _read_overrides(here), reason)
            if "multirun.yaml" in files:
                jobs = expected_jobs(here / "multirun.yaml")
                for num, overrides in enumerate(jobs or []):
                    job_dir = here / str(num)
                    if not job_dir.exists():
                        missing[job_dir.resolve()] = MissingRun(
                            job_dir, overrides, "not started (sweep stopped or still queued)"
                        )
            dirs[:] = [d for d in dirs if d not in (".hydra", ".submitit")]
    return sorted(missing.values(), key=lambda m: _sort_key(m.directory))


def _sort_key(path: Path) -> tuple:
    """Natural order: job 2 before job 10."""
    parts = []
    for part in path.parts:
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)
