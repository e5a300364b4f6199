"""Fetching real products (URLs and a local mirror; no network in tests)."""
from helpers import write_products

from clusterage_utils.survey.curation import curate


def test_fetch_url_building_and_mirror(tmp_path):
    from clusterage_utils.survey.fetch import catalogue_bundle_url, fetch_phangs, image_urls

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
