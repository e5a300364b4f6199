"""The cutout file: HDF5 in the study's schema, plus a catalogue and provenance, and a lazy reader.

Schema (datasets at the root are exactly the study's ``raw_phangs_dataset.h5``, so its scripts can read our files):

==================  =====================  =======================================================================
dataset             dtype, shape           meaning
==================  =====================  =======================================================================
image_cutouts       float32 (N, 5, H, W)   e-/s, bands F275W, F336W, F438W (or ACS F435W), F555W, F814W
cluster_log_ages    float32 (N,)           log10(age / yr) used as the label (the reference age)
cluster_ids         int32 (N,)             ``ID_PHANGS_CLUSTER``
galaxy_ids          str (N,)               e.g. ``NGC_628C``
catalogue/<col>     (N,)                   ra_deg, dec_deg, x_px, y_px, distance_mpc, pc_per_px, cls_human, ...
                                           and, for the mock, true_log_age, env_log_age, ... (truth)
==================  =====================  =======================================================================

Root attributes: ``schema_version, bands, pixel_scale_arcsec, units, source (mock | phangs | study), age_column,
package_version, created_utc, parameters (JSON), drops (JSON: per galaxy, per reason)``.
Images are chunked one cluster per chunk and compressed (LZF + shuffle: fast to decompress when streaming).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .constants import BANDS, PIXEL_SCALE_ARCSEC
from .reference import galaxies, pc_per_px

__all__ = ["SCHEMA_VERSION", "REQUIRED", "TRUTH_COLUMNS", "CutoutFileError", "CutoutWriter", "CutoutFile",
           "open_cutouts"]

SCHEMA_VERSION = 1
REQUIRED = ("image_cutouts", "cluster_log_ages", "cluster_ids", "galaxy_ids")

#: Mock truth columns in the catalogue (renamed from the products' ``MOCK_*``).
TRUTH_COLUMNS = {"MOCK_TRUE_LOG_AGE": "true_log_age", "MOCK_TRUE_MASS": "true_mass_msun",
                 "MOCK_TRUE_EBV": "true_ebv_mag", "MOCK_REFF_PC": "reff_pc", "MOCK_ENV_LOG_AGE": "env_log_age",
                 "MOCK_ENV_COUPLED": "env_coupled", "MOCK_N_NEIGHBOURS": "n_neighbours",
                 "MOCK_DUST_COVER": "dust_cover"}


class CutoutFileError(ValueError):
    """A cutout file does not follow the schema; the message names the file and the dataset."""


class CutoutWriter:
    """Append galaxies' cutouts to a new cutout file (used by curation); finish with :meth:`close`.

    Parameters
    ----------
    path : path-like
        A temporary path (the caller renames it into place).
    size_px : int
        Cutout width and height.
    compression : {"lzf", "gzip", None}
        HDF5 filter for the images. Noisy float images compress by only ~15 %, and LZF decompression caps
        streaming at ~2,000 cutouts/s on one core; ``None`` streams ~7x faster (see ``benchmarks/bench_cutouts.py``).
    """

    def __init__(self, path, size_px: int, n_bands: int = 5, compression: str | None = "lzf"):
        self.h5 = h5py.File(path, "w")
        self.size = size_px
        self.n = 0
        self.h5.create_dataset("image_cutouts", shape=(0, n_bands, size_px, size_px), maxshape=(None, n_bands,
                               size_px, size_px), dtype="float32", chunks=(1, n_bands, size_px, size_px),
                               compression=compression, shuffle=compression is not None)
        self.h5.create_dataset("cluster_log_ages", shape=(0,), maxshape=(None,), dtype="float32", chunks=(4096,))
        self.h5.create_dataset("cluster_ids", shape=(0,), maxshape=(None,), dtype="int32", chunks=(4096,))
        self.h5.create_dataset("galaxy_ids", shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(),
                               chunks=(4096,))
        self.catalogue: list[pd.DataFrame] = []

    def append(self, cutouts: np.ndarray, table: pd.DataFrame) -> None:
        """Append cutouts (n, 5, H, W) and their catalogue rows (``log_age``, ``cluster_id``, ``galaxy_id``...)."""
        k = len(cutouts)
        if k == 0:
            return
        for name in ("image_cutouts", "cluster_log_ages", "cluster_ids", "galaxy_ids"):
            self.h5[name].resize(self.n + k, axis=0)
        self.h5["image_cutouts"][self.n:self.n + k] = cutouts.astype(np.float32)
        self.h5["cluster_log_ages"][self.n:self.n + k] = table["log_age"].to_numpy(np.float32)
        self.h5["cluster_ids"][self.n:self.n + k] = table["cluster_id"].to_numpy(np.int32)
        self.h5["galaxy_ids"][self.n:self.n + k] = table["galaxy_id"].astype(str).to_numpy(dtype=object)
        self.n += k
        self.catalogue.append(table.reset_index(drop=True))

    def close(self, attrs: dict) -> None:
        """Write the catalogue group and the root attributes, then close."""
        cat = pd.concat(self.catalogue, ignore_index=True) if self.catalogue else pd.DataFrame()
        g = self.h5.create_group("catalogue")
        for c in cat.columns:
            if c in ("galaxy_id",):
                continue
            v = cat[c].to_numpy()
            if v.dtype == object:
                g.create_dataset(c, data=v.astype(str).astype(object), dtype=h5py.string_dtype())
            else:
                g.create_dataset(c, data=v)
        self.h5.attrs["schema_version"] = SCHEMA_VERSION
        self.h5.attrs["bands"] = list(BANDS)
        self.h5.attrs["pixel_scale_arcsec"] = PIXEL_SCALE_ARCSEC
        self.h5.attrs["units"] = "electrons/s"
        for k, v in attrs.items():
            self.h5.attrs[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
        self.h5.close()

    def abort(self) -> None:
        try:
            self.h5.close()
        except Exception:
            pass


class CutoutFile:
    """A validated, lazily read cutout file: nothing but the labels and ids is loaded until asked for.

    Use :func:`open_cutouts` to create one. Images are read with :meth:`images` (any index order; reads are
    sorted internally) or streamed with :meth:`iter_batches`.

    Attributes
    ----------
    path : Path
    n : int
        Number of clusters.
    shape : tuple
        ``(5, H, W)`` of one cutout.
    log_ages, cluster_ids, galaxy_ids : ndarray
        Labels and identifiers (loaded).
    catalogue : pandas.DataFrame
        One row per cluster; for the study's own file, distances and groups come from Table 1.
    source : str
        ``mock``, ``phangs`` or ``study``.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._h5: h5py.File | None = None
        with h5py.File(self.path, "r") as h5:
            self._validate(h5)
            self.n, *shape = h5["image_cutouts"].shape
            self.shape = tuple(shape)
            self.log_ages = h5["cluster_log_ages"][()].astype(np.float64)
            self.cluster_ids = h5["cluster_ids"][()].astype(np.int64)
            self.galaxy_ids = np.array([g.decode() if isinstance(g, bytes) else str(g)
                                        for g in h5["galaxy_ids"][()]])
            self.attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in h5.attrs.items()}
            cat = {c: h5["catalogue"][c][()] for c in h5["catalogue"]} if "catalogue" in h5 else {}
        self.source = str(self.attrs.get("source", "study"))
        self.catalogue = self._build_catalogue(cat)

    # ---------------------------------------------------------------------------------------------- validation
    def _validate(self, h5) -> None:
        p = self.path
        missing = [d for d in REQUIRED if d not in h5]
        if missing:
            raise CutoutFileError(f"{p}: missing dataset(s) {missing}; a cutout file needs {list(REQUIRED)} "
                                  f"(the study's schema). Recreate it with `clusterage curate`.")
        img = h5["image_cutouts"]
        if img.ndim != 4 or img.shape[1] != len(BANDS) or img.shape[2] != img.shape[3]:
            raise CutoutFileError(f"{p}: dataset 'image_cutouts' has shape {img.shape}; expected (N, 5, H, H) "
                                  f"with bands {', '.join(BANDS)} on axis 1")
        if img.dtype.kind != "f":
            raise CutoutFileError(f"{p}: dataset 'image_cutouts' has dtype {img.dtype}; expected float32")
        n = img.shape[0]
        for d in REQUIRED[1:]:
            if h5[d].shape != (n,):
                raise CutoutFileError(f"{p}: dataset '{d}' has shape {h5[d].shape} but 'image_cutouts' holds "
                                      f"{n} cutouts; every dataset must have one entry per cutout")
        ages = h5["cluster_log_ages"][()]
        if not np.all(np.isfinite(ages)):
            bad = np.nonzero(~np.isfinite(ages))[0]
            raise CutoutFileError(f"{p}: dataset 'cluster_log_ages' has {len(bad)} NaN/inf value(s) (first at "
                                  f"index {bad[0]}); drop those clusters or fill their ages")
        if n and (ages.min() < 4 or ages.max() > 11):
            raise CutoutFileError(f"{p}: dataset 'cluster_log_ages' ranges {ages.min():.2f}-{ages.max():.2f}; "
                                  f"expected log10(age/yr) (about 6-10.2). Were ages given in Myr?")
        if n:
            probe = img[0]
            if not np.all(np.isfinite(probe)):
                raise CutoutFileError(f"{p}: dataset 'image_cutouts' holds NaN/inf pixels (cutout 0); "
                                      f"set them to 0 or drop the cluster")
        v = int(h5.attrs.get("schema_version", SCHEMA_VERSION))
        if v > SCHEMA_VERSION:
            raise CutoutFileError(f"{p}: schema_version {v} is newer than this package reads ({SCHEMA_VERSION}); "
                                  f"upgrade clusterage")

    def _build_catalogue(self, cat: dict) -> pd.DataFrame:
        df = pd.DataFrame({"galaxy_id": self.galaxy_ids, "cluster_id": self.cluster_ids, "log_age": self.log_ages})
        for c, v in cat.items():
            if c in df:
                continue
            df[c] = [x.decode() if isinstance(x, bytes) else x for x in v] if v.dtype == object else v
        tab = galaxies()
        known = df["galaxy_id"].isin(tab.index)
        if "distance_mpc" not in df:
            df["distance_mpc"] = np.where(known, tab["distance_mpc"].reindex(df["galaxy_id"]).to_numpy(), np.nan)
        if "pc_per_px" not in df:
            px = df["pixel_scale_arcsec"] if "pixel_scale_arcsec" in df else \
                self.attrs.get("pixel_scale_arcsec", PIXEL_SCALE_ARCSEC)
            df["pc_per_px"] = pc_per_px(df["distance_mpc"].to_numpy(float), np.asarray(px, float))
        df["distance_group"] = tab["distance_group"].reindex(df["galaxy_id"]).fillna("other").to_numpy()
        return df

    # ---------------------------------------------------------------------------------------------- access
    @property
    def is_mock(self) -> bool:
        return self.source == "mock"

    @property
    def h5(self) -> h5py.File:
        if self._h5 is None:
            self._h5 = h5py.File(self.path, "r")
        return self._h5

    def images(self, indices) -> np.ndarray:
        """Cutouts at ``indices`` (any order), float32 (k, 5, H, W); reads in sorted order, returns in given order."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size == 0:
            return np.zeros((0, *self.shape), np.float32)
        dset = self.h5["image_cutouts"]
        if np.all(np.diff(idx) == 1):  # one contiguous run: read straight into the output
            out = np.empty((len(idx), *self.shape), np.float32)
            dset.read_direct(out, np.s_[idx[0]:idx[-1] + 1])
            return out
        uniq, inv = np.unique(idx, return_inverse=True)
        # read runs of consecutive indices as slices (much faster than h5py's point selection)
        breaks = np.nonzero(np.diff(uniq) != 1)[0] + 1
        data = np.empty((len(uniq), *self.shape), np.float32)
        pos = 0
        for run in np.split(uniq, breaks):
            dset.read_direct(data, np.s_[run[0]:run[-1] + 1], np.s_[pos:pos + len(run)])
            pos += len(run)
        return data if len(uniq) == len(idx) and np.array_equal(uniq, idx) else data[inv]

    def iter_batches(self, indices, batch_size: int = 256):
        """Yield ``(indices_batch, images_batch)`` over ``indices`` in blocks (streaming, bounded memory)."""
        idx = np.asarray(indices, dtype=np.int64)
        for s in range(0, len(idx), batch_size):
            b = idx[s:s + batch_size]
            yield b, self.images(b)

    def fingerprint(self) -> str:
        """Content fingerprint (sha256 of labels, ids, shape, attributes and the first and last cutouts).

        Cheap for large files; any re-curation changes it because the attributes include the creation time.
        """
        h = hashlib.sha256()
        h.update(str((self.n, self.shape)).encode())
        h.update(self.log_ages.astype(np.float32).tobytes())
        h.update(self.cluster_ids.tobytes())
        h.update("|".join(self.galaxy_ids).encode())
        h.update(json.dumps({k: str(v) for k, v in sorted(self.attrs.items())}).encode())
        if self.n:
            h.update(self.images([0, self.n - 1]).tobytes())
        return h.hexdigest()[:16]

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __getstate__(self):  # picklable for Dask workers: reopen lazily
        d = self.__dict__.copy()
        d["_h5"] = None
        return d

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"CutoutFile({str(self.path)!r}, n={self.n}, shape={self.shape}, source={self.source!r})"


def open_cutouts(path: str | os.PathLike) -> CutoutFile:
    """Open and validate a cutout file (ours or the study's ``raw_phangs_dataset.h5``) for lazy reading.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CutoutFileError
        On a schema problem, naming the dataset.

    Examples
    --------
    >>> cf = open_cutouts("data/laptop/cutouts.h5")          # doctest: +SKIP
    >>> cf.images([0, 5]).shape
    (2, 5, 112, 112)
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"cutout file {p} not found; make it with `clusterage curate --products DIR "
                                f"--out {p}` (or `clusterage mock` first for the default data)")
    try:
        return CutoutFile(p)
    except OSError as e:
        raise CutoutFileError(f"{p}: not a readable HDF5 file ({e})") from e
