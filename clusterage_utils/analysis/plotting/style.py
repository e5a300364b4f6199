"""Shared look of the book's figures: the synthetic / real data stamps, colours, panel names, error bars."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["AGE_CMAP", "MOCK_LABEL", "REAL_LABEL", "PANELS", "PANEL_TITLES", "SET_COLOURS", "STUDY_COLOUR",
           "stamp_mock", "stamp_real", "case_label"]

AGE_CMAP = "plasma_r"
MOCK_LABEL = "MOCK SURVEY (synthetic data)"
REAL_LABEL = "REAL DATA: the study's released runs on PHANGS-HST clusters"
PANELS = [("five_band", "full"), ("five_band", "restricted"), ("white_light", "full"), ("white_light", "restricted")]
PANEL_TITLES = {"five_band": "5 bands", "white_light": "white light", "full": "full sample",
                "restricted": "restricted (7 ≤ log age ≤ 9.5)"}
SET_COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
#: The study's own numbers (real data) are drawn in this colour on every figure.
STUDY_COLOUR = "crimson"


def stamp_mock(fig, mock: bool = True) -> None:
    """Write a visible 'synthetic data' label on a figure built from the mock survey."""
    if mock:
        fig.text(0.995, 0.005, MOCK_LABEL, ha="right", va="bottom", fontsize=8, color="crimson",
                 alpha=0.85, weight="bold")


def stamp_real(fig, label: str = REAL_LABEL) -> None:
    """Write whose real data a figure shows (default: the study's released runs)."""
    fig.text(0.995, 0.005, label, ha="right", va="bottom", fontsize=8, color="navy", alpha=0.85, weight="bold")


def case_label(case: str) -> str:
    """A case name as axis text: ``white_light_full_mask_centre_24`` -> ``white light full mask centre 24``."""
    return case.replace("_", " ")


_label = case_label


def _ci_err(summary: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars (2, n) of the mean test scatter from ``test_ci_lo`` / ``test_ci_hi``."""
    m = summary["test_scatter_mean"].to_numpy(float)
    return np.clip(np.vstack([m - summary["test_ci_lo"].to_numpy(float),
                              summary["test_ci_hi"].to_numpy(float) - m]), 0, None)
