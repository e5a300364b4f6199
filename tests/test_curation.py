"""Curation of real-format products and the cutout file schema."""
import h5py
import numpy as np
import pytest
from helpers import write_products, write_study_file

from clusterage_utils.curation import curate
from clusterage_utils.cutouts import CutoutFileError, open_cutouts
from clusterage_utils.products import ProductError


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
    from clusterage_utils.mock import read_manifest

    cf = open_cutouts(smoke_cutouts)
    assert cf.n == read_manifest(smoke_survey)["n_clusters"]
    assert cf.source == "mock" and cf.is_mock
    for c in ("true_log_age", "env_log_age", "true_ebv_mag", "n_neighbours"):
        assert c in cf.catalogue and np.isfinite(cf.catalogue[c]).all()
    assert set(cf.galaxy_ids) == {"IC_5332", "NGC_628C", "NGC_1566"}
    assert cf.shape == (5, 112, 112)


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


def test_missing_band_is_named(tmp_path):
    write_products(tmp_path / "p", drop_band="F336W")
    with pytest.raises(ProductError, match="no F336W science image"):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert not (tmp_path / "c.h5").exists() and not list(tmp_path.glob(".c.h5*"))


def test_missing_age_column_lists_fallbacks(tmp_path):
    write_products(tmp_path / "p", drop_column="PHANGS_SED_AGE")
    with pytest.raises(ProductError, match="tried PHANGS_SED_AGE, SEDfix_age, PHANGS_AGE_MINCHISQ"):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert not (tmp_path / "c.h5").exists()


def test_catalogue_without_overlap(tmp_path):
    write_products(tmp_path / "p", shift_deg=1.0)
    with pytest.raises(ProductError, match="do not overlap"):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)


def test_duplicated_ids(tmp_path):
    write_products(tmp_path / "p", sources=[(200, 210), (150, 150)], duplicate_ids=True)
    with pytest.raises(ProductError, match="duplicated ID_PHANGS_CLUSTER"):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)


def test_refuses_existing_output(tmp_path):
    write_products(tmp_path / "p")
    (tmp_path / "c.h5").write_text("keep me")
    with pytest.raises(FileExistsError):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert (tmp_path / "c.h5").read_text() == "keep me"


def test_acs_f435w_stands_in_for_f438w(tmp_path):
    write_products(tmp_path / "p", galaxy_id="NGC_628C")
    assert list((tmp_path / "p" / "ngc628c").glob("*acs-wfc*f435w*"))
    curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert open_cutouts(tmp_path / "c.h5").n == 1


def test_open_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="clusterage curate"):
        open_cutouts(tmp_path / "nope.h5")


def test_fetch_url_building_and_mirror(tmp_path):
    from clusterage_utils.fetch import catalogue_bundle_url, fetch_phangs, image_urls

    urls = image_urls("NGC_628C")
    assert urls["F438W"] == ("https://archive.stsci.edu/hlsps/phangs-hst/ngc628c/"
                             "hlsp_phangs-hst_hst_acs-wfc_ngc628c_f435w_v1_exp-drc-sci.fits")
    assert urls["F275W"].endswith("ngc628c/hlsp_phangs-hst_hst_wfc3-uvis_ngc628c_f275w_v1_exp-drc-sci.fits")
    assert catalogue_bundle_url("NGC_628C").endswith("hlsp_phangs-cat_hst_acs-uvis_ngc0628c_multi_v1_cats.tar.gz")
    # a local MAST-like mirror served through file:// URLs (astropy's download path)
    import tarfile
    src = write_products(tmp_path / "src", galaxy_id="NGC_628C")
    hst = tmp_path / "mirror" / "phangs-hst" / "ngc628c"
    cat = tmp_path / "mirror" / "phangs-cat"
    hst.mkdir(parents=True)
    cat.mkdir(parents=True)
    for f in src.glob("hlsp_phangs-hst*"):
        (hst / f.name).write_bytes(f.read_bytes())
    with tarfile.open(cat / catalogue_bundle_url("NGC_628C").rsplit("/", 1)[1], "w:gz") as tar:
        for f in src.glob("hlsp_phangs-cat*"):
            tar.add(f, arcname=f"cats/{f.name}")
    dest = tmp_path / "dest"
    fetch_phangs(["NGC_628C"], dest, hst_base=f"file://{tmp_path}/mirror/phangs-hst",
                 cat_base=f"file://{cat}", progress=False)
    log = (dest / "checksums.sha256").read_text().splitlines()
    assert len(log) == 6
    mtime = (dest / "ngc628c" / urls["F555W"].rsplit("/", 1)[1]).stat().st_mtime
    fetch_phangs(["NGC_628C"], dest, hst_base=f"file://{tmp_path}/mirror/phangs-hst",
                 cat_base=f"file://{cat}", progress=False)   # resumes: nothing fetched again
    assert len((dest / "checksums.sha256").read_text().splitlines()) == 6
    assert (dest / "ngc628c" / urls["F555W"].rsplit("/", 1)[1]).stat().st_mtime == mtime
    assert curate(dest, tmp_path / "c.h5", progress=False)["kept"].sum() == 1


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
