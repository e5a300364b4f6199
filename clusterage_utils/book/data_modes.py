"""The data-modes page's numbers (``book/data_modes.ipynb``): the mock's calibration and its test against the study,
read from the calibration benchmark's tables (``benchmarks/results/mock_*``) and from the book's own store.

The comparison itself (orderings, predictive power, aperture shares) is :mod:`~clusterage_utils.analysis.calibration`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.calibration import compare_with_study, comparison_numbers, held_out_cases
from .cost import benchmark_results

__all__ = ["calibration_grid", "validation_table", "calibration_note", "page_numbers"]


def calibration_grid(name: str = "mock_calibration") -> tuple[pd.DataFrame, dict] | None:
    """The calibration benchmark's table (``benchmarks/results/<name>``) with a ``default`` column: True for the
    grid point whose parameters are :class:`~clusterage_utils.survey.mock.MockSurveyConfig`'s defaults (the calibrated
    mock), and its metadata; None if the benchmark was not run in this checkout."""
    from ..survey.mock import MockSurveyConfig

    res = benchmark_results(name)
    if res is None:
        return None
    table, meta = res
    defaults = MockSurveyConfig()

    def is_default(row) -> bool:
        for f in meta.get("fields", []):
            want, got = getattr(defaults, f), row[f]
            if (want is None) != pd.isna(got) or (want is not None and not np.isclose(float(got), want)):
                return False
        return True

    return table.assign(default=table.apply(is_default, axis=1)), meta


def validation_table(name: str = "mock_validation") -> pd.DataFrame | None:
    """A mock table (:func:`mock_table`) saved by ``benchmarks/bench_mock_calibration.py --validate`` in
    ``benchmarks/results/<name>.csv``, or None if that benchmark was not run in this checkout."""
    res = benchmark_results(name)
    return None if res is None else res[0].set_index("case")


def calibration_note(name: str = "mock_validation") -> str:
    """One sentence for a mock page's synthetic-data note: what the mock was calibrated on and how well it
    predicts the study's results it was not calibrated on (from ``benchmarks/results/<name>``; empty if absent)."""
    try:
        res = benchmark_results(name)
    except FileNotFoundError:        # installed without the repository's benchmarks/
        return ""
    if res is None:
        return ""
    table, meta = res
    n = comparison_numbers(compare_with_study(table.set_index("case")))
    return (f"Its physics was calibrated on three of the study's results (five bands, full sample: unmasked, centre "
            f"hidden, centre kept, 12 px) with a network of width {meta.get('width', float('nan')):g}; on the "
            f"{len(held_out_cases())} configurations it was not calibrated on, it reproduces "
            f"{n['held_out_agreeing']:.0f} of the study's {n['held_out_pairs']:.0f} resolved case orderings, and its "
            f"predictive power correlates with the study's at {n['held_out_power_corr']:.2f} (see the data-modes "
            f"page).")


def _width_changes(diagnosis: pd.DataFrame) -> dict[str, float]:
    """How much the three calibration cases moved from the next narrower network (largest |change|, dex), from 1/8
    to 1/4 and from 1/4 to 1/2 of the study's width (coupling 1)."""
    d = diagnosis[diagnosis["coupling"] == 1.0]
    change = d.groupby("width")["change_from_narrower_dex"].apply(lambda v: v.abs().max())
    return {"diag_change_8_4": float(change.get(0.25, np.nan)), "diag_change_4_2": float(change.get(0.5, np.nan))}


def page_numbers(profile: str = "laptop", data=None, store=None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Everything the data-modes page quotes about the calibrated mock.

    Parameters
    ----------
    profile, data, store
        The book's page context (:func:`~clusterage_utils.book.page.page_context`), whose store holds the book's
        own networks' results; a book whose survey is not made yet has none.

    Returns
    -------
    numbers : dict
        ``cal_width_inv``, ``cal_seeds`` (of the calibration grid), ``val_seeds`` (of the validation),
        ``tolerance``, ``grid_points``, the width changes of the diagnosis, and
        :func:`~clusterage_utils.analysis.calibration.comparison_numbers` prefixed ``cal_`` (the calibration
        network, ``benchmarks/results/mock_validation``) and ``book_`` (this book's networks); NaN for what was
        not measured, so the page always finds its numbers.
    grid : pandas.DataFrame
        The calibration grid by point (empty if not run).
    summary : pandas.DataFrame
        The comparison per networks and set (empty if nothing was measured).
    """
    from ..analysis.calibration import store_table
    from .page import page_context

    numbers: dict = {"cal_width_inv": np.nan, "cal_seeds": np.nan, "val_seeds": np.nan, "tolerance": np.nan,
                     "grid_points": 0, "diag_change_8_4": np.nan, "diag_change_4_2": np.nan}
    grid_table = pd.DataFrame()
    grid = calibration_grid()
    if grid is not None:
        table, meta = grid
        numbers.update(cal_width_inv=1 / meta["width"], cal_seeds=len(meta["seeds"]), tolerance=meta["tolerance_dex"],
                       grid_points=len(table))
        grid_table = table.set_index("point")
    diagnosis = benchmark_results("mock_diagnosis")
    if diagnosis is not None:
        numbers.update(_width_changes(diagnosis[0]))
    comparisons = {"calibration network": None, "this book's networks": None}
    validation = benchmark_results("mock_validation")
    if validation is not None:
        numbers["val_seeds"] = len(validation[1].get("seeds", []))
        comparisons["calibration network"] = validation[0].set_index("case")
    try:
        ctx = page_context(profile, data, store)
        comparisons["this book's networks"] = store_table(ctx.store, ctx.data_path, ctx.profile.training)
    except (ValueError, FileNotFoundError):
        pass                    # no survey yet, or the store holds none of the study's configurations (partial build)
    rows = []
    for who, prefix in (("calibration network", "cal_"), ("this book's networks", "book_")):
        cmp = compare_with_study(comparisons[who]) if comparisons[who] is not None else None
        numbers.update({prefix + k: v for k, v in comparison_numbers(cmp).items()})
        if cmp is not None:
            rows.append(cmp["summary"].assign(networks=who))
    summary = pd.concat(rows).set_index(["networks", "set"]) if rows else pd.DataFrame()
    return numbers, grid_table, summary
