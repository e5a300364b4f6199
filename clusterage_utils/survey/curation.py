"""Curation: PHANGS-HST products (real or mock) to one validated cutout file.

For each galaxy folder: find the five band mosaics, read and join the cluster catalogues, keep the requested
classes, place a cutout at each cluster's RA/Dec with the image WCS (astropy ``Cutout2D``) and drop clusters whose
cutout is not fully covered in all five bands. Drops are counted per galaxy and per reason, in the file and in the
printed summary.

Drop reasons: ``class`` (not in the kept classes), ``no_age`` (missing/fill age), ``outside_image`` (no overlap
with the mosaic), ``partial_coverage`` (some cutout pixel is NaN, or has zero weight in the band's
``*_err-drc-wht.fits`` map when that file is present, in some band). A cutout file therefore never holds a NaN
pixel. A galaxy that loses every cluster because of one band alone (its WCS does not match the others') is an
error naming the band; one band alone dropping more than :data:`BAND_DROP_WARNING` of a galaxy's clusters is a
warning. A curation that keeps no cluster at all fails, saying which reason dropped them.
"""
from __future__ import annotations

import datetime as _dt
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path, check_output_path
from ..constants import BANDS, __version__
from ..paths import default_cutouts_path
from .cutouts import TRUTH_COLUMNS, CutoutWriter, prime_fingerprint
from .products import ProductError, find_band_images, galaxy_id_for, read_cluster_catalogue
from .reference import galaxies, pc_per_px, pixel_scale_arcsec

__all__ = ["DROP_REASONS", "CLASSES", "BAND_DROP_WARNING", "CurationConfig", "galaxy_folders", "curate_galaxy",
           "curate", "ensure_default_cutouts"]

DROP_REASONS = ("class", "no_age", "outside_image", "partial_coverage")
#: Classes in the PHANGS-HST catalogues: 1 and 2 (clusters), 3 (compact associations).
CLASSES = (1, 2, 3)
#: Fraction of a galaxy's clusters on the mosaic above which one band alone dropping them makes curation warn.
BAND_DROP_WARNING = 0.5


@dataclass(frozen=True)
class CurationConfig:
    """What to keep and how to cut.

    Attributes
    ----------
    size_px : int
        Cutout width (the study: 112 px = 4.48").
    classes : tuple of int
        Kept classes (the study: human classes 1 and 2; add 3 for compact associations).
    classifier : {"human", "machine"}
        Which classification's catalogues and class column to use.
    include_associations : bool
        Also read the ``compact-association-class3`` catalogues (needed to keep class 3).
    age_column : str, optional
        Force the age column (Myr); default tries the DR4 names in order.
    galaxies : tuple of str, optional
        Only these galaxy ids.
    compression : {"lzf", "gzip", None}
        HDF5 compression of the images (see :class:`~.cutouts.CutoutWriter`).
    """

    size_px: int = 112
    classes: tuple[int, ...] = (1, 2)
    classifier: str = "human"
    include_associations: bool = False
    age_column: str | None = None
    galaxies: tuple[str, ...] | None = None
    compression: str | None = "lzf"

    def __post_init__(self):
        if self.size_px < 8 or self.size_px % 2:
            raise ValueError(f"size_px must be an even number >= 8, got {self.size_px}")
        if self.classifier not in ("human", "machine"):
            raise ValueError(f"classifier must be 'human' or 'machine', got {self.classifier!r}")
        if not self.classes or set(self.classes) - set(CLASSES):
            raise ValueError(f"classes must be among {list(CLASSES)} (1, 2: clusters; 3: compact associations), "
                             f"got {list(self.classes)}")


def galaxy_folders(products_dir: str | os.PathLike) -> dict[str, Path]:
    """Map galaxy id -> folder for every sub-folder of ``products_dir`` whose name matches a Table 1 galaxy."""
    root = Path(products_dir)
    if not root.is_dir():
        raise ProductError(f"products directory {root} does not exist; point --products at a folder with one "
                           f"sub-folder per galaxy (e.g. ngc628c/), or make the mock survey with `clusterage mock`")
    out = {}
    for p in sorted(root.iterdir()):
        if p.is_dir() and (gid := galaxy_id_for(p.name)):
            out[gid] = p
    if not out:
        raise ProductError(f"{root}: no galaxy folders found (expected names like ngc628c, ngc0628c or NGC_628C)")
    return out


def _open_image(path: Path, what: str):
    """Open a FITS image (memory-mapped) and touch its last pixel, so a corrupt or truncated file fails here,
    with its name, rather than half-way through the cutouts. Returns (HDUList, the 2-D image HDU)."""
    from astropy.io import fits

    try:
        hdul = fits.open(path, memmap=True)
        hdu = next((h for h in hdul if h.data is not None and getattr(h.data, "ndim", 0) == 2), None)
        if hdu is None:
            raise ProductError(f"{path}: no 2-D image HDU in this {what}")
        _ = float(hdu.data[-1, -1])
    except ProductError:
        raise
    except (OSError, ValueError, TypeError, IndexError) as e:
        raise ProductError(f"{path}: this {what} is not a readable FITS image ({type(e).__name__}: {e}); it is "
                           f"corrupt or truncated - download it again") from e
    return hdul, hdu


def _load_band(path: Path):
    from astropy.wcs import WCS

    hdul, hdu = _open_image(path, "band mosaic")
    w = WCS(hdu.header)
    if not w.has_celestial:
        raise ProductError(f"{path}: header has no celestial WCS; cutouts cannot be placed from RA/Dec")
    return hdul, hdu.data, w.celestial


def _weight_map(science_path: Path):
    """The inverse-variance map next to a science image (``..._err-drc-wht.fits``), memory-mapped, or None."""
    wht = science_path.with_name(science_path.name.replace("_exp-drc-sci.fits", "_err-drc-wht.fits"))
    if not wht.exists():
        return None
    return _open_image(wht, "weight map")[0]


def _cut_one(opened, weights, ref_wcs, same_grid: bool, pos, size: int) -> np.ndarray | None:
    """The five-band cutout (5, size, size) centred on ``pos`` (x, y pixel of the F555W mosaic); NaN where a band
    has no data (outside its footprint or zero weight). None if the position misses the mosaic."""
    from astropy.nddata import Cutout2D
    from astropy.nddata.utils import NoOverlapError

    try:
        c = Cutout2D(opened[3][1], pos, size, mode="partial", fill_value=np.nan, copy=False)
    except NoOverlapError:
        return None
    out = np.empty((5, size, size), np.float32)
    for b in range(5):
        if same_grid:
            data = np.full((size, size), np.nan, np.float32)
            data[c.slices_cutout] = opened[b][1][c.slices_original]
            if weights[b] is not None:  # zero weight = no data, even where the image holds 0
                w = np.zeros((size, size), np.float32)
                w[c.slices_cutout] = weights[b][0].data[c.slices_original]
                data[w <= 0] = np.nan
        else:  # bands on different grids: place each with its own WCS
            sky = ref_wcs.pixel_to_world(pos[0], pos[1])
            try:
                data = Cutout2D(opened[b][1], sky, size, wcs=opened[b][2], mode="partial", fill_value=np.nan).data
            except NoOverlapError:
                data = np.full((size, size), np.nan, np.float32)
        out[b] = data
    return out


def _cut_all(opened, weights, ref_wcs, same_grid: bool, x, y, size: int, drops: dict
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cutouts of every catalogued position; (cutouts, kept mask, per band the number of cutouts dropped because
    of that band alone). Counts the drops (outside the image, partial coverage) in ``drops``."""
    cut = np.empty((len(x), 5, size, size), np.float32)
    ok = np.zeros(len(x), bool)
    alone = np.zeros(5, int)
    for i in range(len(x)):
        pos = (float(np.round(x[i])), float(np.round(y[i])))  # nearest pixel lands on index size // 2
        one = _cut_one(opened, weights, ref_wcs, same_grid, pos, size)
        if one is None:
            drops["outside_image"] += 1
            continue
        cut[i] = one
        bad = ~np.isfinite(one).all(axis=(1, 2)) | np.all(one == 0, axis=(1, 2))
        if not bad.any():
            ok[i] = True
        else:
            drops["partial_coverage"] += 1
            if bad.sum() == 1:
                alone[np.argmax(bad)] += 1
    return cut, ok, alone


def _check_bands(galaxy_id: str, paths: dict, opened, alone: np.ndarray, n_on_image: int, n_kept: int) -> None:
    """Fail if one band alone dropped every cluster of a galaxy (a misaligned or empty band: the galaxy would
    vanish with exit 0); warn if it dropped more than :data:`BAND_DROP_WARNING` of them."""
    if n_on_image == 0 or alone.max() == 0:
        return
    b = int(np.argmax(alone))
    band, path = BANDS[b], paths[BANDS[b]]
    h, w = opened[3][1].shape
    sep = opened[3][2].pixel_to_world(w / 2, h / 2).separation(opened[b][2].pixel_to_world(w / 2, h / 2))
    offset = (f"; at the F555W image's centre its WCS is off by {sep.to_value('arcsec'):.3g} arcsec"
              if sep.to_value("arcsec") > 0.01 else "; its WCS matches F555W's, but it holds no data there")
    if n_kept == 0 and alone[b] == n_on_image:
        raise ProductError(f"{path}: band {band} of {galaxy_id} covers none of the {n_on_image} cluster positions "
                           f"that the other four bands cover{offset}. Fix or replace this file, or leave the galaxy "
                           f"out with --galaxies")
    if alone[b] > BAND_DROP_WARNING * n_on_image:
        warnings.warn(f"{galaxy_id}: band {band} alone dropped {alone[b]} of the {n_on_image} clusters on the "
                      f"mosaic as partial coverage ({path.name}{offset}); check that band's coverage and WCS",
                      stacklevel=3)


def _galaxy_table(kept: pd.DataFrame, galaxy_id: str, x, y, scale: float) -> pd.DataFrame:
    """The catalogue rows of a galaxy's kept clusters, in the cutout file's columns (with pc per px from the
    mosaic's pixel scale and the cluster's distance, Table 1's when the catalogue has none)."""
    gal = galaxies().loc[galaxy_id]
    table = pd.DataFrame({
        "galaxy_id": galaxy_id, "cluster_id": kept["cluster_id"].to_numpy(), "log_age": kept["log_age"].to_numpy(),
        "ra_deg": kept["ra_deg"].to_numpy(), "dec_deg": kept["dec_deg"].to_numpy(), "x_px": x, "y_px": y,
        "distance_mpc": np.where(np.isfinite(kept["distance_mpc"]), kept["distance_mpc"], gal["distance_mpc"]),
        "cls_human": kept["cls_human"].to_numpy(), "cls_ml": kept["cls_ml"].to_numpy(),
        "mass_msun": kept["mass_msun"].to_numpy(), "ebv_mag": kept["ebv_mag"].to_numpy(),
    })
    table["pixel_scale_arcsec"] = scale
    table["pc_per_px"] = pc_per_px(table["distance_mpc"].to_numpy(float), scale)
    for src, dst in TRUTH_COLUMNS.items():
        if src in kept:
            table[dst] = kept[src].to_numpy()
    return table


def curate_galaxy(folder: Path, galaxy_id: str, cfg: CurationConfig) -> tuple[np.ndarray, pd.DataFrame, dict, str]:
    """Cut one galaxy: returns cutouts (k, 5, H, W), their catalogue rows, drop counts per reason, age column."""
    from astropy.coordinates import SkyCoord

    groups = ("cluster-class12",) + (("compact-association-class3",) if cfg.include_associations else ())
    cat, agecol = read_cluster_catalogue(folder, galaxy_id, cfg.classifier, groups, cfg.age_column)
    drops = dict.fromkeys(DROP_REASONS, 0)
    cls = cat["cls_human"] if cfg.classifier == "human" else cat["cls_ml"]
    keep = cls.isin(cfg.classes).to_numpy()
    drops["class"] = int((~keep).sum())
    cat = cat[keep].reset_index(drop=True)
    has_age = np.isfinite(cat["log_age"].to_numpy())
    drops["no_age"] = int((~has_age).sum())
    cat = cat[has_age].reset_index(drop=True)

    paths = find_band_images(folder, galaxy_id)
    opened, weights = [], []
    try:
        for b in BANDS:
            opened.append(_load_band(paths[b]))
            weights.append(_weight_map(paths[b]))
        ref_wcs = opened[3][2]
        scale = pixel_scale_arcsec(ref_wcs)
        x, y = ref_wcs.world_to_pixel(SkyCoord(cat["ra_deg"].to_numpy(), cat["dec_deg"].to_numpy(), unit="deg"))
        x, y = np.asarray(x, float), np.asarray(y, float)
        shapes_equal = all(o[1].shape == opened[3][1].shape for o in opened)
        same_grid = shapes_equal and all(o[2].wcs.compare(ref_wcs.wcs, tolerance=1e-9) for o in opened)
        inside_any = ((x > -0.5) & (x < opened[3][1].shape[1] - 0.5) & (y > -0.5) & (y < opened[3][1].shape[0] - 0.5))
        if len(cat) and not inside_any.any():
            raise ProductError(f"{folder}: none of the {len(cat)} catalogue positions of {galaxy_id} falls on the "
                               f"F555W image ({paths['F555W'].name}); the catalogue and images do not overlap "
                               f"(wrong galaxy, or RA/Dec columns in another frame)")
        cut, ok, alone = _cut_all(opened, weights, ref_wcs, same_grid, x, y, cfg.size_px, drops)
        _check_bands(galaxy_id, paths, opened, alone, len(cat) - drops["outside_image"], int(ok.sum()))
    finally:
        for h, _, _ in opened:
            h.close()
        for h in weights:
            if h is not None:
                h.close()
    table = _galaxy_table(cat[ok].reset_index(drop=True), galaxy_id, x[ok], y[ok], scale)
    return cut[ok], table, drops, agecol


def _selected_folders(products_dir, cfg: CurationConfig) -> dict[str, Path]:
    """The galaxy folders to curate: all of ``products_dir``, or ``cfg.galaxies`` (a ProductError if one lacks)."""
    folders = galaxy_folders(products_dir)
    if cfg.galaxies:
        missing = [g for g in cfg.galaxies if g not in folders]
        if missing:
            raise ProductError(f"{products_dir}: no folder for galaxies {missing}; found {list(folders)}")
        folders = {g: folders[g] for g in cfg.galaxies}
    return folders


def _file_attrs(products_dir, cfg: CurationConfig, manifest: dict | None, agecols: set, rows: list[dict]) -> dict:
    """The cutout file's attributes: source, age column, version, time, parameters and drops per galaxy."""
    return {
        "source": "mock" if manifest else "phangs",
        "age_column": ",".join(sorted(agecols)),
        "package_version": __version__,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": {"curation": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
                       "products_dir": str(Path(products_dir).resolve()),
                       "mock": manifest["config"] if manifest else None},
        "drops": {r["galaxy_id"]: {k: r[k] for k in DROP_REASONS} for r in rows},
    }


def curate(products_dir: str | os.PathLike, out_path: str | os.PathLike, cfg: CurationConfig | None = None,
           overwrite: bool = False, progress: bool = True) -> pd.DataFrame:
    """Curate every galaxy folder of ``products_dir`` into the cutout file ``out_path``.

    The file is written under a temporary name and renamed into place when complete.

    Parameters
    ----------
    products_dir : path-like
        One sub-folder per galaxy holding its five ``*_exp-drc-sci.fits`` mosaics and DR4 catalogues.
    out_path : path-like
        The HDF5 cutout file to write; refused if it exists unless ``overwrite``.
    cfg : CurationConfig
        What to keep and the cutout size.
    overwrite : bool
        Replace an existing file.
    progress : bool
        tqdm bar over galaxies.

    Returns
    -------
    pandas.DataFrame
        Summary per galaxy: kept and dropped counts per reason (also stored in the file's ``drops`` attribute).
    """
    from tqdm.auto import tqdm

    from .mock import read_manifest

    cfg = cfg or CurationConfig()
    out_path = Path(out_path)
    if out_path.exists() and not overwrite and not out_path.is_dir():
        raise FileExistsError(f"{out_path} exists; pass --overwrite (overwrite=True) to replace it")
    check_output_path(out_path)
    folders = _selected_folders(products_dir, cfg)
    manifest = read_manifest(products_dir)
    with atomic_path(out_path) as tmp:
        writer = CutoutWriter(tmp, cfg.size_px, compression=cfg.compression)
        try:
            summary = _write_galaxies(writer, tqdm(folders.items(), desc="curating", unit="galaxy",
                                                   disable=not progress), products_dir, cfg, manifest, out_path)
        except BaseException:
            writer.abort()
            raise
    prime_fingerprint(out_path, writer.image_digest)   # validated while written: the first open reads no image
    if progress:
        tot = summary[["kept", *DROP_REASONS]].sum()
        print(f"curated {int(tot['kept'])} clusters from {len(summary)} galaxies into {out_path}; dropped: "
              + ", ".join(f"{r} {int(tot[r])}" for r in DROP_REASONS))
    return summary


def _write_galaxies(writer: CutoutWriter, folders, products_dir, cfg: CurationConfig, manifest, out_path: Path
                    ) -> pd.DataFrame:
    """Curate each (galaxy id, folder) into ``writer`` and close it with the file's attributes; returns the summary
    per galaxy (kept, dropped per reason)."""
    rows, agecols = [], set()
    for gid, folder in folders:
        try:
            cut, table, drops, agecol = curate_galaxy(folder, gid, cfg)
        except ProductError as e:
            raise ProductError(f"galaxy {gid}: {e} (nothing was written; fix or remove {folder} and "
                               f"run again)") from e
        writer.append(cut, table)
        agecols.add(agecol)
        rows.append({"galaxy_id": gid, "kept": len(table), **drops})
    summary = pd.DataFrame(rows)
    _check_kept(summary, cfg, out_path)
    if len(agecols) > 1:
        warnings.warn(f"galaxies use different age columns: {sorted(agecols)}", stacklevel=3)
    writer.close(_file_attrs(products_dir, cfg, manifest, agecols, rows))
    return summary


def _check_kept(summary: pd.DataFrame, cfg: CurationConfig, out_path: Path) -> None:
    """Fail, naming the reason, when curation kept no cluster at all (an empty file would train nothing)."""
    if len(summary) and summary["kept"].sum() > 0:
        return
    tot = summary[list(DROP_REASONS)].sum() if len(summary) else pd.Series(0, index=list(DROP_REASONS))
    hints = {"class": f"no catalogued cluster has a {cfg.classifier} class in {list(cfg.classes)} (--classes)",
             "no_age": "no cluster has an age (the age column holds fill values only; see --age-column)",
             "outside_image": "no catalogue position falls on its mosaic",
             "partial_coverage": f"no cutout of {cfg.size_px} px lies fully inside all five mosaics (choose a "
                                 f"smaller --size; the study's is 112 px)"}
    reason = hints[tot.idxmax()] if tot.sum() else "the catalogues hold no cluster"
    counts = ", ".join(f"{r} {int(tot[r])}" for r in DROP_REASONS)
    raise ProductError(f"{out_path}: curation kept no cluster, so nothing was written: {reason} (dropped: "
                       f"{counts})")


def ensure_default_cutouts(profile, root: str | os.PathLike | None = None, seed: int = 0,
                           environment_coupling: float = 1.0, progress: bool = True) -> Path:
    """Return the cutout file of a profile's default mock survey, making the survey (minutes, with a progress bar)
    and curating it if absent or made by an older version of the mock (:data:`~.mock.MOCK_VERSION`).

    Parameters
    ----------
    profile : Profile
        Its ``name`` names the folder, its ``galaxies`` and ``fraction`` size the survey
        (:class:`~clusterage_utils.engine.profiles.Profile`; the data layer reads these three, it needs no profiles).

    Layout (:func:`~clusterage_utils.paths.default_cutouts_path`): ``<root>/<profile>[_c<coupling>][_s<seed>]/``
    with ``mock/`` (products) and ``cutouts.h5``; ``root`` defaults to ``<project>/data``.
    """
    from .mock import MOCK_VERSION, MockSurveyConfig, make_mock_survey, read_manifest

    prof = profile
    out = default_cutouts_path(prof.name, root, seed, environment_coupling)
    base = out.parent
    survey = base / "mock"
    manifest = read_manifest(survey) if survey.exists() else None
    stale = manifest is not None and manifest.get("mock_version", 1) != MOCK_VERSION
    if out.exists() and not stale:
        return out
    if manifest is None or stale:
        make_mock_survey(survey, MockSurveyConfig(seed=seed, fraction=prof.fraction, galaxies=prof.galaxies,
                                                  environment_coupling=environment_coupling),
                         overwrite=survey.exists(), progress=progress)
    curate(survey, out, CurationConfig(), progress=progress, overwrite=out.exists())
    return out
