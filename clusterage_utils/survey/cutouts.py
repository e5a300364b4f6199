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

Fingerprint and validation (:func:`file_fingerprint`)
    One pass over every byte training reads (the images in blocks, labels, ids, every catalogue column, shapes and
    dtypes, the root attributes except the volatile ``created_utc``, ``package_version`` and the products' folder)
    both hashes the file and checks that every pixel is finite. Identical content gives an identical fingerprint,
    wherever the file lies and however often it was re-curated; any change to what training reads changes it. The
    result is cached in memory and in ``<cache>/fingerprints.json`` (:func:`cache_dir`), keyed by the file's real
    path, size, modification and change times and inode, so a file is scanned once per version: the data file is
    never written to on open (read-only mounts, concurrent readers). Curation primes the cache. The cost is
    measured by ``benchmarks/bench_fingerprint.py``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..constants import BANDS, PIXEL_SCALE_ARCSEC
from .reference import galaxies, pc_per_px

__all__ = ["SCHEMA_VERSION", "REQUIRED", "TRUTH_COLUMNS", "FINGERPRINT_VERSION", "VOLATILE_ATTRS", "CutoutFileError",
           "CutoutWriter", "CutoutFile", "open_cutouts", "file_fingerprint", "cache_dir"]

SCHEMA_VERSION = 1
REQUIRED = ("image_cutouts", "cluster_log_ages", "cluster_ids", "galaxy_ids")
#: Version of the fingerprint's recipe (part of the hash): 1 hashed the labels, ids, all attributes and the first and
#: last cutouts only; 2 hashes every byte training reads.
FINGERPRINT_VERSION = 2
#: Root attributes that change on every curation without changing the data: left out of the fingerprint.
VOLATILE_ATTRS = ("created_utc", "package_version")
#: Keys of the ``parameters`` attribute left out of the fingerprint (where the products lay, not what they hold).
_VOLATILE_PARAMETERS = ("products_dir",)
#: Bytes of images read per block by the fingerprint's scan.
_SCAN_BLOCK_BYTES = 64 * 2**20

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
        self._image_hash = hashlib.sha256()

    def append(self, cutouts: np.ndarray, table: pd.DataFrame) -> None:
        """Append cutouts (n, 5, H, W) and their catalogue rows (``log_age``, ``cluster_id``, ``galaxy_id``...).

        Raises
        ------
        CutoutFileError
            If a cutout holds a NaN or infinite pixel (naming the galaxy, the cluster and the band): a cutout file
            holds finite pixels only, so curation drops cutouts not fully covered before appending them.
        """
        k = len(cutouts)
        if k == 0:
            return
        cutouts = np.ascontiguousarray(cutouts, dtype=np.float32)
        bad = _first_nonfinite(cutouts)
        if bad is not None:
            i, b = bad
            raise CutoutFileError(f"cutout of cluster {table['cluster_id'].iloc[i]} of {table['galaxy_id'].iloc[i]} "
                                  f"holds NaN or infinite pixels in band {BANDS[b]}; a cutout file holds finite "
                                  f"pixels only (drop the cluster as partial coverage)")
        for name in ("image_cutouts", "cluster_log_ages", "cluster_ids", "galaxy_ids"):
            self.h5[name].resize(self.n + k, axis=0)
        self.h5["image_cutouts"][self.n:self.n + k] = cutouts
        self._image_hash.update(memoryview(cutouts).cast("B"))
        self.h5["cluster_log_ages"][self.n:self.n + k] = table["log_age"].to_numpy(np.float32)
        self.h5["cluster_ids"][self.n:self.n + k] = table["cluster_id"].to_numpy(np.int32)
        self.h5["galaxy_ids"][self.n:self.n + k] = table["galaxy_id"].astype(str).to_numpy(dtype=object)
        self.n += k
        self.catalogue.append(table.reset_index(drop=True))

    @property
    def image_digest(self) -> bytes:
        """Hash of every image byte appended so far (what :func:`file_fingerprint` computes from the file)."""
        return self._image_hash.digest()

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
        """Close the file after a failure; its content is discarded (the caller removes the file). HDF5 then writes
        to ``/dev/null`` instead: on a full disk it could not flush its metadata, and a file HDF5 fails to close
        crashes the interpreter at exit."""
        with contextlib.suppress(Exception):
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, self.h5.id.get_vfd_handle())
            finally:
                os.close(null)
        with contextlib.suppress(Exception):
            self.h5.close()


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
            _check_schema(h5, self.path)
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
        file_fingerprint(self.path)  # every pixel validated, once per version of the file (cached)

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
        """The file's content fingerprint (16 hex digits; see :func:`file_fingerprint`): it changes with any byte
        training reads. Cached per version of the file, so cheap to call often."""
        return file_fingerprint(self.path)

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
        On a schema problem or a NaN/inf pixel, naming the dataset (and the first bad index); every pixel is
        checked once per version of the file (:func:`file_fingerprint`).

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


# ------------------------------------------------------------------------------------------------ schema checks
def _check_schema(h5, p: Path) -> None:
    """Datasets, shapes, dtypes and labels of an open cutout file (cheap: no image is read)."""
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
    for d, kinds in (("cluster_log_ages", "fiu"), ("cluster_ids", "iu")):
        if h5[d].dtype.kind not in kinds:
            raise CutoutFileError(f"{p}: dataset '{d}' has dtype {h5[d].dtype}; expected "
                                  f"{'float32' if d == 'cluster_log_ages' else 'int32'}")
    for c, col in (h5["catalogue"].items() if "catalogue" in h5 else ()):
        if not isinstance(col, h5py.Dataset) or col.shape != (n,):
            raise CutoutFileError(f"{p}: dataset 'catalogue/{c}' has shape {getattr(col, 'shape', None)}; "
                                  f"expected ({n},), one entry per cutout")
    ages = h5["cluster_log_ages"][()]
    if not np.all(np.isfinite(ages)):
        bad = np.nonzero(~np.isfinite(ages))[0]
        raise CutoutFileError(f"{p}: dataset 'cluster_log_ages' has {len(bad)} NaN/inf value(s) (first at "
                              f"index {bad[0]}); drop those clusters or fill their ages")
    if n and (ages.min() < 4 or ages.max() > 11):
        raise CutoutFileError(f"{p}: dataset 'cluster_log_ages' ranges {ages.min():.2f}-{ages.max():.2f}; "
                              f"expected log10(age/yr) (about 6-10.2). Were ages given in Myr?")
    v = int(h5.attrs.get("schema_version", SCHEMA_VERSION))
    if v > SCHEMA_VERSION:
        raise CutoutFileError(f"{p}: schema_version {v} is newer than this package reads ({SCHEMA_VERSION}); "
                              f"upgrade clusterage")


def _nonfinite(block: np.ndarray) -> np.ndarray | None:
    """Boolean (k, bands): which band of which cutout of a (k, bands, H, W) block holds a NaN or infinite pixel;
    None if every pixel is finite (the common case, checked with one sum: NaN and inf propagate through it, and a
    float32 sum cannot overflow float64)."""
    if np.isfinite(block.sum(dtype=np.float64)):
        return None
    return ~np.isfinite(block).reshape(block.shape[0], block.shape[1], -1).all(axis=2)


def _first_nonfinite(block: np.ndarray) -> tuple[int, int] | None:
    """(cutout, band) of the first NaN or infinite pixel of a (k, bands, H, W) block, or None if all are finite."""
    bad = _nonfinite(block)
    if bad is None:
        return None
    i, b = np.argwhere(bad)[0]
    return int(i), int(b)


# ------------------------------------------------------------------------------------------------ fingerprint
def _strings(values) -> bytes:
    return "\0".join(v.decode() if isinstance(v, bytes) else str(v) for v in values).encode()


def _feed(h, name: str, values: np.ndarray) -> None:
    """Hash one dataset: its name, dtype, shape and values (strings as UTF-8, separated by NUL)."""
    h.update(f"\n{name}|{values.dtype.kind}|{values.shape}|".encode())
    if values.dtype.kind in "OSU":
        h.update(_strings(values))
    else:
        h.update(f"{values.dtype.str}|".encode())
        h.update(np.ascontiguousarray(values).tobytes())


def _stable_attrs(attrs) -> str:
    """The root attributes that describe the data, as canonical JSON (volatile ones left out)."""
    out = {}
    for k in sorted(attrs):
        if k in VOLATILE_ATTRS:
            continue
        v = attrs[k]
        v = v.decode() if isinstance(v, bytes) else v
        if k == "parameters" and isinstance(v, str):
            with contextlib.suppress(ValueError):
                d = json.loads(v)
                if isinstance(d, dict):
                    v = {key: val for key, val in d.items() if key not in _VOLATILE_PARAMETERS}
        out[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return json.dumps(out, sort_keys=True, default=str)


def _fingerprint_of(h5, image_digest: bytes) -> str:
    """The fingerprint of an open file, given the hash of its image bytes."""
    h = hashlib.sha256(f"clusterage cutout file fingerprint v{FINGERPRINT_VERSION}".encode())
    img = h5["image_cutouts"]
    h.update(f"\nimage_cutouts|{img.dtype.str}|{img.shape}|".encode() + image_digest)
    for d in REQUIRED[1:]:
        _feed(h, d, h5[d][()])
    for c in sorted(h5["catalogue"]) if "catalogue" in h5 else ():
        _feed(h, f"catalogue/{c}", h5["catalogue"][c][()])
    h.update(b"\nattrs|" + _stable_attrs(h5.attrs).encode())
    return h.hexdigest()[:16]


def _scan_images(h5, p: Path) -> bytes:
    """One pass over every cutout: the hash of the image bytes; raises naming the first NaN/inf pixel."""
    img = h5["image_cutouts"]
    n = img.shape[0]
    per = int(np.prod(img.shape[1:])) * img.dtype.itemsize
    step = max(1, _SCAN_BLOCK_BYTES // max(per, 1))
    buf = np.empty((min(step, max(n, 1)), *img.shape[1:]), img.dtype)
    h = hashlib.sha256()
    first, n_bad = None, 0
    for s in range(0, n, step):
        view = buf[:min(step, n - s)]
        img.read_direct(view, np.s_[s:s + len(view)])
        bad = _nonfinite(view)
        if bad is not None:
            n_bad += int(bad.any(axis=1).sum())
            if first is None:
                i, b = np.argwhere(bad)[0]
                first = (s + int(i), int(b))
        elif first is None:
            h.update(memoryview(view).cast("B"))
    if first is not None:
        i, b = first
        cid, gid = h5["cluster_ids"][i], h5["galaxy_ids"][i]
        gid = gid.decode() if isinstance(gid, bytes) else gid
        raise CutoutFileError(f"{p}: dataset 'image_cutouts' holds NaN or infinite pixels in {n_bad} cutout(s), "
                              f"the first at index {i} (cluster {cid} of {gid}), band {BANDS[b]}; training needs "
                              f"finite pixels. Drop those clusters or set the pixels to a finite value, and write a "
                              f"new file (`clusterage curate` drops cutouts not fully covered)")
    return h.digest()


def cache_dir() -> Path:
    """Where the fingerprint cache lives: ``$CLUSTERAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/clusterage``, else
    ``~/.cache/clusterage``."""
    if os.environ.get("CLUSTERAGE_CACHE_DIR"):
        return Path(os.environ["CLUSTERAGE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clusterage"


#: Fingerprints known to this process, by file version (see :func:`_version_of`).
_MEMO: dict[tuple, str] = {}
_CACHE_ENTRIES = 512


def _version_of(path: Path) -> tuple:
    """What identifies one version of a file: real path, size, modification and change times (ns), inode. The
    change time also moves when a copy keeps the size and modification time (``cp -p`` onto the file)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    return real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _cache_lookup(version: tuple) -> str | None:
    try:
        entry = json.loads((cache_dir() / "fingerprints.json").read_text())["entries"][version[0]]
        if entry["version"] == [*version[1:], FINGERPRINT_VERSION] and entry["validated"]:
            return str(entry["fingerprint"])
    except Exception:  # absent, unreadable or corrupt cache: compute instead
        return None
    return None


def _cache_store(version: tuple, fingerprint: str) -> None:
    """Remember a validated file's fingerprint in the cache file (atomically, under a lock); never raises."""
    import fcntl

    with contextlib.suppress(Exception):
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "fingerprints.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = d / "fingerprints.json"
            try:
                entries = json.loads(path.read_text())["entries"]
                assert isinstance(entries, dict)
            except Exception:
                entries = {}
            entries[version[0]] = {"version": [*version[1:], FINGERPRINT_VERSION], "fingerprint": fingerprint,
                                   "validated": True, "used": time.time()}
            keep = sorted(entries, key=lambda k: entries[k].get("used", 0), reverse=True)[:_CACHE_ENTRIES]
            fd, tmp = tempfile.mkstemp(prefix=".fingerprints.json.", suffix=".part", dir=d)
            with os.fdopen(fd, "w") as f:
                json.dump({"entries": {k: entries[k] for k in keep}}, f)
            os.replace(tmp, path)


def file_fingerprint(path: str | os.PathLike) -> str:
    """Validate a cutout file and return its content fingerprint (16 hex digits of a SHA-256).

    The fingerprint covers every byte training reads: all images, labels, ids, every catalogue column, shapes and
    dtypes, and the root attributes but the volatile ones (:data:`VOLATILE_ATTRS`, the products' folder). The same
    pass checks that every pixel is finite. Cached per version of the file (in this process and in
    ``<cache_dir()>/fingerprints.json``); a cache that cannot be read or written is simply not used.

    Raises
    ------
    CutoutFileError
        On a schema problem or a NaN/inf pixel, naming the file, the dataset and the first bad index.
    """
    p = Path(path)
    version = _version_of(p)
    fp = _MEMO.get(version) or _cache_lookup(version)
    if fp is None:
        with h5py.File(p, "r") as h5:
            _check_schema(h5, p)
            fp = _fingerprint_of(h5, _scan_images(h5, p))
        _cache_store(version, fp)
    _MEMO[version] = fp
    return fp


def prime_fingerprint(path: str | os.PathLike, image_digest: bytes) -> str:
    """Cache the fingerprint of a file just written by :class:`CutoutWriter` (whose ``image_digest`` hashed every
    cutout as it was appended, validated), so its first open does not scan the images again; returns it."""
    p = Path(path)
    version = _version_of(p)
    with h5py.File(p, "r") as h5:
        _check_schema(h5, p)
        fp = _fingerprint_of(h5, image_digest)
    _cache_store(version, fp)
    _MEMO[version] = fp
    return fp
