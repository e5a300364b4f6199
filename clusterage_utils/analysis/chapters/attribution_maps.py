"""Chapter 09, attribution: where in the image does one trained network look? Integrated gradients and occlusion
maps of the five-band model, against the retraining masks of the inner-masking sweep."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...constants import APERTURE_DIAMETER_PX, APERTURE_RADIUS_PX
from ...engine.experiments import Experiment, case_experiments
from ...engine.profiles import Profile
from ...sweeps import MaskKind
from .common import PageSettings, unique
from .masking import sweep_experiments

__all__ = ["ATTRIBUTION_PANELS", "experiments", "attribution_models", "masking_curve", "attribution_study",
           "attribution_summary"]

#: The panel whose inner-masking sweep the attribution is set beside: five bands, full sample.
ATTRIBUTION_PANELS = (("five_band", "full"),)


def attribution_models(profile: Profile) -> list[Experiment]:
    """The model kept in the store for attribution maps: the five-band full-sample network of the first seed."""
    first = dataclasses.replace(profile, training=dataclasses.replace(profile.training,
                                                                      seeds=profile.training.seeds[:1]))
    return case_experiments(["five_band_full_none"], first)


def experiments(settings: PageSettings) -> list[Experiment]:
    """The attribution model and the five-band full-sample inner-masking sweep it is compared with."""
    return unique(attribution_models(settings.profile)
                  + sweep_experiments(MaskKind.MASK_CENTRE, settings, panels=ATTRIBUTION_PANELS))


def masking_curve(ctx) -> pd.DataFrame:
    """The five-band full-sample inner sweep of the page's masking method, summarised over seeds: what the
    attribution profiles are set beside."""
    s = ctx.summary(ctx.run(experiments(ctx.settings)))
    sweep = ctx.settings.sweep(MaskKind.MASK_CENTRE)
    return s[(s["input"] == "five_band") & (s["sample"] == "full") & sweep.selects(s)
             & (s["masking"] == ctx.settings.masking)]


def attribution_study(ctx, n_clusters: int = 200, steps: int = 32, gallery_per_bin: int = 2,
                      seed: int = 0) -> dict:
    """Integrated gradients (and occlusion maps for a small gallery) of chapter 9's 5-band model on test clusters.

    Returns
    -------
    dict
        ``profiles`` (radial profiles and cumulative shares by age bin, :func:`attribution.profiles_by_age`),
        ``gallery`` (inputs, IG maps, occlusion maps, ages, predictions of a young / intermediate / old
        selection), ``model_case`` and ``completeness`` (median |sum(IG) - (f(x) - f(0))| / |f(x) - f(0)|).
    """
    from ...engine.execution import run_experiments
    from ...engine.store import record_key
    from ...engine.training import experiment_inputs
    from ..attribution import integrated_gradients, occlusion_map, profiles_by_age

    exp = attribution_models(ctx.profile)[0]
    run_experiments([exp], ctx.data_path, ctx.store_root, progress=False, save_models=True)
    key = record_key(exp.hash, ctx.data.fingerprint())
    rec = ctx.store.get(key)
    model = ctx.store.load_model(key)
    p = ctx.store.predictions(key)
    test = p[p["set"] == "test"].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(test), min(n_clusters, len(test)), replace=False))
    idx = test.loc[pick, "index"].to_numpy()
    x = experiment_inputs(exp, ctx.data, idx)
    ig = integrated_gradients(model, x, steps=steps)
    fx = np.asarray(model.predict(x, verbose=0), float).ravel()
    f0 = np.asarray(model.predict(np.zeros_like(x), verbose=0), float).ravel()
    gap = fx - f0
    completeness = float(np.median(np.abs(ig.reshape(len(x), -1).sum(1) - gap) / np.maximum(np.abs(gap), 1e-6)))
    ages = test.loc[pick, "label"].to_numpy(float)
    profiles = profiles_by_age(ig, ages)
    # gallery: the clusters nearest the middle of three age bins
    gal = []
    for target in (6.5, 8.0, 9.5):
        gal += list(np.argsort(np.abs(ages - target))[:gallery_per_bin])
    occ = occlusion_map(model, x[gal]) * rec["label_span"]  # model output -> dex of log age
    gallery = {"inputs": x[gal], "ig": ig[gal], "occlusion": occ, "log_ages": ages[gal],
               "predicted": test.loc[pick[gal], "pred"].to_numpy(float)}
    return {"profiles": profiles, "gallery": gallery, "model_case": exp.name, "completeness": completeness,
            "n": len(x)}


def attribution_summary(profiles, bins=(6.0, 7.0, 8.0, 9.0, 10.5)) -> dict[str, float]:
    """Numbers for the page from :func:`~clusterage_utils.analysis.attribution.profiles_by_age` profiles: for the i-th
    age bin of ``bins``, the diameter (px) within which half of the |attribution| lies (``half_<i>``), the share
    inside the photometric aperture in % (``aperture_<i>``) and the bin's label (``bin_<i>``); NaN for an empty bin;
    and the aperture's diameter (``aperture_px``)."""
    out: dict = {"aperture_px": APERTURE_DIAMETER_PX}
    for i, (lo, hi) in enumerate(zip(bins[:-1], bins[1:])):
        label = f"{lo:g}-{hi:g}"
        g = profiles[profiles["age_bin"] == label].sort_values("outer_radius_px")
        half = g.loc[g["cumulative_mean"] >= 0.5, "outer_radius_px"]
        inside = g.loc[g["outer_radius_px"] <= APERTURE_RADIUS_PX, "cumulative_mean"]
        out.update({f"bin_{i}": label, f"half_{i}": float(2 * half.min()) if len(half) else float("nan"),
                    f"aperture_{i}": float(100 * inside.iloc[-1]) if len(inside) else float("nan")})
    return out
