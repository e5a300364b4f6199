"""Benchmark: time to make the mock survey (smoke and laptop profiles) and clusters/s.

Targets (issue: foundation): laptop survey <= 3 min, smoke survey < 20 s on a 2-core machine.
Usage: python benchmarks/bench_mock.py [--profiles smoke laptop]
"""
import argparse
import tempfile
import time
from pathlib import Path

from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.survey.mock import MockSurveyConfig, make_mock_survey, read_manifest

TARGET_S = {"smoke": 20.0, "laptop": 180.0}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", nargs="+", default=["smoke", "laptop"])
    a = ap.parse_args()
    for name in a.profiles:
        p = get_profile(name)
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            out = make_mock_survey(Path(d) / "mock", MockSurveyConfig(fraction=p.fraction, galaxies=p.galaxies),
                                   progress=False)
            dt = time.perf_counter() - t0
            n = read_manifest(out)["n_clusters"]
            size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file()) / 1e6
        target = TARGET_S.get(name)
        verdict = "" if target is None else f"  target {target:.0f} s: {'met' if dt <= target else 'MISSED'}"
        print(f"{name:7s} {n:6d} clusters  {dt:7.1f} s  {n / dt:7.1f} clusters/s  {size:8.0f} MB{verdict}")
