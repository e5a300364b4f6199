"""Optional fetcher for the real PHANGS-HST products (needs network access to MAST).

Files are fetched through astropy's download cache (``astropy.utils.data.download_file``, so an interrupted
session resumes from what is cached), copied atomically into ``dest/<target>/`` and logged with their sha256 in
``dest/checksums.sha256``; files already logged with a matching checksum are skipped. A local mirror (a directory,
or a ``file://`` base URL laid out like MAST) can stand in for the archive - that is how the tests run it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from pathlib import Path

from .._atomic import atomic_path
from ..constants import BANDS
from .products import ACS_B_BAND_GALAXIES, IMAGE_TARGETS, catalogue_target
from .reference import check_galaxies

__all__ = ["MAST_HST_BASE", "MAST_CAT_BUNDLE_BASE", "image_urls", "catalogue_bundle_url", "fetch_phangs"]

MAST_HST_BASE = "https://archive.stsci.edu/hlsps/phangs-hst"
MAST_CAT_BUNDLE_BASE = "https://archive.stsci.edu/hlsps/phangs-cat/dr4/bundles"


def image_urls(galaxy_id: str, base: str = MAST_HST_BASE) -> dict[str, str]:
    """Science-image URLs of the five bands:
    ``<base>/<target>/hlsp_phangs-hst_hst_<instr>_<target>_<filter>_v1_exp-drc-sci.fits``.

    The B band is ACS ``f435w`` for the galaxies observed that way (``products.ACS_B_BAND_GALAXIES``).
    """
    target = IMAGE_TARGETS[galaxy_id]
    out = {}
    for band in BANDS:
        if band == "F438W" and galaxy_id in ACS_B_BAND_GALAXIES:
            instr, filt = "acs-wfc", "f435w"
        else:
            instr, filt = "wfc3-uvis", band.lower()
        out[band] = f"{base.rstrip('/')}/{target}/hlsp_phangs-hst_hst_{instr}_{target}_{filt}_v1_exp-drc-sci.fits"
    return out


def catalogue_bundle_url(galaxy_id: str, base: str = MAST_CAT_BUNDLE_BASE) -> str:
    """DR4 catalogue bundle URL: ``<base>/hlsp_phangs-cat_hst_acs-uvis_<target>_multi_v1_cats.tar.gz``."""
    return f"{base.rstrip('/')}/hlsp_phangs-cat_hst_acs-uvis_{catalogue_target(galaxy_id)}_multi_v1_cats.tar.gz"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_log(log: Path) -> dict[str, str]:
    if not log.exists():
        return {}
    out = {}
    for line in log.read_text().splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            out[name.strip()] = digest
    return out


def _retrieve(url: str, mirror: str | None) -> Path:
    """Local path of ``url``: from a mirror directory if given, else through astropy's download cache."""
    if mirror and not mirror.startswith("file://"):
        rel = url.split("/hlsps/", 1)[-1] if "/hlsps/" in url else url.rsplit("/", 1)[-1]
        for cand in (Path(mirror) / rel, Path(mirror) / Path(rel).name):
            if cand.exists():
                return cand
        raise FileNotFoundError(f"mirror {mirror}: neither {rel} nor {Path(rel).name} found")
    from astropy.utils.data import download_file

    return Path(download_file(url, cache=True, pkgname="clusterage", show_progress=False))


def fetch_phangs(galaxies: list[str], dest: str | os.PathLike, hst_base: str = MAST_HST_BASE,
                 cat_base: str = MAST_CAT_BUNDLE_BASE, mirror: str | None = None, progress: bool = True) -> Path:
    """Fetch images and DR4 catalogues of ``galaxies`` into ``dest`` (one folder per image target).

    Parameters
    ----------
    galaxies : list of str
        Table 1 galaxy ids.
    dest : path-like
        Destination; ``clusterage curate --products dest`` reads it.
    hst_base, cat_base : str
        Base URLs (MAST by default; ``file:///path`` for a local copy laid out the same way).
    mirror : str, optional
        A directory holding the files (same relative paths as below ``/hlsps/``, or flat).

    Returns
    -------
    Path
        ``dest``.
    """
    from tqdm.auto import tqdm

    galaxies = check_galaxies(galaxies)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    log = dest / "checksums.sha256"
    done = _read_log(log)
    jobs = []
    for gid in galaxies:
        folder = IMAGE_TARGETS[gid]
        for url in image_urls(gid, hst_base).values():
            jobs.append((folder, url, False))
        jobs.append((folder, catalogue_bundle_url(gid, cat_base), True))
    for folder, url, is_bundle in tqdm(jobs, desc="fetching", unit="file", disable=not progress):
        name = url.rsplit("/", 1)[-1]
        rel = f"{folder}/{name}"
        target = dest / folder / name
        if rel in done and target.exists() and _sha256(target) == done[rel]:
            continue
        src = _retrieve(url, mirror)
        with atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
        digest = _sha256(target)
        with open(log, "a") as fh:
            fh.write(f"{digest}  {rel}\n")
        if is_bundle:
            with tarfile.open(target) as tar:
                for m in tar.getmembers():
                    if m.isfile() and m.name.endswith(".fits"):
                        fh = tar.extractfile(m)
                        with atomic_path(dest / folder / Path(m.name).name) as tmp:
                            with open(tmp, "wb") as out:
                                shutil.copyfileobj(fh, out)
    return dest
