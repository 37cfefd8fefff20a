"""The error every configuration check raises."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the allowed values."""
