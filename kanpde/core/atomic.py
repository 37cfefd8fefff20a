"""Atomic file writes: the one way kanpde writes a file a reader may see.

:func:`atomic_path` yields a temporary path beside the destination; when the block
succeeds the temporary file is flushed to disk (fsync) and renamed over the destination
(:func:`os.replace`), then the directory entry is synced. A reader sees the old complete
file or the new complete file, never a partial one; a failure (or a kill) inside the block
leaves the destination as it was and removes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def fsync_path(path: Path, directory: bool = False) -> None:
    """Flush ``path`` (a file, or a directory entry) to disk; a file system that cannot sync
    directories is tolerated."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``dest`` (parent created) to write to; on success it
    replaces ``dest`` atomically (module docstring), on failure it is removed.

    ``suffix`` ends the temporary name (a writer that picks its format from the name, such
    as matplotlib's ``savefig``, needs the real extension)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(6)}{suffix}"
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_path(dest.parent, directory=True)


def write_text(dest: str | os.PathLike[str], text: str) -> Path:
    """``text`` (UTF-8) written atomically to ``dest``."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)
