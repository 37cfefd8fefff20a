"""Low-level helpers every layer may use: errors, paths, the version, the Jet algebra.

Nothing here imports another part of kanpde.
"""

from kanpde.core.errors import ConfigError
from kanpde.core.jet import Jet
from kanpde.core.paths import cache_dir
from kanpde.core.version import __version__

__all__ = ["ConfigError", "Jet", "__version__", "cache_dir"]
