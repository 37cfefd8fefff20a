"""The Hydra application on top of everything: config assembly, one solve, the console
entry points (``kanpde``, ``kanpde-report``, ``kanpde-explain``) and the explain pipeline.

Everything below this package is plain Python and usable from a script or a notebook.
"""

from kanpde.app import schema as schema  # registers the config schema (before composing)
from kanpde.app.assemble import (
           Plan,
           assemble_model,
           build,
           construct,
           periodic_axes,
           resolve_device,
)
from kanpde.app.cli import conf_dir, launch_time
from kanpde.app.precheck import precheck, validate
from kanpde.app.solve import solve

__all__ = ["Plan", "assemble_model", "build", "conf_dir", "construct", "launch_time",
           "periodic_axes", "precheck", "resolve_device", "solve", "validate"]
