"""The ``run.h5`` schema (:mod:`kanpde.results.schema`): written atomically, read back as
plain Python and numpy without torch (:func:`read_run`); :func:`load_state_dict_tensors`
(:mod:`kanpde.results.tensors`, which imports torch) restores a stored model state."""

from kanpde.results.read import RunRecord, read_group_attrs, read_run
from kanpde.results.schema import (
    ALLOWED_STATUS,
    REQUIRED_ATTRS,
    SCHEMA_VERSION,
    environment_versions,
)
from kanpde.results.write import add_group, write_run

__all__ = [
    "ALLOWED_STATUS",
    "REQUIRED_ATTRS",
    "SCHEMA_VERSION",
    "RunRecord",
    "add_group",
    "environment_versions",
    "read_group_attrs",
    "read_run",
    "write_run",
]
