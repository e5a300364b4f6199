"""Chapter 12, disagreements: the test clusters where the CNN and the SED-fit reference age disagree most, and
(on the mock) which of the two was right."""
from __future__ import annotations

import pandas as pd

from ...engine.experiments import Experiment, case_experiments
from ...metrics import disagreements, prediction_matrix
from .common import PageSettings

__all__ = ["experiments", "disagreement_catalogue", "disagreement_numbers", "flagged_gallery"]

#: Flagged clusters shown in the gallery of cutouts.
GALLERY_SIZE = 8


def experiments(settings: PageSettings) -> list[Experiment]:
    """The five-band full-sample model, every seed."""
    return case_experiments(["five_band_full_none"], settings.profile)


def disagreement_catalogue(ctx, n_sigma: float = 3.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test clusters where the five-band CNN (mean over seeds) and the reference age disagree by more than
    ``n_sigma`` sigma, with the catalogue's columns (true age, dust, environment age on the mock).

    Returns (flagged clusters, all test predictions); the flagged frame's ``attrs`` hold ``sigma_dex``,
    ``n_test`` and ``n_seeds``.
    """
    scores = ctx.run(experiments(ctx.settings), progress=False)
    preds, lab, truth, idx = prediction_matrix(ctx.store, scores["key"].tolist())
    p = pd.DataFrame({"index": idx, "set": "test", "label": lab, "pred": preds.mean(0)})
    if truth is not None:
        p["true_log_age"] = truth
    out = disagreements(p, n_sigma=n_sigma)
    cat = ctx.data.catalogue
    keep = [c for c in ("galaxy_id", "cluster_id", "distance_group", "true_ebv_mag", "env_log_age", "env_coupled",
                        "true_mass_msun", "dust_cover") if c in cat]
    extra = cat.iloc[out["index"].to_numpy()][keep].reset_index(drop=True)
    res = pd.concat([out.reset_index(drop=True), extra], axis=1)
    res.attrs.update(out.attrs, n_test=len(p), n_seeds=len(preds))
    return res, p


def disagreement_numbers(flagged: pd.DataFrame, real: pd.DataFrame, n_sigma: float) -> dict[str, float | int | str]:
    """For prose: ``n_flagged`` of ``n_test`` test clusters beyond ``n_sigma_text`` x ``sigma`` (dex, mean of
    ``n_seeds``), ``cnn_right_pct`` (% of the flagged where the CNN is closer to the true age; NaN without truth or
    flags) and the study's ``real_flagged`` of ``real_test`` (``real``:
    :func:`~clusterage_utils.analysis.study.study_disagreements`)."""
    right = (100 * float((flagged["closer_to_truth"] == "cnn").mean())
             if "closer_to_truth" in flagged and len(flagged) else float("nan"))
    return {"n_flagged": len(flagged), "n_test": flagged.attrs["n_test"], "sigma": flagged.attrs["sigma_dex"],
            "n_seeds": flagged.attrs["n_seeds"], "n_sigma_text": f"{n_sigma:g}", "real_flagged": len(real),
            "real_test": real.attrs["n_test"], "cnn_right_pct": right}


def flagged_gallery(ctx, flagged: pd.DataFrame):
    """The cutouts of the first :data:`GALLERY_SIZE` flagged clusters (the first cluster of the file, titled so,
    when none is flagged)."""
    from ..plotting import cutout_gallery

    if len(flagged):
        idx = flagged["index"].to_numpy()[:GALLERY_SIZE]
        return cutout_gallery(ctx.data.images(idx), flagged["label"].to_numpy()[:GALLERY_SIZE], n=len(idx),
                              mock=ctx.is_mock, title="flagged clusters, by reference log age")
    return cutout_gallery(ctx.data.images([0]), ctx.data.log_ages[:1], n=1, mock=ctx.is_mock,
                          title="no cluster flagged")
