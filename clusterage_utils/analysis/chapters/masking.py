"""Chapters 03 and 04, inner and outer masking (the study's Figs. 3 and 8), and the sweeps that chapters 06 and 10
reuse.

A sweep is a set of mask diameters for one (input, sample) panel. With ``masking="retrain"`` every diameter is a
network of its own (the study); with ``"amortised"`` one network per panel and seed is trained with a diameter
drawn per example and evaluated at each diameter, and the study's retrained cases that fall on the sweep (Figs. 4-5:
0, 12, 24 px) are trained too, as checks of the amortised curve.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from ...constants import APERTURE_DIAMETER_PX, APERTURE_RADIUS_PX
from ...engine.experiments import Experiment, case_experiments, fig5_cases, masking_sweep, parse_case
from ...engine.profiles import Profile
from ...metrics import compare_masking_methods
from ...sweeps import MaskKind, Sweep
from .common import PageSettings, unique

__all__ = ["PANELS", "GROUP_AMORTISED_PASSES", "sweep_experiments", "check_cases", "inner_experiments",
           "outer_experiments", "sweep_steps", "step_numbers", "SweepResult", "sweep_result", "comparison_numbers",
           "environment_contrast", "contrast_numbers"]

PANELS = (("five_band", "full"), ("five_band", "restricted"), ("white_light", "full"), ("white_light", "restricted"))
#: Passes per epoch of a distance group's amortised model, whatever the profile's ``amortised_passes`` (why:
#: ``benchmarks/README.md``, amortised sweeps).
GROUP_AMORTISED_PASSES = 1


def check_cases(kind: MaskKind, panels=PANELS) -> list[str]:
    """The study's retrained cases (Figs. 4-5) that lie on a sweep of ``kind`` for these panels, the unmasked
    case included for inner masking."""
    kinds = Sweep(kind).record_kinds
    out = []
    for name in fig5_cases():
        e = parse_case(name)
        if e.labels == "reference" and (e.input, e.sample) in panels and e.mask in kinds:
            out.append(name)
    return out


def _with_training(profile: Profile, changes: dict) -> Profile:
    return dataclasses.replace(profile, training=dataclasses.replace(profile.training, **changes))


def sweep_experiments(kind: MaskKind, settings: PageSettings, panels=PANELS, group: str | None = None,
                      unit: str = "px", checks: bool = True) -> list[Experiment]:
    """A masking sweep of ``kind`` over ``panels``, at the page's diameters of ``unit``, by its masking method.

    Parameters
    ----------
    kind : MaskKind
        ``mask_centre`` or ``keep_centre``.
    settings : PageSettings
    panels : tuple of (input, sample)
    group : {None, "near", "far"}
        Restrict to a distance group of galaxies, trained with the profile's ``group_training`` (amortised:
        :data:`GROUP_AMORTISED_PASSES` passes per epoch). An amortised keep-centre sweep of the whole sample is
        trained with the profile's ``keep_centre_training`` (its retrained checks are not: other chapters share
        them).
    unit : {"px", "pc"}
    checks : bool
        With amortised masking, also train the study's retrained cases on the sweep (:func:`check_cases`).
    """
    prof = settings.profile
    if group is not None:
        passes = {"amortised_passes": GROUP_AMORTISED_PASSES} if settings.amortised else {}
        prof = _with_training(prof, {**passes, **prof.group_training})
    sweep_prof = prof
    if kind == MaskKind.KEEP_CENTRE and settings.amortised and group is None:
        sweep_prof = _with_training(prof, prof.keep_centre_training)
    sweep = settings.sweep(kind, unit)
    exps = [e for inp, sample in panels
            for e in masking_sweep(sweep, inp, sample, sweep_prof, masking=settings.masking, group=group)]
    if settings.amortised and checks and group is None and unit == "px":
        exps += case_experiments(check_cases(kind, panels), prof)
    return unique(exps)


def inner_experiments(settings: PageSettings) -> list[Experiment]:
    """Chapter 03: the inner-masking sweep of all four panels (the study's Fig. 3)."""
    return sweep_experiments(MaskKind.MASK_CENTRE, settings)


def outer_experiments(settings: PageSettings) -> list[Experiment]:
    """Chapter 04: the outer-masking sweep of all four panels (the study's Fig. 8)."""
    return sweep_experiments(MaskKind.KEEP_CENTRE, settings)


def sweep_steps(summary: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    """Per panel, how the test scatter changes along a sweep: at the smallest diameter, at the aperture
    (the grid point nearest :attr:`~clusterage_utils.sweeps.Sweep.aperture_marker`), at the largest; the change up
    to the aperture and beyond it, and the share of the whole change that happens by the aperture.

    ``summary``: :func:`~clusterage_utils.metrics.summarise_seeds` rows of one masking method (px).
    """
    rows = []
    s = summary[summary["labels"] == "reference"]
    for (inp, sample), g in s.groupby(["input", "sample"], sort=False):
        g = g[sweep.selects(g)].sort_values("diameter")
        if len(g) < 2:
            continue
        d = g["diameter"].to_numpy(float)
        m = g["test_scatter_mean"].to_numpy(float)
        k = int(abs(d - sweep.aperture_marker).argmin())
        total = m[-1] - m[0]
        rows.append({"input": inp, "sample": sample, "first_diameter": d[0], "first_dex": m[0],
                     "aperture_diameter": d[k], "aperture_dex": m[k], "last_diameter": d[-1], "last_dex": m[-1],
                     "null_dex": float(g["null_scatter_dex"].mean()), "change_to_aperture_dex": m[k] - m[0],
                     "change_beyond_aperture_dex": m[-1] - m[k],
                     "share_by_aperture": (m[k] - m[0]) / total if total else float("nan")})
    return pd.DataFrame(rows)


def step_numbers(steps: pd.DataFrame) -> dict[str, float | int]:
    """:func:`sweep_steps` as flat numbers for prose, per panel ``<input>_<sample>``: ``_first``, ``_aperture``,
    ``_last`` and ``_null`` (dex), ``_last_d`` (the largest diameter) and ``_share`` (% of the change by the
    aperture)."""
    out: dict[str, float | int] = {}
    for r in steps.itertuples():
        key = f"{r.input}_{r.sample}"
        out |= {f"{key}_first": r.first_dex, f"{key}_aperture": r.aperture_dex, f"{key}_last": r.last_dex,
                f"{key}_last_d": int(r.last_diameter), f"{key}_null": r.null_dex,
                f"{key}_share": 100 * r.share_by_aperture}
    return out


def comparison_numbers(cmp: pd.DataFrame) -> dict[str, float | int | str]:
    """:func:`~clusterage_utils.metrics.compare_masking_methods` as numbers and one phrase for prose:
    ``cmp_mean_diff`` and ``cmp_max_diff`` (dex), ``cmp_agree`` and ``cmp_panels`` (panels), and ``cmp_worst``
    (where the two methods differ most, and which way); NaN / 0 and "none" without a shared diameter."""
    if not len(cmp):
        return {"cmp_mean_diff": float("nan"), "cmp_max_diff": float("nan"), "cmp_agree": 0, "cmp_panels": 0,
                "cmp_worst": "none (no diameter was evaluated by both methods)"}
    worst = cmp.loc[cmp["max_abs_diff_dex"].idxmax()]
    return {"cmp_mean_diff": float(cmp["mean_abs_diff_dex"].mean()),
            "cmp_max_diff": float(cmp["max_abs_diff_dex"].max()), "cmp_agree": int(cmp["agrees"].sum()),
            "cmp_panels": len(cmp),
            "cmp_worst": f"{worst['input'].replace('_', ' ')}, {worst['sample']} sample, at "
                         f"{worst['worst_diameter']:g} px: the amortised network "
                         f"{'worse' if worst['worst_diff_dex'] > 0 else 'better'} by "
                         f"{abs(worst['worst_diff_dex']):.3f} dex"}


@dataclass(frozen=True)
class SweepResult:
    """A chapter's masking sweep, trained and scored (:func:`sweep_result`).

    Attributes
    ----------
    sweep : Sweep
    settings : PageSettings
    experiments : list of Experiment
        The sweep's experiments and, with amortised masking, the retrained checks.
    scores : pandas.DataFrame
        One store row per experiment (an evaluation of a trained network).
    summary : pandas.DataFrame
        Per case over seeds (:func:`~clusterage_utils.metrics.summarise_seeds`), both masking methods.
    """

    sweep: Sweep
    settings: PageSettings
    experiments: list
    scores: pd.DataFrame
    summary: pd.DataFrame

    @property
    def curve(self) -> pd.DataFrame:
        """The summary rows of the sweep's own masking method (the curve; the others are checks)."""
        return self.summary[self.summary["masking"] == self.settings.masking]

    @property
    def diameters(self) -> list[float]:
        """The curve's diameters, sorted."""
        return sorted(self.curve["diameter"].unique())

    def numbers(self) -> dict[str, float | int | str]:
        """For prose: ``method``, ``n_evaluations`` (store rows), ``n_networks`` (networks trained for them: one
        per model and fold and network of a seed), ``n_diameters`` (of the curve), ``passes`` (per epoch of an
        amortised network), and the photometric aperture's ``aperture_px`` and ``aperture_radius_px``."""
        models = {e.training_group: e.training for e in self.experiments}.values()
        return {"method": self.settings.masking, "n_evaluations": len(self.scores),
                "n_networks": sum(t.folds * t.networks_per_seed for t in models),
                "n_diameters": int(self.curve["diameter"].nunique()),
                "passes": self.settings.profile.training.amortised_passes,
                "aperture_px": APERTURE_DIAMETER_PX, "aperture_radius_px": APERTURE_RADIUS_PX}

    def table(self) -> pd.DataFrame:
        """Mean test scatter of the curve (dex), diameter by panel."""
        return self.curve.pivot_table(index="diameter", columns=["input", "sample"], values="test_scatter_mean")

    def steps(self) -> pd.DataFrame:
        """:func:`sweep_steps` of the curve."""
        return sweep_steps(self.curve, self.sweep)

    def comparison(self) -> pd.DataFrame:
        """The curve against the retrained checks (:func:`~clusterage_utils.metrics.compare_masking_methods`)."""
        return compare_masking_methods(self.summary, self.scores)


def sweep_result(ctx, kind: MaskKind, progress: bool = True) -> SweepResult:
    """Chapter 03 (``mask_centre``) or 04 (``keep_centre``): train what the store lacks of the page's sweep over
    all four panels, and score it (``ctx``: :class:`~clusterage_utils.book.page.PageContext`)."""
    exps = sweep_experiments(kind, ctx.settings)
    scores = ctx.run(exps, progress=progress)
    return SweepResult(ctx.settings.sweep(kind), ctx.settings, exps, scores, ctx.summary(scores))


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

    from ...engine.preprocessing import preprocess, visible_pixels

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(data.n, min(n, data.n), replace=False))
    raw = data.images(idx)
    size = data.shape[-1]
    outside = ~visible_pixels(MaskKind.KEEP_CENTRE, ring_px, size)
    rows = []
    for kind, d in Sweep(MaskKind.MASK_CENTRE, diameters).points():
        vis = visible_pixels(kind, d, size)
        x = preprocess(raw, input_kind, vis, "instance")
        env = x[:, outside, :]
        rows.append({"diameter": d, "environment_median": float(np.median(env)),
                     "environment_p90": float(np.quantile(env, 0.9))})
    return pd.DataFrame(rows)


def contrast_numbers(contrast: pd.DataFrame) -> dict[str, float | int]:
    """:func:`environment_contrast` for prose: ``env_contrast_unmasked`` (the median at the first diameter),
    ``env_contrast_first_d`` (the next diameter, px) and ``env_contrast_gain`` (how many times brighter the
    environment is there)."""
    m, d = contrast["environment_median"], contrast["diameter"]
    return {"env_contrast_unmasked": float(m.iloc[0]), "env_contrast_gain": float(m.iloc[1] / m.iloc[0]),
            "env_contrast_first_d": int(d.iloc[1])}
