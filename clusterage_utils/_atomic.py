"""Write files atomically: to a temporary name in the same folder, then rename.

An interrupted write therefore never leaves a half-written file under the final name.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str, optional
        Suffix of the temporary file, after ``.part`` (defaults to that of ``path``, so writers that infer the
        format from it still work).

    Examples
    --------
    >>> with atomic_path("table.fits") as tmp:   # doctest: +SKIP
    ...     hdul.writeto(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.",
                               suffix=".part" + (suffix if suffix is not None else path.suffix), dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as astropy refuse to overwrite; let them create it
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_csv(frame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a pandas frame as CSV atomically (temporary file, then rename); returns the path.

    Keyword arguments go to :meth:`pandas.DataFrame.to_csv` (``index=False`` unless given).
    """
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)
