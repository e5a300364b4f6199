"""Curation of real-format products and the cutout file schema."""
import h5py
import numpy as np
import pytest
from helpers import write_products

from clusterage_utils.survey.curation import curate
from clusterage_utils.survey.cutouts import open_cutouts
from clusterage_utils.survey.products import ProductError


def test_known_position_is_centred_in_every_band(tmp_path):
    write_products(tmp_path / "p", sources=[(200, 210), (131, 250)])
    summary = curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    cf = open_cutouts(tmp_path / "c.h5")
    assert cf.n == 2 and summary["kept"].sum() == 2
    for i in range(cf.n):
        for b in range(5):
            img = cf.images([i])[0, b]
            assert np.unravel_index(np.argmax(img), img.shape) == (56, 56)

def test_edge_cluster_dropped_as_partial_coverage_and_no_nan(tmp_path):
    write_products(tmp_path / "p", sources=[(200, 210), (40, 200), (200, 380)])
    summary = curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert summary.loc[0, "kept"] == 1 and summary.loc[0, "partial_coverage"] == 2
    with h5py.File(tmp_path / "c.h5") as f:
        assert np.isfinite(f["image_cutouts"][()]).all()
        import json
        assert json.loads(f.attrs["drops"])["NGC_1566"]["partial_coverage"] == 2

def test_class_filter_and_ages(tmp_path):
    write_products(tmp_path / "p", sources=[(200, 210), (150, 150), (250, 250)], classes=[1, 3, 2],
                   ages_myr=[1.0, 100.0, -9999.0])
    summary = curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert (summary.loc[0, "kept"], summary.loc[0, "class"], summary.loc[0, "no_age"]) == (1, 1, 1)
    cf = open_cutouts(tmp_path / "c.h5")
    assert cf.log_ages[0] == pytest.approx(6.0)
    assert cf.attrs["age_column"] == "PHANGS_SED_AGE" and cf.source == "phangs"

def test_mock_survey_curates_one_cutout_per_cluster_with_truth(smoke_survey, smoke_cutouts):
    from clusterage_utils.survey.mock import read_manifest

    cf = open_cutouts(smoke_cutouts)
    assert cf.n == read_manifest(smoke_survey)["n_clusters"]
    assert cf.source == "mock" and cf.is_mock
    for c in ("true_log_age", "env_log_age", "true_ebv_mag", "n_neighbours"):
        assert c in cf.catalogue and np.isfinite(cf.catalogue[c]).all()
    assert set(cf.galaxy_ids) == {"IC_5332", "NGC_628C", "NGC_1566"}
    assert cf.shape == (5, 112, 112)

def test_catalogue_without_overlap(tmp_path):
    write_products(tmp_path / "p", shift_deg=1.0)
    with pytest.raises(ProductError, match="do not overlap"):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)

def test_refuses_existing_output(tmp_path):
    write_products(tmp_path / "p")
    (tmp_path / "c.h5").write_text("keep me")
    with pytest.raises(FileExistsError):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert (tmp_path / "c.h5").read_text() == "keep me"

def test_zero_weight_counts_as_no_coverage(tmp_path):
    from astropy.io import fits

    folder = write_products(tmp_path / "p", sources=[(200, 210), (300, 300)])
    sci = next(folder.glob("*_f814w_v1_exp-drc-sci.fits"))
    data = fits.getdata(sci)
    wht = np.where(np.isfinite(data), 1.0, 0.0).astype(np.float32)
    wht[290:310, 290:310] = 0.0          # a hole in F814W coverage under the second cluster
    fits.PrimaryHDU(wht).writeto(sci.with_name(sci.name.replace("exp-drc-sci", "err-drc-wht")))
    s = curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert (s.loc[0, "kept"], s.loc[0, "partial_coverage"]) == (1, 1)
