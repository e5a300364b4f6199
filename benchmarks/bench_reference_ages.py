"""Measurement: how much does the sigma-clipped local sky change the mock's reference ages?

The mock's reference ages are measured like PHANGS's: 4-px aperture photometry with a local-sky annulus, then an
SSP fit. Until mock version 2 the sky was a plain median of the annulus; now it is a sigma-clipped median (astropy
SigmaClip, 3 sigma). This simulates the same galaxies (same seed, same truth and images) both ways and compares the
reference ages with the true ages. Writes ``benchmarks/results/reference_ages.csv``.

Usage: python benchmarks/bench_reference_ages.py [--fraction 0.25] [--galaxies ID ...]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from clusterage_utils.book.cost import save_benchmark
from clusterage_utils.survey.mock import MockSurveyConfig, simulate_galaxy
from clusterage_utils.survey.reference import galaxies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=0.25)
    ap.add_argument("--galaxies", nargs="+", default=list(galaxies().index))
    a = ap.parse_args()
    rows = []
    for clip, label in ((None, "plain median (mock v1)"), (3.0, "sigma-clipped median (mock v2)")):
        cfg = MockSurveyConfig(fraction=a.fraction, galaxies=tuple(a.galaxies), sky_sigma_clip=clip)
        cats = [simulate_galaxy(g, cfg).catalogue for g in cfg.galaxies]
        cat = pd.concat(cats, ignore_index=True)
        ref = np.log10(cat["PHANGS_SED_AGE"].to_numpy(float)) + 6.0
        d = ref - cat["MOCK_TRUE_LOG_AGE"].to_numpy(float)
        rows.append({"sky": label, "clusters": len(d), "median_abs_dex": float(np.median(np.abs(d))),
                     "scatter_1.49mad_dex": float(1.49 * np.median(np.abs(d))),
                     "bias_median_dex": float(np.median(d)), "off_by_more_than_1_dex_pct": float(100 * np.mean(
                         np.abs(d) > 1))})
    out = pd.DataFrame(rows)
    print(out.round(4).to_string(index=False))
    save_benchmark("reference_ages", out.round(4), fraction=a.fraction, galaxies=a.galaxies)


if __name__ == "__main__":
    main()
