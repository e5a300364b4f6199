"""Writing the mock survey in the real products' formats (HLSP-like mosaics, DR4-like catalogues), atomically."""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..._atomic import (
    atomic_path,
    check_output_path,
    output_error,
    remove_stale_parts,
    temporary_prefix,
)
from ...constants import BANDS, __version__
from .. import photometry as ph
from ..products import IMAGE_TARGETS, catalogue_filenames, image_filename
from .config import MOCK_VERSION, MockSurveyConfig
from .galaxy import GalaxyMock, simulate_galaxy

__all__ = ["make_mock_survey", "read_manifest"]


def _write_images(folder: Path, gm: GalaxyMock, cfg: MockSurveyConfig) -> None:
    from astropy.io import fits

    for b, band in enumerate(BANDS):
        name = image_filename(gm.galaxy_id, band)
        hdr = gm.wcs.to_header()
        plam = ph.PIVOT_WAVELENGTH_AA[b]
        hdr["BUNIT"] = ("ELECTRONS/S", "count rate")
        hdr["FILTER"] = ("F435W" if "f435w" in name else band)
        hdr["INSTRUME"] = ("ACS" if "acs-wfc" in name else "WFC3")
        hdr["EXPTIME"] = (float(ph.EXPOSURE_TIME_S[b]), "s")
        hdr["PHOTPLAM"] = (float(plam), "pivot wavelength (A)")
        hdr["PHOTFLAM"] = (float(10 ** (-0.4 * (ph.AB_ZEROPOINT[b] + 2.408)) / plam**2), "erg/cm2/A per e-/s")
        hdr["TARGNAME"] = IMAGE_TARGETS.get(gm.galaxy_id, gm.galaxy_id)
        hdr["MOCK"] = (True, "synthetic product of the clusterage mock survey")
        hdr["MOCKSEED"] = cfg.seed
        hdr["MOCKCPL"] = (cfg.environment_coupling, "environment coupling")
        with atomic_path(folder / name) as tmp:
            fits.PrimaryHDU(gm.images[b], header=hdr).writeto(tmp)

def _write_catalogues(folder: Path, gm: GalaxyMock, cfg: MockSurveyConfig) -> None:
    from astropy.io import fits
    from astropy.table import Table

    obs_name, sed_name = catalogue_filenames(gm.galaxy_id)
    cat = gm.catalogue
    obs_cols = ["ID_PHANGS_CLUSTER", "PHANGS_X", "PHANGS_Y", "PHANGS_RA", "PHANGS_DEC",
                "PHANGS_CLUSTER_CLASS_HUMAN", "PHANGS_CLUSTER_CLASS_ML_VGG"] + \
               [c for c in cat.columns if c.endswith("_mJy") or c.endswith("_mJy_ERR")]
    sed_cols = ["ID_PHANGS_CLUSTER", "PHANGS_SED_AGE", "PHANGS_SED_MASS", "PHANGS_SED_EBV", "PHANGS_SED_CHISQ",
                "PHANGS_DMPC"] + [c for c in cat.columns if c.startswith("MOCK_")]
    for name, cols in ((obs_name, obs_cols), (sed_name, sed_cols)):
        t = Table.from_pandas(cat[[c for c in cols if c in cat.columns]])
        t.meta["MOCK"] = True
        t.meta["MOCKSEED"] = cfg.seed
        with atomic_path(folder / name) as tmp:
            fits.BinTableHDU(t).writeto(tmp)  # data in HDU 1, as the real catalogues

def _check_output_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output directory {out_dir} is a file; choose a folder name for the survey")
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"output directory {out_dir} exists; choose another or pass --overwrite "
                              f"(overwrite=True) to replace it")
    check_output_path(out_dir, kind="folder")


def make_mock_survey(out_dir: str | os.PathLike, cfg: MockSurveyConfig | None = None, overwrite: bool = False,
                     progress: bool = True) -> Path:
    """Write a mock PHANGS-HST survey to ``out_dir`` (one sub-folder per galaxy) and return its path.

    The survey is built in a temporary sibling folder and renamed into place at the end, so an interrupted run
    leaves nothing under ``out_dir``. A ``mock_survey.json`` manifest records the parameters.

    Parameters
    ----------
    out_dir : path-like
        Destination; refused if it exists unless ``overwrite``.
    cfg : MockSurveyConfig
        Parameters (defaults: seed 0, fraction 0.25, coupling 1, all galaxies).
    overwrite : bool
        Replace an existing ``out_dir``.
    progress : bool
        Show a tqdm bar over galaxies.

    Raises
    ------
    FileExistsError, PermissionError, ValueError
        With the parameter, the value and the fix.
    """
    from tqdm.auto import tqdm

    cfg = cfg or MockSurveyConfig()
    out_dir = Path(out_dir)
    _check_output_dir(out_dir, overwrite)
    tmp = _temporary_dir(out_dir)
    t0 = time.perf_counter()
    n_total = 0
    try:
        for gid in tqdm(cfg.galaxies, desc="mock survey", unit="galaxy", disable=not progress):
            gm = simulate_galaxy(gid, cfg)
            folder = tmp / IMAGE_TARGETS.get(gid, gid.lower())
            folder.mkdir()
            _write_images(folder, gm, cfg)
            _write_catalogues(folder, gm, cfg)
            n_total += len(gm.catalogue)
        manifest = {"kind": "clusterage mock PHANGS-HST survey", "package_version": __version__,
                    "mock_version": MOCK_VERSION, "config": cfg.to_dict(), "n_clusters": n_total,
                    "wall_time_s": round(time.perf_counter() - t0, 2)}
        (tmp / "mock_survey.json").write_text(json.dumps(manifest, indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except OSError as e:   # a full disk while writing into the temporary folder: name the folder asked for
        named = output_error(e, out_dir)
        if named.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise named from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _temporary_dir(out_dir: Path) -> Path:
    """A new hidden folder next to ``out_dir`` to build the survey in (stale ones of killed runs removed first)."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(out_dir.parent, out_dir.name)
        tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(out_dir.name), suffix=".part", dir=out_dir.parent))
        tmp.chmod(0o755)
    except OSError as e:
        raise output_error(e, out_dir) from e
    return tmp


def read_manifest(survey_dir: str | os.PathLike) -> dict | None:
    """The mock survey's manifest, or None if ``survey_dir`` is not a mock survey."""
    p = Path(survey_dir) / "mock_survey.json"
    return json.loads(p.read_text()) if p.exists() else None
