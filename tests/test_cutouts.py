"""The cutout file: the study's schema, lazy reading, clear errors."""
import h5py
import numpy as np
import pytest
from helpers import write_study_file

from clusterage_utils.cutouts import CutoutFileError, open_cutouts


def test_study_file_opens_and_streams(tmp_path):
    p = write_study_file(tmp_path / "raw_phangs_dataset.h5", n=7)
    cf = open_cutouts(p)
    assert cf.source == "study" and cf.n == 7
    seen = sum(len(b) for b, _ in cf.iter_batches(np.arange(7), 3))
    assert seen == 7
    assert cf.catalogue["distance_mpc"].iloc[0] == pytest.approx(9.84)  # from Table 1 by galaxy id
    assert set(cf.catalogue["distance_group"]) == {"near", "far"}
    got = cf.images([5, 1, 5])
    with h5py.File(p) as f:
        np.testing.assert_array_equal(got, f["image_cutouts"][[1, 5]][[1, 0, 1]])

@pytest.mark.parametrize("override, dataset", [
    (dict(image_cutouts=np.zeros((6, 3, 32, 32), np.float32)), "image_cutouts"),
    (dict(cluster_ids=None), "cluster_ids"),
    (dict(cluster_log_ages=np.array([7, 8, np.nan, 7, 7, 7], np.float32)), "cluster_log_ages"),
    (dict(galaxy_ids=np.array(["NGC_628C"] * 5, dtype=object)), "galaxy_ids"),
])
def test_study_file_schema_errors(tmp_path, override, dataset):
    p = write_study_file(tmp_path / "bad.h5", **override)
    with pytest.raises(CutoutFileError, match=dataset):
        open_cutouts(p)

def test_open_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="clusterage curate"):
        open_cutouts(tmp_path / "nope.h5")
