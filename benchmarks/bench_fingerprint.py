"""Benchmark: what the cutout file's fingerprint and validation cost, against opening and preprocessing the file.

The fingerprint (``cutouts.file_fingerprint``) hashes every byte training reads and checks every pixel in the same
pass; it is cached per version of the file (in the process, and in ``<cache>/fingerprints.json``). Measured, for a
laptop-profile-size file and a paper-size one (8,651 clusters):

- ``fingerprint, cold``: nothing cached (a file never opened on this machine, or just changed): the full scan;
- ``fingerprint, cached on disk``: a new process opening a file scanned before (every pool worker, every run);
- ``fingerprint, cached in memory``: the same process again (each record, each input cache key);
- ``open + preprocess``: ``open_cutouts`` (cached fingerprint) + ``inputs.raw_cutouts`` + the five-band instance
  preprocessing of every cutout in blocks of 256, as a training in memory mode does (the baseline);
- the scan's parts: reading (decompressing) every image block, the finite check, and hashing with SHA-256 and
  with BLAKE2b (which is faster here decides the hash).

Must hold (issue 26): the fingerprint's cost on the laptop file below 5 % of open + preprocess, with the cache;
the cold cost is reported too. The files are synthesised with :class:`~clusterage_utils.survey.cutouts.CutoutWriter`
(sky noise plus a Gaussian source per cutout, LZF as curation writes them) rather than by the mock survey: only
their size and compression matter here. The OS page cache is warm for every step alike (the file was just
written), so the ratios compare like with like. Each time is the median of ``--repeats`` runs.

Usage: python benchmarks/bench_fingerprint.py [--sizes laptop paper] [--repeats 3] [--dir DIR]
Writes benchmarks/results/fingerprint.{csv,json}.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from clusterage_utils.book.cost import save_benchmark
from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.survey import cutouts
from clusterage_utils.survey.cutouts import CutoutWriter, file_fingerprint, open_cutouts
from clusterage_utils.survey.reference import galaxies

MUST_HOLD_FRACTION = 0.05


def n_clusters(size: str) -> int:
    """Clusters of a profile's mock survey: its fraction of Table 1's N (the paper: all 8,651)."""
    return int(round(get_profile(size).fraction * galaxies()["n_clusters"].sum())) if size != "paper" else 8651


def synthesise(path: Path, n: int, size_px: int = 112, block: int = 256) -> Path:
    """A cutout file of ``n`` clusters written like curation writes one (LZF, one cutout per chunk)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size_px, 0:size_px]
    blob = np.exp(-((xx - size_px / 2) ** 2 + (yy - size_px / 2) ** 2) / 8.0).astype(np.float32)
    w = CutoutWriter(path, size_px)
    for s in range(0, n, block):
        k = min(block, n - s)
        img = rng.normal(0.0, 0.02, (k, 5, size_px, size_px)).astype(np.float32) + blob
        table = pd.DataFrame({"galaxy_id": "NGC_628C", "cluster_id": np.arange(s, s + k),
                              "log_age": rng.uniform(6, 10, k), "distance_mpc": 9.84})
        w.append(img, table)
    w.close({"source": "mock", "created_utc": "2026-01-01T00:00:00+00:00", "package_version": "bench"})
    return path


def timed(fn, repeats: int, before=None) -> float:
    out = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def forget(cache_dir: Path, disk: bool) -> None:
    """Forget the fingerprints of this process (and the disk cache if ``disk``)."""
    cutouts._MEMO.clear()
    if disk:
        (cache_dir / "fingerprints.json").unlink(missing_ok=True)


def open_and_preprocess(path: Path) -> None:
    """What a training in memory mode does before its first step: open, read every cutout, preprocess them all."""
    from clusterage_utils.engine import inputs
    from clusterage_utils.engine.preprocessing import preprocess

    getattr(inputs, "_RAW_CACHE", {}).clear()
    data = open_cutouts(path)
    raw = inputs.raw_cutouts(data)
    visible = np.ones(data.shape[1:], bool)
    out = np.empty((data.n, *data.shape[1:], data.shape[0]), np.float32)
    for s in range(0, data.n, 256):
        out[s:s + 256] = preprocess(raw[s:s + 256], "five_band", visible, "instance")
    getattr(inputs, "_RAW_CACHE", {}).clear()


def scan_parts(path: Path, repeats: int) -> dict[str, float]:
    """Seconds to read every image block, check it, and hash it (SHA-256, BLAKE2b)."""
    import h5py

    with h5py.File(path, "r") as h5:
        img = h5["image_cutouts"]
        step = max(1, cutouts._SCAN_BLOCK_BYTES // (int(np.prod(img.shape[1:])) * 4))
        buf = np.empty((step, *img.shape[1:]), np.float32)

        def read():
            for s in range(0, img.shape[0], step):
                img.read_direct(buf[:min(step, img.shape[0] - s)], np.s_[s:s + step])

        t_read = timed(read, repeats)
        data = img[()]
    flat = memoryview(data).cast("B")
    return {"read images (decompress)": t_read,
            "finite check": timed(lambda: cutouts._nonfinite(data), repeats),
            "hash sha256": timed(lambda: hashlib.sha256(flat).digest(), repeats),
            "hash blake2b": timed(lambda: hashlib.blake2b(flat).digest(), repeats)}


def measure(size: str, folder: Path, repeats: int) -> list[dict]:
    n = n_clusters(size)
    path = folder / f"{size}.h5"
    t0 = time.perf_counter()
    synthesise(path, n)
    print(f"{size}: {n} cutouts, {path.stat().st_size / 1e6:.0f} MB written in {time.perf_counter() - t0:.0f} s",
          flush=True)
    cache_dir = Path(os.environ["CLUSTERAGE_CACHE_DIR"])
    times = {
        "fingerprint, cold": timed(lambda: file_fingerprint(path), repeats, lambda: forget(cache_dir, True)),
        "fingerprint, cached on disk": timed(lambda: file_fingerprint(path), repeats,
                                             lambda: forget(cache_dir, False)),
        "fingerprint, cached in memory": timed(lambda: file_fingerprint(path), repeats),
        "open + preprocess": timed(lambda: open_and_preprocess(path), repeats),
    }
    times.update(scan_parts(path, repeats))
    base = times["open + preprocess"]
    rows = [{"file": size, "n_clusters": n, "file_mb": round(path.stat().st_size / 1e6), "step": k,
             "seconds": round(v, 5), "fraction_of_open_preprocess": round(v / base, 5)} for k, v in times.items()]
    path.unlink()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["laptop", "paper"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where to write the synthetic files (default: a temp dir)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        os.environ["CLUSTERAGE_CACHE_DIR"] = str(Path(d) / "cache")
        rows = [r for size in a.sizes for r in measure(size, Path(d), a.repeats)]
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    lap = df[(df["file"] == "laptop")].set_index("step")["fraction_of_open_preprocess"] if "laptop" in a.sizes \
        else None
    met = bool(lap is not None and lap["fingerprint, cached on disk"] < MUST_HOLD_FRACTION)
    if lap is not None:
        print(f"laptop file: fingerprint cached on disk {100 * lap['fingerprint, cached on disk']:.3f} % of open + "
              f"preprocess (must be < {100 * MUST_HOLD_FRACTION:.0f} %: {'met' if met else 'MISSED'}); cold "
              f"{100 * lap['fingerprint, cold']:.0f} %")
    save_benchmark("fingerprint", df, repeats=a.repeats, must_hold_fraction=MUST_HOLD_FRACTION,
                   must_hold_met=met, files="synthesised with CutoutWriter (noise + a source, LZF)",
                   page_cache="warm for every step")


if __name__ == "__main__":
    main()
