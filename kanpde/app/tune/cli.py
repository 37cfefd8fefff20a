"""``kanpde-tune search=<name> [search.<key>=<value> ...] [solve overrides ...]``.

The solve config is composed from the overrides exactly as ``kanpde`` composes it (and
checked the same way, before any trial); the preset ``conf/search/<name>.yaml`` is read
from the same config tree, ``search.<key>=<value>`` overrides its settings (e.g.
``search.trials=50``). The study is named ``<name>-<problem>-<model>`` and lives in
``search.dir`` (default ``results/searches/<study name>``); running the same command again
continues it. Exit status: 0 when the study holds the requested trials, 1 when interrupted,
2 for a configuration error (one line, before any trial).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from kanpde.app.cli import conf_dir
from kanpde.app.precheck import compose_config, validate
from kanpde.app.tune.space import Search, parse_search
from kanpde.app.tune.study import run_search
from kanpde.core.errors import ConfigError
from kanpde.report.search import values_of

log = logging.getLogger("kanpde.tune")


def load_preset(conf: Path, name: str, overrides: list[str]) -> dict:
    """The preset ``conf/search/<name>.yaml`` with ``search.<key>=<value>`` overrides."""
    folder = conf / "search"
    available = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    if name not in available:
        raise ConfigError(f"search: unknown preset {name!r}; available: "
                          f"{', '.join(available) or 'none'} (conf/search/*.yaml)")
    try:
        node = OmegaConf.load(folder / f"{name}.yaml")
        if overrides:
            node = OmegaConf.merge(node, OmegaConf.from_dotlist(
                [o.split(".", 1)[1] for o in overrides]))
        return OmegaConf.to_container(node, resolve=True)
    except (OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigError(f"search: {' '.join(str(exc).split())}") from None


def prepare(argv: list[str], conf: Path) -> tuple[Search, dict, Path, str]:
    """Parse and check everything: ``(search, solve config, folder, study name)``."""
    names = [a.split("=", 1)[1] for a in argv if a.startswith("search=")]
    if len(names) != 1 or not names[0]:
        raise ConfigError("search: give exactly one preset, search=<name> (conf/search/*.yaml)")
    search_overrides = [a for a in argv if a.startswith("search.")]
    for o in search_overrides:
        if "=" not in o:
            raise ConfigError(f"{o}: expected search.<key>=<value>")
    overrides = [a for a in argv if not a.startswith("search")]
    if any(a in ("-m", "--multirun") or a.startswith("hydra") for a in overrides):
        raise ConfigError("kanpde-tune: a search runs its own trials; no -m or hydra.* "
                          "overrides (set search.dir for the folder)")
    preset = load_preset(conf, names[0], search_overrides)
    base = preset.get("overrides") if isinstance(preset, dict) else None
    base = base if isinstance(base, list) and all(isinstance(o, str) for o in base) else []
    cfg = compose_config(conf, base + overrides)
    cfg.pop("hydra", None)
    plan = validate(cfg)  # the base config builds
    search = parse_search(names[0], preset, cfg)
    problem = getattr(plan.problem, "name", type(plan.problem).__name__.lower())
    model = str(cfg["model"].get("_target_", "model")).rsplit(".", 1)[-1].lower()
    study_name = f"{search.name}-{problem}-{model}"
    folder = Path(search.dir or f"results/searches/{study_name}")
    return search, cfg, folder, study_name


def main(argv: list[str] | None = None) -> int:
    """``kanpde-tune`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    try:
        search, cfg, folder, study_name = prepare(argv, conf_dir())
    except ConfigError as exc:
        print(f"kanpde-tune: config error: {exc}", file=sys.stderr)
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(folder / "tune.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        study = run_search(search, cfg, folder, study_name)
    except KeyboardInterrupt as exc:
        print(f"kanpde-tune: interrupted ({exc}); run the same command to continue",
              file=sys.stderr)
        return 1
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    try:
        best = study.best_trial
        log.info("best trial %d: %s = %.4e with %s", best.number, search.objective,
                 best.value, values_of(best))
    except ValueError:
        log.warning("no trial completed with a value")
    log.info("search folder: %s (kanpde-report %s)", folder, folder)
    return 0


def console() -> None:
    sys.exit(main())
