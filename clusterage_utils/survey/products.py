"""PHANGS-HST product names, discovery, and catalogue reading (one code path for real and mock products).

File-name patterns follow the public HLSP releases (``phangs-hst`` images, ``phangs-cat`` DR4 catalogues); see the
project's ``docs`` and the book's data page. Image targets are not zero-padded (``ngc628c``) and some are mosaics
(``ngc3351mosaic``); catalogue targets are zero-padded (``ngc0628c``). Lookups therefore glob and compare
*normalised* target names.
"""
from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..constants import BANDS
from .reference import galaxies

__all__ = ["IMAGE_TARGETS", "ACS_B_BAND_GALAXIES", "AGE_COLUMNS_MYR", "MASS_COLUMNS", "EBV_COLUMNS", "ID_COLUMN",
           "FILL_VALUES", "MOCK_COLUMNS", "normalise_target", "catalogue_target", "galaxy_id_for",
           "image_filename", "catalogue_filenames", "ProductError", "find_band_images",
           "read_cluster_catalogue"]

#: Image target name per galaxy id (as in the HLSP file names; mosaics flagged by suffix).
IMAGE_TARGETS: dict[str, str] = {
    "NGC_5068": "ngc5068mosaic", "IC_5332": "ic5332", "NGC_628C": "ngc628c", "NGC_3351": "ngc3351mosaic",
    "NGC_3627": "ngc3627mosaic", "NGC_2835": "ngc2835", "NGC_4254": "ngc4254mosaic", "NGC_5248": "ngc5248",
    "NGC_4321": "ngc4321mosaic", "NGC_4535": "ngc4535", "NGC_1566": "ngc1566", "NGC_1433": "ngc1433",
    "NGC_7496": "ngc7496", "NGC_1512": "ngc1512mosaic", "NGC_1365": "ngc1365",
}

#: Galaxies whose B band is ACS/WFC F435W rather than WFC3/UVIS F438W in the mock (as for NGC 628C in PHANGS).
ACS_B_BAND_GALAXIES = ("NGC_628C", "NGC_3627")

#: Age, mass and E(B-V) columns, in the order they are tried.
AGE_COLUMNS_MYR = ("PHANGS_SED_AGE", "SEDfix_age", "PHANGS_AGE_MINCHISQ")
MASS_COLUMNS = ("PHANGS_SED_MASS", "SEDfix_mass", "PHANGS_MASS_MINCHISQ")
EBV_COLUMNS = ("PHANGS_SED_EBV", "SEDfix_ebv", "PHANGS_EBV_MINCHISQ")
ID_COLUMN = "ID_PHANGS_CLUSTER"
FILL_VALUES = (-999.0, -9999.0)

#: Truth columns written only by the mock survey.
MOCK_COLUMNS = ("MOCK_TRUE_LOG_AGE", "MOCK_TRUE_MASS", "MOCK_TRUE_EBV", "MOCK_REFF_PC", "MOCK_ENV_LOG_AGE",
                "MOCK_ENV_COUPLED", "MOCK_N_NEIGHBOURS", "MOCK_DUST_COVER")


def normalise_target(name: str) -> str:
    """Canonical form of a target or galaxy name: ``NGC_628C``, ``ngc0628c``, ``ngc628c`` all give ``ngc628c``.

    ``mosaic`` suffixes, separators and zero-padding are dropped.
    """
    s = re.sub(r"[\s_\-]", "", name.lower()).replace("mosaic", "")
    m = re.fullmatch(r"(ngc|ic)0*(\d+)([a-z]*)", s)
    return f"{m.group(1)}{int(m.group(2))}{m.group(3)}" if m else s


def catalogue_target(galaxy_id: str) -> str:
    """Zero-padded catalogue target (``NGC_628C`` -> ``ngc0628c``)."""
    m = re.fullmatch(r"(ngc|ic)(\d+)([a-z]*)", normalise_target(galaxy_id))
    return f"{m.group(1)}{int(m.group(2)):04d}{m.group(3)}" if m else normalise_target(galaxy_id)


def galaxy_id_for(name: str) -> str | None:
    """Galaxy id of Table 1 matching a folder or target name, or None."""
    key = normalise_target(name)
    for gid in galaxies().index:
        if normalise_target(gid) == key:
            return gid
    return None


def image_filename(galaxy_id: str, band: str) -> str:
    """HLSP science-image name the mock writes for ``band`` (F438W becomes ACS F435W where that is used)."""
    target = IMAGE_TARGETS.get(galaxy_id, normalise_target(galaxy_id))
    if band == "F438W" and galaxy_id in ACS_B_BAND_GALAXIES:
        return f"hlsp_phangs-hst_hst_acs-wfc_{target}_f435w_v1_exp-drc-sci.fits"
    return f"hlsp_phangs-hst_hst_wfc3-uvis_{target}_{band.lower()}_v1_exp-drc-sci.fits"


def catalogue_filenames(galaxy_id: str, classifier: str = "human", group: str = "cluster-class12") -> tuple[str, str]:
    """DR4 obs and sed catalogue names for a galaxy (``acs-uvis`` instrument tag when a band is ACS)."""
    ins = "acs-uvis" if galaxy_id in ACS_B_BAND_GALAXIES else "uvis"
    stem = f"hlsp_phangs-cat_hst_{ins}_{catalogue_target(galaxy_id)}_multi_v1"
    return f"{stem}_obs-{classifier}-{group}.fits", f"{stem}_sed-{classifier}-{group}.fits"


class ProductError(ValueError):
    """A product file is missing or malformed; the message names the file and the fix."""


def find_band_images(folder: str | os.PathLike, galaxy_id: str | None = None) -> dict[str, Path]:
    """Find the five science mosaics of one galaxy folder.

    Globs ``hlsp_phangs-hst_hst_*_<target>*_<filter>_v1_exp-drc-sci.fits`` for each band; ACS ``f435w`` stands in
    for ``f438w`` where no F438W file exists.

    Raises
    ------
    ProductError
        Naming the folder, the band and the pattern tried, when a band has no file or several.
    """
    folder = Path(folder)
    out: dict[str, Path] = {}
    for band in BANDS:
        filters = [band.lower()] + (["f435w"] if band == "F438W" else [])
        hits: list[str] = []
        for f in filters:
            hits = sorted(glob.glob(str(folder / f"hlsp_phangs-hst_hst_*_{f}_v1_exp-drc-sci.fits")))
            if galaxy_id is not None:
                hits = [h for h in hits if _image_target_matches(Path(h).name, galaxy_id)]
            if hits:
                break
        if not hits:
            raise ProductError(
                f"{folder}: no {band} science image for {galaxy_id or folder.name} (tried "
                f"'hlsp_phangs-hst_hst_*_<target>*_{'|'.join(filters)}_v1_exp-drc-sci.fits'); download the band "
                f"or drop the galaxy with --galaxies")
        if len(hits) > 1:
            raise ProductError(f"{folder}: several {band} images match: {[Path(h).name for h in hits]}; keep one")
        out[band] = Path(hits[0])
    return out


def _image_target_matches(filename: str, galaxy_id: str) -> bool:
    m = re.match(r"hlsp_phangs-hst_hst_[a-z0-9\-]+_(.+?)_f\d{3}[wlmn]_v1_", filename)
    return bool(m) and normalise_target(m.group(1)) == normalise_target(galaxy_id)


def _first_column(table: pd.DataFrame, candidates, what: str, path) -> str:
    for c in candidates:
        if c in table.columns:
            return c
    raise ProductError(f"{path}: no {what} column; tried {', '.join(candidates)} in that order. "
                       f"Use a DR4 'sed' catalogue or pass the column name explicitly.")


def _read_fits_table(path: Path) -> pd.DataFrame:
    from astropy.table import Table

    try:
        t = Table.read(path, hdu=1)
    except (OSError, ValueError, TypeError, IndexError) as e:
        raise ProductError(f"{path}: not a readable FITS table ({type(e).__name__}: {e}); the catalogue is "
                           f"corrupt or truncated - download the DR4 catalogue bundle again") from e
    names = [n for n in t.colnames if len(t[n].shape) <= 1]
    return t[names].to_pandas()


def _numeric(table: pd.DataFrame, column: str, path, dtype=float) -> np.ndarray:
    """A catalogue column as numbers, or a ProductError naming the file, the column and its type."""
    try:
        return table[column].to_numpy(dtype)
    except (ValueError, TypeError) as e:
        raise ProductError(f"{path}: column {column!r} must be numeric, it holds {table[column].dtype} values "
                           f"(e.g. {table[column].iloc[0]!r}); is this a PHANGS DR4 catalogue?") from e


def _read_group(folder: Path, galaxy_id: str, classifier: str, group: str, age_column: str | None
                ) -> tuple[pd.DataFrame, str]:
    """One catalogue group of a galaxy: its obs and sed tables joined, in the book's columns; and the age column
    used."""
    target = catalogue_target(galaxy_id)
    obs_hits = sorted(folder.glob(f"hlsp_phangs-cat_hst_*_{target}_multi_v1_obs-{classifier}-{group}.fits"))
    sed_hits = sorted(folder.glob(f"hlsp_phangs-cat_hst_*_{target}_multi_v1_sed*-{classifier}-{group}.fits"))
    if not obs_hits or not sed_hits:
        raise ProductError(
            f"{folder}: no {classifier} '{group}' catalogue for {galaxy_id} (need both "
            f"hlsp_phangs-cat_hst_*_{target}_multi_v1_obs-{classifier}-{group}.fits and the matching 'sed' "
            f"file; found obs={len(obs_hits)}, sed={len(sed_hits)}). Download the DR4 catalogue bundle.")
    obs = _read_fits_table(obs_hits[0])
    sed = _read_fits_table(sed_hits[0])
    for name, t, path in (("obs", obs, obs_hits[0]), ("sed", sed, sed_hits[0])):
        if ID_COLUMN not in t.columns:
            raise ProductError(f"{path}: no {ID_COLUMN} column in the {name} catalogue")
        dup = t[ID_COLUMN][t[ID_COLUMN].duplicated()].unique()
        if len(dup):
            raise ProductError(f"{path}: duplicated {ID_COLUMN} values {list(dup[:5])}; the join would be "
                               f"ambiguous. Deduplicate the catalogue first.")
    sed_extra = [c for c in sed.columns if c not in obs.columns or c == ID_COLUMN]
    joined = obs.merge(sed[sed_extra], on=ID_COLUMN, how="inner", validate="one_to_one")
    for c in ("PHANGS_RA", "PHANGS_DEC"):
        _first_column(joined, (c,), c, obs_hits[0])
    agec = age_column or _first_column(joined, AGE_COLUMNS_MYR, "age (Myr)", sed_hits[0])
    if agec not in joined.columns:
        raise ProductError(f"{sed_hits[0]}: requested age column {agec!r} not present")
    massc = next((c for c in MASS_COLUMNS if c in joined.columns), None)
    ebvc = next((c for c in EBV_COLUMNS if c in joined.columns), None)
    age_myr = _numeric(joined, agec, sed_hits[0])
    bad_age = np.isin(age_myr, FILL_VALUES) | ~(age_myr > 0)
    out = pd.DataFrame({
        "cluster_id": _numeric(joined, ID_COLUMN, obs_hits[0], np.int64),
        "ra_deg": _numeric(joined, "PHANGS_RA", obs_hits[0]),
        "dec_deg": _numeric(joined, "PHANGS_DEC", obs_hits[0]),
        "cls_human": joined.get("PHANGS_CLUSTER_CLASS_HUMAN", pd.Series(-1, index=joined.index)).to_numpy(int),
        "cls_ml": joined.get("PHANGS_CLUSTER_CLASS_ML_VGG", pd.Series(-1, index=joined.index)).to_numpy(int),
        "log_age": np.where(bad_age, np.nan, np.log10(np.where(bad_age, 1.0, age_myr)) + 6.0),
        "mass_msun": joined[massc].to_numpy(float) if massc else np.nan,
        "ebv_mag": joined[ebvc].to_numpy(float) if ebvc else np.nan,
        "distance_mpc": joined["PHANGS_DMPC"].to_numpy(float) if "PHANGS_DMPC" in joined else np.nan,
    })
    for c in MOCK_COLUMNS:
        if c in joined.columns:
            out[c] = joined[c].to_numpy()
    bad = ~(np.isfinite(out["ra_deg"]) & np.isfinite(out["dec_deg"]))
    if bad.any():
        ids = out.loc[bad, "cluster_id"].tolist()
        raise ProductError(f"{obs_hits[0]}: PHANGS_RA/PHANGS_DEC of {bad.sum()} cluster(s) of {galaxy_id} are not "
                           f"finite ({ID_COLUMN} {ids[:5]}{' ...' if len(ids) > 5 else ''}); their cutouts cannot "
                           f"be placed. Fix those rows or remove them from the catalogue")
    return out, agec


def read_cluster_catalogue(folder: str | os.PathLike, galaxy_id: str, classifier: str = "human",
                           groups: tuple[str, ...] = ("cluster-class12",), age_column: str | None = None
                           ) -> tuple[pd.DataFrame, str]:
    """Read and join a galaxy's obs and sed catalogues (on ``ID_PHANGS_CLUSTER``).

    Parameters
    ----------
    folder : path-like
        The galaxy's product folder.
    galaxy_id : str
        Table 1 id, used to find the zero-padded catalogue target.
    classifier : {"human", "machine"}
        Which classification's catalogues to read.
    groups : tuple of str
        ``cluster-class12`` and/or ``compact-association-class3``.
    age_column : str, optional
        Force an age column (Myr); default tries ``PHANGS_SED_AGE``, ``SEDfix_age``, ``PHANGS_AGE_MINCHISQ``.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``cluster_id, ra_deg, dec_deg, cls_human, cls_ml, log_age, mass_msun, ebv_mag, distance_mpc``
        plus the ``MOCK_*`` truth columns when present.
    age_column : str
        The age column used.

    Raises
    ------
    ProductError
        Missing file or column (with the fallbacks tried), or duplicated cluster ids.
    """
    folder = Path(folder)
    frames = []
    used_age = None
    for group in groups:
        out, used_age = _read_group(folder, galaxy_id, classifier, group, age_column)
        frames.append(out)
    table = pd.concat(frames, ignore_index=True)
    dup = table["cluster_id"][table["cluster_id"].duplicated()].unique()
    if len(dup):
        raise ProductError(f"{folder}: cluster ids {list(dup[:5])} appear in more than one catalogue group")
    for c in ("mass_msun", "ebv_mag", "distance_mpc"):
        table.loc[table[c].isin(FILL_VALUES), c] = np.nan
    return table, used_age
