"""PHANGS-HST products: finding bands, reading and joining catalogues, their errors."""
import pytest
from helpers import write_products

from clusterage_utils.survey.curation import curate
from clusterage_utils.survey.cutouts import open_cutouts
from clusterage_utils.survey.products import ProductError


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

def test_duplicated_ids(tmp_path):
    write_products(tmp_path / "p", sources=[(200, 210), (150, 150)], duplicate_ids=True)
    with pytest.raises(ProductError, match="duplicated ID_PHANGS_CLUSTER"):
        curate(tmp_path / "p", tmp_path / "c.h5", progress=False)

def test_acs_f435w_stands_in_for_f438w(tmp_path):
    write_products(tmp_path / "p", galaxy_id="NGC_628C")
    assert list((tmp_path / "p" / "ngc628c").glob("*acs-wfc*f435w*"))
    curate(tmp_path / "p", tmp_path / "c.h5", progress=False)
    assert open_cutouts(tmp_path / "c.h5").n == 1
