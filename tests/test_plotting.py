"""Every figure function draws from plain tables (no files), and stamps synthetic or real data."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from clusterage_utils.analysis import plotting  # noqa: E402
from clusterage_utils.constants import APERTURE_DIAMETER_PX  # noqa: E402
from clusterage_utils.sweeps import MaskKind, Sweep  # noqa: E402


def _summary():
    rows = []
    for inp in ("five_band", "white_light"):
        for sample in ("full", "restricted"):
            for d in (0, 4, 8, 12):
                for method in ("amortised", "retrain") if d in (0, 12) else ("amortised",):
                    m = 0.5 + 0.02 * d
                    rows.append({"case": f"{inp}_{sample}_{'none' if d == 0 else f'mask_centre_{d}'}",
                                 "input": inp, "sample": sample, "mask": "none" if d == 0 else "mask_centre",
                                 "diameter": d, "diameter_unit": "px", "labels": "reference", "masking": method,
                                 "group": "all", "test_scatter_mean": m, "test_ci_lo": m - 0.05,
                                 "test_ci_hi": m + 0.05, "train_scatter_mean": m - 0.1, "train_scatter_std": 0.01,
                                 "val_scatter_mean": m, "val_scatter_std": 0.02, "null_scatter_dex": 1.0,
                                 "predictive_power_pct": 100 * (1 - m**2)})
    return pd.DataFrame(rows)


def test_masking_curves_and_case_bars_stamp_the_mock():
    s = _summary()
    fig = plotting.masking_curves(s, Sweep(MaskKind.MASK_CENTRE), mock=True)
    assert any(plotting.MOCK_LABEL in t.get_text() for t in fig.texts)
    power = fig.axes[2]              # the first panel's power axis: the aperture where the constants put it
    assert any(list(line.get_xdata()) == [APERTURE_DIAMETER_PX] * 2 for line in power.get_lines())
    assert power.get_xlabel() == "masked diameter (px, square-root axis)"
    fig = plotting.case_bars(s[s["masking"] == "retrain"], ["five_band_full_none", "white_light_full_mask_centre_12"])
    assert len(fig.axes) == 1


def test_real_data_figures_say_whose_data():
    from clusterage_utils.analysis.study import (
        study_case_scores,
        study_model_scores,
        study_prediction_matrix,
        study_predictions,
    )

    preds = study_predictions()
    cases = study_case_scores(preds)
    fig = plotting.real_case_bars(cases, study_model_scores(preds, n_boot=10), list(cases["case"]))
    assert any("REAL DATA" in t.get_text() for t in fig.texts)
    pm, lab, _ = study_prediction_matrix(preds, "five_band_full_none")
    fig = plotting.real_feasibility({"full": (pm, lab)}, cases[cases["case"] == "five_band_full_none"])
    assert any("REAL DATA" in t.get_text() for t in fig.texts)
    assert np.isfinite(pm).all()
