"""Low-level helpers every layer may use: errors, paths, atomic writes, the dtype
vocabulary, the version, and the Jet algebra (:mod:`kanpde.core.jet` and
:mod:`kanpde.core.dtypes` need torch; import them by name).

Nothing here imports another part of kanpde.
"""

from kanpde.core.errors import ConfigError
from kanpde.core.paths import cache_dir
from kanpde.core.version import __version__

__all__ = ["ConfigError", "__version__", "cache_dir"]
