"""Chapters 03 and 04, inner and outer masking (the study's Figs. 3 and 8), and the sweeps that chapters 06 and 10
reuse.

A sweep is a set of mask diameters for one (input, sample) panel. With ``masking="retrain"`` every diameter is a
network of its own (the study); with ``"amortised"`` one network per panel and seed is trained with a diameter
drawn per example and evaluated at each diameter, and the study's retrained cases that fall on the sweep (Figs. 4-5:
0, 12, 24 px) are trained too, as checks of the amortised curve.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from ..experiments import Experiment, case_experiments, fig5_cases, masking_sweep, parse_case
from ..profiles import Profile
from .common import resolve_profile, unique

__all__ = ["PANELS", "APERTURE_DIAMETER_PX", "GROUP_AMORTISED_PASSES", "sweep_experiments", "check_cases",
           "inner_experiments", "outer_experiments", "sweep_steps", "environment_contrast"]

PANELS = (("five_band", "full"), ("five_band", "restricted"), ("white_light", "full"), ("white_light", "restricted"))
#: The photometric aperture of the reference ages: radius 4 px.
APERTURE_DIAMETER_PX = 8
#: Passes per epoch of a distance group's amortised model, whatever the profile's ``amortised_passes``: on the
#: small training sets of a group (a third of the clusters) more passes overfit - with two, a near-group seed fell
#: to the null predictor (``benchmarks/bench_amortised.py``, results ``amortised_passes_groups``).
GROUP_AMORTISED_PASSES = 1


def check_cases(kind: str, panels=PANELS) -> list[str]:
    """The study's retrained cases (Figs. 4-5) that lie on a sweep of ``kind`` for these panels, the unmasked
    case included for inner masking."""
    out = []
    for name in fig5_cases():
        e = parse_case(name)
        if e.labels != "reference" or (e.input, e.sample) not in panels:
            continue
        if e.mask == kind or (kind == "mask_centre" and e.mask == "none"):
            out.append(name)
    return out


def sweep_experiments(kind: str, profile: Profile | str, diameters=None, seeds=None, masking: str | None = None,
                      panels=PANELS, group: str | None = None, unit: str = "px", checks: bool = True
                      ) -> list[Experiment]:
    """A masking sweep over ``panels``.

    Parameters
    ----------
    kind : {"mask_centre", "keep_centre"}
    profile : Profile or str
    diameters : list, optional
        Mask diameters (in ``unit``), default the profile's grid.
    seeds : list of int, optional
    masking : {"retrain", "amortised"}, optional
        Default: the profile's ``sweep_masking``.
    panels : tuple of (input, sample)
    group : {None, "near", "far"}
        Restrict to a distance group of galaxies (with amortised masking its models make
        :data:`GROUP_AMORTISED_PASSES` passes per epoch), trained with the profile's ``group_training``
        (:class:`~clusterage_utils.profiles.Profile`). An amortised keep-centre sweep of the whole sample is trained
        with the profile's ``keep_centre_training`` (its retrained checks are not: other chapters share them).
    unit : {"px", "pc"}
    checks : bool
        With amortised masking, also train the study's retrained cases on the sweep (:func:`check_cases`).
    """
    prof = resolve_profile(profile, seeds, diameters if unit == "px" else None, diameters if unit == "pc" else None)
    method = masking or prof.sweep_masking
    if group is not None:
        passes = {"amortised_passes": GROUP_AMORTISED_PASSES} if method == "amortised" else {}
        prof = dataclasses.replace(prof, training=dataclasses.replace(prof.training,
                                                                      **{**passes, **prof.group_training}))
    grid = prof.training.diameters_pc if unit == "pc" else prof.training.diameters_px
    sweep_prof = prof
    if kind == "keep_centre" and method == "amortised" and group is None:
        sweep_prof = dataclasses.replace(prof, training=dataclasses.replace(prof.training,
                                                                            **prof.keep_centre_training))
    exps = [e for inp, sample in panels
            for e in masking_sweep(kind, inp, sample, sweep_prof, grid, masking=method, group=group,
                                   diameter_unit=unit)]
    if method == "amortised" and checks and group is None and unit == "px":
        exps += case_experiments(check_cases(kind, panels), prof)
    return unique(exps)


def inner_experiments(profile: Profile | str, diameters=None, seeds=None, masking=None, **_) -> list[Experiment]:
    """Chapter 03: the inner-masking sweep of all four panels (the study's Fig. 3)."""
    return sweep_experiments("mask_centre", profile, diameters, seeds, masking)


def outer_experiments(profile: Profile | str, diameters=None, seeds=None, masking=None, **_) -> list[Experiment]:
    """Chapter 04: the outer-masking sweep of all four panels (the study's Fig. 8)."""
    return sweep_experiments("keep_centre", profile, diameters, seeds, masking)


def sweep_steps(summary: pd.DataFrame, kind: str, aperture_px: float = APERTURE_DIAMETER_PX) -> pd.DataFrame:
    """Per panel, how the test scatter changes along a sweep: at the smallest diameter, at the aperture
    (the grid point nearest ``aperture_px``), at the largest; the change up to the aperture and beyond it, and
    the share of the whole change that happens by the aperture.

    ``summary``: :func:`~clusterage_utils.metrics.summarise_seeds` rows of one masking method.
    """
    rows = []
    s = summary[summary["labels"] == "reference"]
    for (inp, sample), g in s.groupby(["input", "sample"], sort=False):
        g = g[g["mask"].isin(["none", kind] if kind == "mask_centre" else [kind])].sort_values("diameter")
        if len(g) < 2:
            continue
        d = g["diameter"].to_numpy(float)
        m = g["test_scatter_mean"].to_numpy(float)
        k = int(abs(d - aperture_px).argmin())
        total = m[-1] - m[0]
        rows.append({"input": inp, "sample": sample, "first_diameter": d[0], "first_dex": m[0],
                     "aperture_diameter": d[k], "aperture_dex": m[k], "last_diameter": d[-1], "last_dex": m[-1],
                     "null_dex": float(g["null_scatter_dex"].mean()), "change_to_aperture_dex": m[k] - m[0],
                     "change_beyond_aperture_dex": m[-1] - m[k],
                     "share_by_aperture": (m[k] - m[0]) / total if total else float("nan")})
    return pd.DataFrame(rows)


def environment_contrast(data, diameters, input_kind: str = "white_light", n: int = 300, ring_px: float = 24.0,
                         seed: int = 0) -> pd.DataFrame:
    """What per-cutout min-max normalisation does to a cluster's surroundings as the centre is masked: the median
    normalised value of the pixels outside ``ring_px`` (the environment), per inner-mask diameter.

    With the centre visible, the bright cluster sets each cutout's maximum and squeezes its faint surroundings
    towards 0; masking the centre re-stretches them. A network can then see more of the environment with the
    centre masked than without - a property of the representation, not of the sky.

    Parameters
    ----------
    data : CutoutFile
    diameters : list of float
        Inner-mask diameters (px).
    input_kind : {"white_light", "five_band"}
    n : int
        Random clusters used.
    """
    import numpy as np

    from ..preprocessing import preprocess, visible_pixels

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(data.n, min(n, data.n), replace=False))
    raw = data.images(idx)
    size = data.shape[-1]
    outside = ~visible_pixels("keep_centre", ring_px, size)
    rows = []
    for d in diameters:
        vis = visible_pixels("mask_centre" if d else "none", d, size)
        x = preprocess(raw, input_kind, vis, "instance")
        env = x[:, outside, :]
        rows.append({"diameter": d, "environment_median": float(np.median(env)),
                     "environment_p90": float(np.quantile(env, 0.9))})
    return pd.DataFrame(rows)
