"""``python -m kanpde.explain <run dir> [options]`` (same as ``kanpde-explain``)."""

from kanpde.app.explain_cli import console

console()
