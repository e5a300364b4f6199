"""Chapter 13, normalisation: non-linear per-cutout stretches (asinh, log, quantile) against the study's linear
min-max on the environment-only white-light case, and the study's own code's normalisation, in which masked pixels
are not black but a grey level that differs from cutout to cutout."""
from __future__ import annotations

import dataclasses

import pandas as pd

from ...engine.experiments import Experiment, case_experiments
from ...engine.profiles import Profile
from ...metrics import CASE_COLUMNS, summarise_seeds
from .common import PageSettings, for_extensions

__all__ = ["NORMALISATION_VARIANTS", "NORMALISATION_CASES", "AUTHORS_CASES", "AUTHORS_PREPROCESSING",
           "CORE_NORMALISATION_VARIANTS", "CORE_AUTHORS_CASES", "normalisation_variants", "authors_cases",
           "experiments",
           "normalisation_comparison", "authors_experiments", "masked_grey_levels", "grey_level_control",
           "preprocessing_comparison", "grey_levels_by_case", "TABLE_COLUMNS", "stretch_numbers", "grey_level_controls",
           "code_numbers"]

#: The columns of the chapter's table of scores.
TABLE_COLUMNS = ["case", "normalisation", "test_scatter_mean", "test_ci_lo", "test_ci_hi", "null_scatter_dex",
                 "predictive_power_pct"]

NORMALISATION_VARIANTS = ("instance", "asinh", "log", "quantile")
#: The variants of a profile with ``extensions="core"``: the study's stretch and two non-linear ones.
CORE_NORMALISATION_VARIANTS = ("instance", "asinh", "quantile")
#: The environment-only case (the study's Case 6): where a stretch that lifts faint structure could matter.
NORMALISATION_CASES = ("white_light_full_mask_centre_24",)


def normalisation_variants(profile: Profile) -> tuple[str, ...]:
    """The normalisations this profile compares: :data:`NORMALISATION_VARIANTS`, or
    :data:`CORE_NORMALISATION_VARIANTS` for a profile with ``extensions="core"``."""
    return for_extensions(profile, NORMALISATION_VARIANTS, CORE_NORMALISATION_VARIANTS)


def authors_cases(profile: Profile) -> tuple[str, ...]:
    """The masked cases this profile trains under the authors' code: :data:`AUTHORS_CASES`, or
    :data:`CORE_AUTHORS_CASES` for a profile with ``extensions="core"``."""
    return for_extensions(profile, AUTHORS_CASES, CORE_AUTHORS_CASES)


def experiments(settings: PageSettings) -> list[Experiment]:
    """:data:`NORMALISATION_CASES` under each of the profile's :func:`normalisation_variants`, and the study's
    masked cases under the paper's text and the authors' code (:func:`authors_experiments`)."""
    return variant_experiments(settings.profile) + authors_experiments(settings.profile)


def variant_experiments(profile: Profile) -> list[Experiment]:
    """:data:`NORMALISATION_CASES` under each of the profile's :func:`normalisation_variants`."""
    return [e for n in normalisation_variants(profile)
            for e in case_experiments(NORMALISATION_CASES, profile, normalisation=n)]


def normalisation_comparison(ctx, progress: bool = True) -> pd.DataFrame:
    """Test scatter of :data:`NORMALISATION_CASES` under each of the profile's :func:`normalisation_variants`."""
    variants = normalisation_variants(ctx.profile)
    scores = ctx.run(variant_experiments(ctx.profile), progress=progress)
    s = summarise_seeds(scores, by=CASE_COLUMNS + ("normalisation",))
    s["normalisation"] = pd.Categorical(s["normalisation"], list(variants), ordered=True)
    return s.sort_values(["base_case", "normalisation"]).reset_index(drop=True)


def preprocessing_comparison(ctx, level: float = 0.95, progress: bool = True) -> pd.DataFrame:
    """The study's masked cases under the paper's text and under the authors' code, same seeds and splits: the
    mean test scatter of each and their paired difference (authors - paper, all seeds pooled, ``level``
    interval) on the same test clusters."""
    from ...metrics import paired_difference, prediction_matrix

    scores = ctx.run(authors_experiments(ctx.profile), progress=progress)
    rows = []
    for case in authors_cases(ctx.profile):
        sel = scores[scores["base_case"] == case]
        paper = sel[sel["normalisation"] == "instance"]
        authors = sel[sel["normalisation"] == "authors"]
        pa, lab, _, idx = prediction_matrix(ctx.store, paper["key"].tolist())
        pb, lab_b, _, idx_b = prediction_matrix(ctx.store, authors["key"].tolist())
        d = paired_difference(pb, pa, lab, level=level)
        rows.append({"case": case, "paper_dex": paper["test_scatter_dex"].mean(),
                     "authors_dex": authors["test_scatter_dex"].mean(), "diff_dex": d["diff_dex"],
                     "ci_lo": d["ci_lo"], "ci_hi": d["ci_hi"], "p_value": d["p_value"],
                     "null_dex": paper["null_scatter_dex"].mean(), "n_seeds": len(paper)})
    out = pd.DataFrame(rows)
    out.attrs["level"] = level
    return out


#: The study's masked cases compared under the paper's text and the authors' code (chapter 13).
AUTHORS_CASES = ("white_light_full_mask_centre_12", "white_light_full_mask_centre_24",
                 "white_light_full_keep_centre_12", "white_light_full_keep_centre_24")
#: The authors'-code cases of a profile with ``extensions="core"``: one inner- and one outer-masked case.
CORE_AUTHORS_CASES = ("white_light_full_mask_centre_24", "white_light_full_keep_centre_12")
#: The authors' code: circle about pixel (56, 56) with R = d/2, masked pixels scaled with the rest.
AUTHORS_PREPROCESSING = {"mask_convention": "authors", "normalisation": "authors"}


def authors_experiments(profile: Profile) -> list[Experiment]:
    """The profile's :func:`authors_cases` under the paper's text (the book's default) and the authors' code."""
    cases = authors_cases(profile)
    return case_experiments(cases, profile) + case_experiments(cases, profile, **AUTHORS_PREPROCESSING)


def masked_grey_levels(data, exp: Experiment, file_idx):
    """Per cutout, the value the authors' normalisation gives its masked pixels, -min / (max - min) of the
    masked cutout (zeros included): under the paper's text it would be 0 for everyone."""
    import numpy as np

    from ...engine.preprocessing import normalise, visible_pixels, white_light

    idx = np.asarray(file_idx)
    vis = visible_pixels(exp.mask, exp.diameter, data.shape[-1], exp.mask_convention)
    out = np.empty(len(idx))
    for s in range(0, len(idx), 256):
        x = data.images(idx[s:s + 256])
        if exp.input == "white_light":
            x = white_light(x)
        z = normalise(np.where(vis, x, 0.0), vis, "authors")
        out[s:s + 256] = z[:, 0][:, ~vis][:, 0]
    return out


def grey_level_control(data, case: str, n_bins: int = 20) -> dict:
    """How much age does the masked region's grey level alone predict? One number per cutout
    (:func:`masked_grey_levels`), a binned-mean predictor fitted on the case's training set (``n_bins`` quantile
    bins), scored on its test set like a CNN.

    Returns
    -------
    dict
        ``case``, ``test_scatter_dex``, ``null_scatter_dex``, ``predictive_power_pct``, ``spearman`` (grey level
        against reference age, all clusters of the sample) and ``n_test``.
    """
    import numpy as np
    from scipy import stats

    from ...engine.experiments import parse_case
    from ...engine.training import experiment_indices
    from ...metrics import null_scatter_dex, predictive_power_pct, scatter_dex

    exp = dataclasses.replace(parse_case(case), **AUTHORS_PREPROCESSING)
    sets = experiment_indices(exp, data)
    g = {k: masked_grey_levels(data, exp, sets[k]) for k in ("train", "test")}
    y = {k: sets["label"][sets[k]] for k in ("train", "test")}
    edges = np.unique(np.quantile(g["train"], np.linspace(0, 1, n_bins + 1)))
    which = {k: np.clip(np.searchsorted(edges, g[k], side="right") - 1, 0, max(len(edges) - 2, 0)) for k in g}
    means = np.array([y["train"][which["train"] == b].mean() if (which["train"] == b).any() else y["train"].mean()
                      for b in range(max(len(edges) - 1, 1))])
    pred = means[which["test"]]
    s = scatter_dex(pred, y["test"])
    null = null_scatter_dex(y["train"], y["test"])
    rho = stats.spearmanr(np.concatenate([g["train"], g["test"]]), np.concatenate([y["train"], y["test"]]))[0]
    return {"case": case, "test_scatter_dex": s, "null_scatter_dex": null,
            "predictive_power_pct": predictive_power_pct(s, null), "spearman": float(rho), "n_test": len(pred)}


def grey_levels_by_case(data, cases=AUTHORS_CASES) -> pd.DataFrame:
    """The masked grey level of every cluster of each case's sample under the authors' code (long frame:
    ``case, grey_level, log_age``), for the figure of chapter 13."""
    import numpy as np

    from ...engine.experiments import parse_case
    from ...engine.preprocessing import select_sample

    frames = []
    for case in cases:
        exp = dataclasses.replace(parse_case(case), **AUTHORS_PREPROCESSING)
        idx = select_sample(data.log_ages, exp.sample)
        frames.append(pd.DataFrame({"case": case, "grey_level": masked_grey_levels(data, exp, idx),
                                    "log_age": np.asarray(data.log_ages)[idx]}))
    return pd.concat(frames, ignore_index=True)


def stretch_numbers(summary: pd.DataFrame) -> dict[str, float | str]:
    """For prose, from :func:`normalisation_comparison`: the environment case's test scatter under the study's
    normalisation (``env_instance``) and at best (``env_best``, dex; ``env_best_name``)."""
    env = summary.set_index("normalisation")["test_scatter_mean"]
    return {"env_instance": env["instance"], "env_best": env.min(), "env_best_name": str(env.idxmin())}


def grey_level_controls(data) -> tuple[pd.DataFrame, dict[str, float | str]]:
    """:func:`grey_level_control` of every case in :data:`AUTHORS_CASES`, and for prose the case whose grey
    level predicts age best (``leak_case``, ``leak_power`` %, ``leak_scatter`` and ``leak_null`` dex,
    ``leak_rho``) and the weakest case's power (``leak_min_power``)."""
    controls = pd.DataFrame([grey_level_control(data, c) for c in AUTHORS_CASES])
    best = controls.loc[controls["predictive_power_pct"].idxmax()]
    return controls, {"leak_case": best["case"].replace("_", " "), "leak_power": best["predictive_power_pct"],
                      "leak_scatter": best["test_scatter_dex"], "leak_null": best["null_scatter_dex"],
                      "leak_rho": best["spearman"], "leak_min_power": controls["predictive_power_pct"].min()}


def code_numbers(cmp: pd.DataFrame) -> dict[str, float | int | str]:
    """For prose, from :func:`preprocessing_comparison`: cases compared (``n_cases_code``), significantly better
    and worse under the authors' code (``n_code_better``, ``n_code_worse``) and the largest gain (dex, case)."""
    return {"n_cases_code": len(cmp), "n_code_better": int((cmp["ci_hi"] < 0).sum()),
            "n_code_worse": int((cmp["ci_lo"] > 0).sum()), "largest_gain": -cmp["diff_dex"].min(),
            "largest_gain_case": cmp.loc[cmp["diff_dex"].idxmin(), "case"].replace("_", " ")}
