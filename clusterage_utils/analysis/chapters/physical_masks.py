"""Chapter 10, physical masks: inner masking with diameters in parsec (converted per galaxy with its distance)
against diameters in pixels, for near and far galaxies - the study's proposal to normalise scales."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...engine.experiments import Experiment
from ...engine.preprocessing import diameter_pc_to_px
from ...metrics import CASE_COLUMNS, summarise_seeds
from ...sweeps import DIAMETER_UNITS, MaskKind
from .common import PageSettings, unique
from .distance import GROUPS
from .masking import sweep_experiments

__all__ = ["PC_PANELS", "experiments", "physical_masks", "pc_to_px_table"]

PC_PANELS = (("five_band", "full"),)


def experiments(settings: PageSettings) -> list[Experiment]:
    """Per distance group: the five-band full-sample inner sweep in px (chapter 06's) and in pc.

    With amortised masking both sweeps are evaluated on the same networks (chapter 06's, trained on the profile's
    pixel grid): the parsec sweep masks each cluster at its own diameter in pixels and trains nothing of its own.
    With retraining every diameter of either unit is a network of its own.
    """
    return unique([e for g in GROUPS for unit in DIAMETER_UNITS
                   for e in sweep_experiments(MaskKind.MASK_CENTRE, settings, panels=PC_PANELS, group=g, unit=unit)])


def physical_masks(ctx, progress: bool = True) -> pd.DataFrame:
    """Summary of both sweeps per group, by the page's masking method, with ``diameter_unit`` (px / pc) and
    ``diameter`` in that unit; the unmasked model (diameter 0) appears under both units."""
    scores = ctx.run(experiments(ctx.settings), progress=progress)
    s = summarise_seeds(scores, by=CASE_COLUMNS)
    s = s[s["masking"] == ctx.settings.masking]
    zero = s[s["diameter"] == 0].assign(diameter_unit="pc")
    zero = zero[~zero.set_index(["group", "masking"]).index.isin(
        s[(s["diameter_unit"] == "pc") & (s["diameter"] == 0)].set_index(["group", "masking"]).index)]
    return pd.concat([s, zero], ignore_index=True)


def pc_to_px_table(ctx) -> pd.DataFrame:
    """What each of the page's parsec diameters is in pixels for each distance group (median over its clusters)
    and, with amortised masking, the percentage of the group's clusters whose largest parsec mask lies inside the
    pixel grid the networks were trained on (``in_pixel_grid_pct``: below 100, the networks are asked for masks
    wider than any they were trained on)."""
    diameters_pc = ctx.settings.sweep(MaskKind.MASK_CENTRE, "pc").diameters
    diameters_px = ctx.profile.training.diameters_px if ctx.settings.amortised else None
    cat = ctx.data.catalogue
    size = ctx.data.shape[-1]
    rows = []
    for g, sub in cat.groupby("distance_group"):
        ppx = sub["pc_per_px"].median()
        row = {"group": g, "pc_per_px": ppx,
               **{f"{d} pc": round(min(d / ppx, size), 1) for d in diameters_pc if d}}
        if diameters_px is not None:
            widest = np.minimum(diameter_pc_to_px(max(diameters_pc), sub["pc_per_px"]), size)
            row["in_pixel_grid_pct"] = round(100 * float(np.mean(widest <= max(diameters_px))), 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")
