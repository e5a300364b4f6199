"""Write files atomically: to a temporary name in the same folder, then rename.

An interrupted write therefore never leaves a half-written file under the final name. A temporary name is hidden
and says who writes it: ``.<name>.<host>-<pid>.<random>.part<suffix>``. A process killed with SIGKILL cannot remove
its temporary file; readers ignore such names (:func:`is_temporary`) and the next write to the same folder removes
the stale ones (:func:`remove_stale_parts`): those whose writer on this host is dead, or that nobody has modified
for :data:`STALE_AFTER_S` (a writer on another host, or a name from before the writer was part of it). A live
writer's file is never removed, so concurrent writers do not disturb each other.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["STALE_AFTER_S", "atomic_path", "save_csv", "temporary_prefix", "is_temporary", "remove_stale_parts",
           "check_output_path", "output_error", "OutputPathError"]

#: A temporary file or folder not modified for this long is stale whoever wrote it (seconds).
STALE_AFTER_S = 3600
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_TAG = re.compile(r"\.(?P<host>[A-Za-z0-9-]{1,32})-(?P<pid>\d+)\.[A-Za-z0-9_]+\.part")


class OutputPathError(OSError):
    """Writing an output failed (full disk, quota, read-only or unwritable location); the message names the path
    the user gave, not a temporary. ``errno`` is the underlying error number, when there is one."""

    def __init__(self, message: str, errno_: int | None = None):
        super().__init__(message)
        self.errno = errno_


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def temporary_prefix(name: str) -> str:
    """The start of the temporary name of ``name`` written by this process: ``.<name>.<host>-<pid>.``."""
    return f".{name}.{_host()}-{os.getpid()}."


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is a temporary one of :func:`atomic_path` (hidden, with ``.part``)."""
    return name.startswith(".") and ".part" in name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _is_stale(path: Path, now: float) -> bool:
    try:
        age = now - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if age > STALE_AFTER_S:
        return True
    m = _TAG.search(path.name)
    return bool(m) and m["host"] == _host() and not _pid_alive(int(m["pid"]))


def remove_stale_parts(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove the stale temporary files and folders in ``folder`` (only those of ``name`` if given); returns them.

    Never raises: a temporary that cannot be removed is left for the next writer.
    """
    folder = Path(folder)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_temporary(entry.name) or (name is not None and not entry.name.startswith(f".{name}.")):
            continue
        p = Path(entry.path)
        if _is_stale(p, now):
            try:
                shutil.rmtree(p) if entry.is_dir(follow_symlinks=False) else p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def check_output_path(path: str | os.PathLike, kind: str = "file") -> Path:
    """Check that a ``kind`` ("file" or "folder") can be written at ``path``; returns ``path``.

    Raises
    ------
    IsADirectoryError, NotADirectoryError
        A folder where a file is wanted (or the reverse), or a file above ``path``.
    PermissionError
        The nearest existing folder above ``path`` is not writable.
    """
    path = Path(path)
    if kind == "file" and path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name for the output, e.g. {path / 'cutouts.h5'}")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file; give a folder for the output")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {parent} is a file, not a folder; choose another location")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: {parent} is not writable; choose a writable location")
    return path


def output_error(err: OSError, path: str | os.PathLike) -> OutputPathError:
    """An OSError met while writing ``path`` (or its temporary), reworded to name ``path`` and the fix."""
    code = err.errno
    if code is None:   # h5py puts the number in the message only; astropy says it in words, or as a short write
        m = re.search(r"errno = (\d+)", str(err))
        full = re.search(r"(no|not enough) space|\d+ requested and \d+ written", str(err), re.I)
        code = int(m.group(1)) if m else errno.ENOSPC if full else None
    what = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
            errno.EFBIG: "file too large for this device or limit", errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted", errno.EROFS: "read-only file system"}.get(
        code, err.strerror or str(err))
    hint = "free some space or choose another location" if code in _FULL else "choose a writable location"
    return OutputPathError(f"cannot write {path}: {what} ({hint}); nothing was written", code)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Stale temporaries of ``path`` left by killed writers are removed first (:func:`remove_stale_parts`).

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str, optional
        Suffix of the temporary file, after ``.part`` (defaults to that of ``path``, so writers that infer the
        format from it still work).

    Raises
    ------
    OutputPathError
        When the temporary cannot be created or written (unwritable folder, full disk): names ``path``, not the
        temporary; nothing is left behind.

    Examples
    --------
    >>> with atomic_path("table.fits") as tmp:   # doctest: +SKIP
    ...     hdul.writeto(tmp)
    """
    path = Path(path)
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(path.parent, path.name)
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name),
                                   suffix=".part" + (suffix if suffix is not None else path.suffix), dir=path.parent)
        os.close(fd)
        os.unlink(tmp)  # writers such as astropy refuse to overwrite; let them create it
    except OSError as e:
        raise output_error(e, path) from e
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as e:
        if not isinstance(e, OutputPathError) and output_error(e, path).errno in (*_FULL, errno.EROFS):
            raise output_error(e, path) from e
        raise
    finally:
        with contextlib.suppress(OSError):
            if tmp_path.is_dir() and not tmp_path.is_symlink():
                shutil.rmtree(tmp_path)
            elif tmp_path.exists() or tmp_path.is_symlink():
                tmp_path.unlink()


def save_csv(frame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a pandas frame as CSV atomically (temporary file, then rename); returns the path.

    Keyword arguments go to :meth:`pandas.DataFrame.to_csv` (``index=False`` unless given).
    """
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)
