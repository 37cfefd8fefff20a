"""``python -m kanpde.explain <run dir> [options]`` (same as ``kanpde-explain``)."""

from kanpde.explain.cli import console

console()
