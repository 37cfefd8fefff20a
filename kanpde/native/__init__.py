"""Native (C, OpenMP) kernels, compiled with the system C compiler on first use.

:func:`load_library` builds/loads them (None when no compiler is available or when
``KANPDE_NATIVE=0``); :func:`native_status` says which. See :mod:`kanpde.native.library`.
"""

from kanpde.native.library import load_library, native_status, reset_native_state

__all__ = ["load_library", "native_status", "reset_native_state"]
