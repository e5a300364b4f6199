"""Benchmark: curating the laptop mock survey, and streaming the cutout file from disk.

Targets (issue: curation): curation <= 1 min on 2 cores; the open file streams >= 2,000 cutouts/s.
Streaming is measured for LZF-compressed (the default) and uncompressed files, in file order and in shuffled
batches (what training does).
Usage: python benchmarks/bench_cutouts.py [--survey DIR]   (default: makes the laptop survey in a temp dir)
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.survey.curation import CurationConfig, curate
from clusterage_utils.survey.cutouts import open_cutouts
from clusterage_utils.survey.mock import MockSurveyConfig, make_mock_survey


def stream_rate(path, order, batch=256, repeats=2):
    cf = open_cutouts(path)
    idx = np.arange(cf.n) if order == "file order" else np.random.default_rng(0).permutation(cf.n)
    t0 = time.perf_counter()
    n = 0
    for _ in range(repeats):
        for b, _ in cf.iter_batches(idx, batch):
            n += len(b)
    return n / (time.perf_counter() - t0)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--survey", help="an existing mock or real products folder")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        survey = Path(a.survey) if a.survey else make_mock_survey(
            Path(d) / "mock", MockSurveyConfig(fraction=get_profile("laptop").fraction), progress=False)
        for comp in ("lzf", None):
            out = Path(d) / f"cutouts_{comp}.h5"
            t0 = time.perf_counter()
            s = curate(survey, out, CurationConfig(compression=comp), progress=False)
            dt = time.perf_counter() - t0
            n = int(s["kept"].sum())
            mb = out.stat().st_size / 1e6
            print(f"curation ({comp or 'uncompressed'}): {n} cutouts in {dt:.1f} s ({n / dt:.0f}/s), {mb:.0f} MB"
                  f"{'  target 60 s: ' + ('met' if dt <= 60 else 'MISSED') if comp == 'lzf' else ''}")
            for order in ("file order", "shuffled"):
                r = stream_rate(out, order)
                print(f"  streaming, {order:10s}: {r:8.0f} cutouts/s  target 2000: {'met' if r >= 2000 else 'MISSED'}")
