"""Chapter 11, significance: the comparisons the study's text makes, tested with paired bootstraps on the same
test clusters - on the mock survey (all seeds pooled) and, beside it, on the study's own real runs."""
from __future__ import annotations

import pandas as pd

from ...engine.experiments import Experiment
from ...metrics import significance_table
from . import cases
from .common import PageSettings

__all__ = ["CONTROL_PAIRS", "significance_pairs", "experiments", "case_significance", "mock_vs_real",
           "agreement_numbers"]

#: Controls the study describes but did not release per cluster: the shuffled-label model against the null and
#: against the same input with real labels.
CONTROL_PAIRS = (("white_light_full_mask_centre_24", "white_light_full_mask_centre_24_shuffled"),
                 ("white_light_full_mask_centre_24_shuffled", "null"))


def significance_pairs() -> list[tuple[str, str]]:
    """(case A, case B) of every comparison the study's text makes
    (:data:`~clusterage_utils.analysis.study.STUDY_CLAIMS`)
    and the shuffled-label controls; ``null`` = the null predictor."""
    from ..study import STUDY_CLAIMS

    return [(a, b) for a, b, _ in STUDY_CLAIMS] + list(CONTROL_PAIRS)


def experiments(settings: PageSettings) -> list[Experiment]:
    """The cases of chapter 05 (the comparisons are among them)."""
    return cases.experiments(settings)


def case_significance(ctx, pairs=None, level: float = 0.95, progress: bool = True) -> pd.DataFrame:
    """Paired significance of ``pairs`` (default :func:`significance_pairs`) on the page's data, all seeds
    pooled (:func:`~clusterage_utils.metrics.significance_table`)."""
    scores = ctx.run(experiments(ctx.settings), progress=progress)
    return significance_table(ctx.store, scores, pairs or significance_pairs(), level=level)


def mock_vs_real(mock: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison: the difference (A - B, dex) and verdict on the mock survey and on the study's
    real runs (:func:`~clusterage_utils.analysis.study.study_significance`), and the study's own words."""
    def verdict(t):
        return t.apply(lambda r: "A better" if r.ci_hi < 0 else "B better" if r.ci_lo > 0 else "n.s.", axis=1)

    m = mock.assign(verdict=verdict(mock)).set_index(["case_a", "case_b"])
    r = real.assign(verdict_real=verdict(real)).set_index(["case_a", "case_b"])
    out = pd.DataFrame({"mock_diff_dex": m["diff_dex"], "mock_verdict": m["verdict"]})
    out = out.join(pd.DataFrame({"real_diff_dex": r["diff_dex"], "real_verdict": r["verdict_real"],
                                 "study_says": r["study_says"]}), how="left")
    out["agree"] = [None if pd.isna(r) else m == r for m, r in zip(out["mock_verdict"], out["real_verdict"])]
    return out.reset_index()


def agreement_numbers(mock: pd.DataFrame, real: pd.DataFrame, both: pd.DataFrame, level: float) -> dict[str, int]:
    """For prose: the interval's ``level_pct``, the comparisons tested on the mock (``n_pairs``) and on the real
    runs (``n_real``), those significant on each (``n_sig_mock``, ``n_sig_real``) and those whose verdicts agree
    (``n_agree``; ``both``: :func:`mock_vs_real`)."""
    return {"level_pct": round(100 * level), "n_pairs": len(mock), "n_sig_mock": int(mock["significant"].sum()),
            "n_real": int(both["real_verdict"].notna().sum()), "n_sig_real": int(real["significant"].sum()),
            "n_agree": int(both["agree"].eq(True).sum())}
