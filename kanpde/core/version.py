"""The package version (the installed distribution's, else the source tree's)."""

from __future__ import annotations

from importlib import metadata

SOURCE_VERSION = "0.1.0"

try:
    __version__ = metadata.version("kanpde")
except metadata.PackageNotFoundError:  # a source tree that is not installed
    __version__ = SOURCE_VERSION
