"""Where the book keeps its default data and results: one home for every default path.

``<root>/data/<profile>[_c<coupling>][_s<seed>]/cutouts.h5``   the profile's mock survey, curated
``<root>/results/<profile>[-<data file stem>]``                 the results store

``<root>`` is ``$CLUSTERAGE_ROOT`` if set, else the checkout this package sits in (a folder with
``pyproject.toml`` above the package), else the current directory.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "source_root", "default_cutouts_path", "default_store_path"]


def project_root() -> Path:
    """The folder that holds ``data/``, ``results/`` and ``_build/`` (see the module docstring)."""
    env = os.environ.get("CLUSTERAGE_ROOT")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists():
        return checkout
    return Path.cwd()


def source_root() -> Path:
    """The checkout that holds the book's sources (``notebooks/``, ``book/``, ``_config.yml``).

    Raises
    ------
    FileNotFoundError
        If the package is not installed from a checkout (the book's sources are not in the wheel).
    """
    checkout = Path(__file__).resolve().parent.parent
    if not (checkout / "notebooks").is_dir():
        raise FileNotFoundError(f"{checkout}: no notebooks/ here; building the book needs a checkout of the "
                                f"repository (pip install -e .)")
    return checkout


def default_cutouts_path(profile: str = "laptop", root: str | os.PathLike | None = None, seed: int = 0,
                         environment_coupling: float = 1.0) -> Path:
    """Where a profile's mock cutout file lives (whether or not it exists yet):
    ``<root>/<profile>[_c<coupling>][_s<seed>]/cutouts.h5`` with ``root`` defaulting to ``<project>/data``."""
    tag = profile + ("" if environment_coupling == 1.0 else f"_c{environment_coupling:g}") + \
        ("" if seed == 0 else f"_s{seed}")
    return Path(root if root is not None else project_root() / "data") / tag / "cutouts.h5"


def default_store_path(profile: str, data: str | os.PathLike | None = None) -> Path:
    """The results store of a profile: ``<project>/results/<profile>``, or ``.../<profile>-<file stem>`` for a
    cutout file other than the profile's mock survey."""
    name = profile if data is None else f"{profile}-{Path(data).stem}"
    return project_root() / "results" / name
