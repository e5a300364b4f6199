"""The study's released predictions (real data): re-scored, they reproduce the study's published numbers; a
malformed table is refused with the file and the column named."""
import gzip

import numpy as np
import pandas as pd
import pytest

from clusterage_utils.analysis.study import (
    StudyDataError,
    power_by_sample,
    released_runs_check,
    scatter_by_age_bin,
    scatter_by_galaxy,
    study_case_scores,
    study_disagreements,
    study_predictions,
    study_seed_ranges,
    study_significance,
)
from clusterage_utils.survey.reference import study_scatter


@pytest.fixture(scope="module")
def preds():
    return study_predictions()


def test_tidy_frame(preds):
    assert set(preds.columns) >= {"cluster_id", "galaxy_id", "split", "label", "configuration", "input", "sample",
                                  "mask", "diameter", "model", "prediction"}
    assert preds["row"].nunique() == 8651
    assert preds["configuration"].nunique() == 15 and set(preds["model"]) == {0, 1, 2, 3, 4}


def test_rescoring_reproduces_the_released_runs(preds):
    check = released_runs_check(study_case_scores(preds))
    assert len(check) == 15
    assert check["abs_diff_dex"].max() < 0.001
    full = check[check["case"].str.contains("_full_")]
    restricted = check[check["case"].str.contains("_restricted_")]
    assert (full[["n_train", "n_val", "n_test"]] == [6055, 1298, 1298]).all().all()
    assert (restricted[["n_train", "n_val", "n_test"]] == [3053, 654, 655]).all().all()
    assert np.allclose(full["rescored_null_dex"], 1.220, atol=5e-4)
    assert np.allclose(restricted["rescored_null_dex"], 0.614, atol=5e-4)


def test_model_spread_matches_the_released_table(preds):
    """The released table's spread is the population std of the 5 models' scatters."""
    from clusterage_utils.analysis.study import study_model_scores

    per = study_model_scores(preds, n_boot=10)
    spread = per.groupby("configuration")["test_scatter_dex"].std(ddof=0)
    from clusterage_utils.engine.experiments import study_cases

    t = study_scatter()
    t["case"] = study_cases()
    t = t.set_index("case").reindex(spread.index)
    assert np.allclose(spread, t["test_scatter_dex_std"], atol=0.0011)


def test_unreleased_configuration_comes_from_the_table(preds):
    cs = study_case_scores(preds).set_index("case")
    row = cs.loc["five_band_restricted_keep_centre_12"]
    assert row["source"] == "released-runs table" and row["test_scatter_mean"] == pytest.approx(0.178)
    assert (cs.drop(index="five_band_restricted_keep_centre_12")["source"] == "per-cluster predictions").all()


def test_significance_and_breakdowns(preds):
    sig = study_significance(preds, n_boot=200)
    assert len(sig) >= 10 and sig["study_says"].str.len().min() > 20
    row = sig.set_index(["case_a", "case_b"]).loc[("white_light_full_none", "five_band_full_none")]
    assert row["diff_dex"] > 0.2 and row["verdict"] == "B better"        # colour helps, beyond any doubt
    bins = scatter_by_age_bin(preds)
    assert set(bins["configuration"]) == set(preds["configuration"])
    gal = scatter_by_galaxy(preds, ["five_band_full_none"])
    assert set(gal.loc[gal["level"] == "group", "name"]) == {"near", "far", "other"}
    assert len(power_by_sample(preds, n_boot=50)) == 7
    d = study_disagreements(preds, n_sigma=3)
    assert len(d) and (d["n_sigma"] > 3).all() and d.attrs["n_test"] == 1298


@pytest.mark.parametrize("damage, column", [
    ("drop_log_age", "log_age"),
    ("text_prediction", "five_band__full__none__0__m0"),
    ("bad_split", "split_full"),
    ("bad_name", "five_band__full"),
])
def test_malformed_tables_name_the_file_and_column(tmp_path, damage, column):
    src = study_predictions.__module__  # noqa: F841 - the shipped file is the template
    from importlib import resources

    with resources.files("clusterage_utils").joinpath("data", "study_released_predictions.csv.gz").open("rb") as f:
        wide = pd.read_csv(f, compression="gzip", nrows=50)
    if damage == "drop_log_age":
        wide = wide.drop(columns="log_age")
    elif damage == "text_prediction":
        wide["five_band__full__none__0__m0"] = "eight"
    elif damage == "bad_split":
        wide.loc[3, "split_full"] = "holdout"
    else:
        wide = wide.rename(columns={"five_band__full__none__0__m0": "five_band__full"})
    path = tmp_path / "bad.csv.gz"
    wide.to_csv(path, index=False, compression="gzip")
    with pytest.raises(StudyDataError) as e:
        study_predictions(path)
    assert str(path) in str(e.value) and column in str(e.value)


def test_truncated_table(tmp_path):
    from importlib import resources

    raw = resources.files("clusterage_utils").joinpath("data", "study_released_predictions.csv.gz").read_bytes()
    path = tmp_path / "truncated.csv.gz"
    path.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(StudyDataError, match="truncated"):
        study_predictions(path)
    with pytest.raises(FileNotFoundError, match="no released-predictions table"):
        study_predictions(tmp_path / "absent.csv.gz")
    assert gzip  # the module reads gzip through pandas


def test_violations_are_checked_against_the_study():
    from clusterage_utils.analysis.study import violations_in_study

    viol = pd.DataFrame({"better": ["five_band_full_keep_centre_12_amortised", "white_light_full_mask_centre_24",
                                    "five_band_full_keep_centre_6"],
                         "worse": ["five_band_full_none", "white_light_full_mask_centre_12", "five_band_full_none"]})
    out = violations_in_study(viol).set_index("better")
    assert out.loc["five_band_full_keep_centre_12_amortised", "study_too"]      # 0.327 vs 0.454 dex on real data
    assert not out.loc["white_light_full_mask_centre_24", "study_too"]          # 0.980 vs 0.905: not in the study
    assert np.isnan(out.loc["five_band_full_keep_centre_6", "study_better_dex"])  # no such case in the study
    assert not out.loc["five_band_full_keep_centre_6", "study_too"]


def test_violations_are_described_and_an_empty_table_reads_none():
    from clusterage_utils.analysis.health import monotonicity_violations
    from clusterage_utils.analysis.study import violation_numbers, violations_in_study

    def describe_violations(v):
        return violation_numbers(v)["viol_list"]

    empty = violations_in_study(monotonicity_violations(pd.DataFrame(columns=["labels", "case"]),
                                                        pd.DataFrame(columns=["case", "test_scatter_dex"])))
    assert describe_violations(empty) == "none"
    viol = violations_in_study(pd.DataFrame({"better": ["five_band_full_keep_centre_12"],
                                             "worse": ["five_band_full_none"], "better_dex": [0.3],
                                             "worse_dex": [0.4], "consistent": [True]}))
    text = describe_violations(viol)
    assert "five band full keep centre 12 at 0.30 dex against five band full none at 0.40" in text
    assert "0.33 against 0.45" in text                                 # the study's scatters on real clusters
    assert describe_violations(viol.assign(consistent=False)) == "none"
    assert violation_numbers(viol) == {"n_viol": 1, "viol_study_too": 1, "viol_list": text}
    assert violation_numbers(empty)["n_viol"] == violation_numbers(empty)["viol_study_too"] == 0


def test_seed_ranges_of_the_study_narrow_with_the_test_set_and_vanish_for_identical_models(preds):
    ranges = study_seed_ranges([75, 600], n_seeds=3, draws=50, preds=preds)
    assert set(ranges["n_test"]) == {75, 600} and (ranges["seed_range_dex"] >= 0).all()
    # only the restricted configurations' test sets (655) and the full ones (1298) hold 600 clusters: all 15
    assert ranges.groupby("n_test")["configuration"].nunique().to_dict() == {75: 15, 600: 15}
    med = ranges.groupby("n_test")["seed_range_dex"].median()
    assert med[75] > 1.5 * med[600]
    # on the full sample's test set (1298), the restricted configurations (655 test clusters) are left out
    assert study_seed_ranges([1000], draws=2, preds=preds)["configuration"].str.contains("_full_").all()
    same = preds.assign(prediction=preds.groupby(["configuration", "row"])["prediction"].transform("first"))
    assert study_seed_ranges([75], draws=5, preds=same)["seed_range_dex"].max() == 0
    with pytest.raises(ValueError, match="test sizes must be 1-1298"):
        study_seed_ranges([2000], preds=preds)
    with pytest.raises(ValueError, match="n_seeds must be 2-5"):
        study_seed_ranges([75], n_seeds=1, preds=preds)
