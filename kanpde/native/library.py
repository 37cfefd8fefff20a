"""Build, cache and load the native (C, OpenMP) KAN kernels with the system C compiler.

The source files next to this module are compiled on first use into a shared library under
``<cache dir>/native/`` (``$KANPDE_CACHE`` or ``~/.cache/kanpde``, as for reference solutions),
named by a digest of the source, the compiler's version and the flags, so an edit or a new
compiler gives a new file; the build writes a temporary file and renames it into place, so
concurrent processes (e.g. ``torchrun`` ranks) never load a half-written library. The library
is called through :mod:`ctypes` (which releases the GIL), so no Python headers and no PyTorch
headers are needed: building takes about a second.

Everything degrades gracefully: without a working compiler (or with ``KANPDE_NATIVE=0``) the
models use their pure-PyTorch contractions, and :func:`native_status` says why.
Compiler: ``$CC`` or ``cc``. Flags: ``-O3 -fPIC -shared -fopenmp`` (``-march=native`` is not
used, so a cache directory shared across the nodes of a cluster stays valid; on x86-64 the
kernels carry an AVX2/FMA clone chosen at load time).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import subprocess
import threading
from pathlib import Path

from kanpde.core.atomic import atomic_path
from kanpde.core.paths import cache_dir

ABI_VERSION = 6
SOURCES = ("kan_jet.c", "kan_jet_impl.h")  # the .c files are compiled, all are hashed
FLAGS = ("-O3", "-fPIC", "-shared", "-fopenmp", "-std=gnu11")

_lock = threading.Lock()
_state: dict[str, object] = {}


def _source_dir() -> Path:
    return Path(__file__).resolve().parent


def _compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "cc"))


def _compiler_version(cc: list[str]) -> str:
    out = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise OSError(f"{' '.join(cc)} --version failed: {out.stderr.strip()[:200]}")
    return out.stdout


def _build(target_dir: Path) -> Path:
    cc = _compiler()
    sources = [_source_dir() / name for name in SOURCES]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.read_bytes())
    digest.update(_compiler_version(cc).encode())
    digest.update(" ".join(FLAGS).encode())
    digest.update(os.uname().machine.encode())
    lib = target_dir / f"kanpde_native-{digest.hexdigest()[:16]}.so"
    if lib.exists():
        return lib
    with atomic_path(lib, suffix=".so.tmp") as tmp:
        cmd = [*cc, *FLAGS, "-o", str(tmp), *(str(p) for p in sources if p.suffix == ".c"),
               "-lm"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise OSError(f"compiling the native kernels failed ({' '.join(cmd)}):\n"
                          f"{out.stderr.strip()[:2000]}")
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    i64, ptr, cint = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    signatures = {  # name: argument types (every kernel returns int or nothing)
        "kan_jet_forward": ([i64] * 10 + [ptr] * 13 + [cint], cint),
        "kan_jet_backward": ([i64] * 9 + [ptr] * 18 + [cint], cint),
        "bspline_uniform_local": ([i64] * 4 + [ptr] * 6 + [cint], None),
    }
    for name, (args, result) in signatures.items():
        for suffix in ("f32", "f64"):
            fn = getattr(lib, f"{name}_{suffix}")
            fn.argtypes, fn.restype = args, result
    lib.kan_jet_abi_version.restype = cint


def load_library() -> ctypes.CDLL | None:
    """The loaded native library, building it on first use; None when unavailable.

    The outcome (library or failure reason) is remembered for the process.
    """
    with _lock:
        if "lib" in _state:
            return _state["lib"]  # type: ignore[return-value]
        lib: ctypes.CDLL | None = None
        reason = None
        if os.environ.get("KANPDE_NATIVE", "1").strip().lower() in ("0", "false", "off", "no"):
            reason = "disabled by KANPDE_NATIVE=0"
        else:

            try:
                path = _build(cache_dir() / "native")
                lib = ctypes.CDLL(str(path))
                _declare(lib)
                if lib.kan_jet_abi_version() != ABI_VERSION:
                    raise OSError(f"{path} has ABI {lib.kan_jet_abi_version()}, "
                                  f"expected {ABI_VERSION}")
            except (OSError, subprocess.SubprocessError, AttributeError) as err:
                lib, reason = None, f"{type(err).__name__}: {err}"
        _state["lib"], _state["reason"] = lib, reason
        return lib


def native_status() -> str:
    """``"available"`` or the reason the native kernels are not used (builds if needed)."""
    lib = load_library()
    return "available" if lib is not None else str(_state["reason"])


def reset_native_state() -> None:
    """Forget the loaded library / failure, so the next :func:`load_library` retries (tests)."""
    with _lock:
        _state.clear()
