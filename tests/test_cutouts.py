"""The cutout file: the study's schema, lazy reading, clear errors."""
import os

import h5py
import numpy as np
import pytest
from helpers import write_study_file

from clusterage_utils.survey.cutouts import CutoutFileError, open_cutouts


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


# ------------------------------------------------------------------------------------------------ fingerprint
def _fresh(p):
    """The fingerprint computed from the file itself (no memory or disk cache)."""
    from clusterage_utils.survey import cutouts

    cutouts._MEMO.clear()
    with h5py.File(p) as h5:
        return cutouts._fingerprint_of(h5, cutouts._scan_images(h5, p))


@pytest.mark.parametrize("change", ["middle cutout", "one pixel", "label", "cluster id", "galaxy id",
                                    "catalogue column", "attribute"])
def test_fingerprint_covers_every_byte_training_reads(tmp_path, change):
    import shutil

    from clusterage_utils.survey.cutouts import file_fingerprint

    a = write_study_file(tmp_path / "a.h5", n=40)
    with h5py.File(a, "r+") as f:
        f.create_dataset("catalogue/distance_mpc", data=np.full(40, 9.84))
        f.attrs["parameters"] = '{"curation": {"size_px": 32}, "products_dir": "/somewhere"}'
    b = tmp_path / "b.h5"
    shutil.copy(a, b)
    assert file_fingerprint(a) == file_fingerprint(b)
    with h5py.File(b, "r+") as f:
        if change == "middle cutout":
            f["image_cutouts"][20] = 0
        elif change == "one pixel":
            img = f["image_cutouts"][17]
            img[3, 5, 7] += 1e-6
            f["image_cutouts"][17] = img
        elif change == "label":
            f["cluster_log_ages"][11] += 0.01
        elif change == "cluster id":
            f["cluster_ids"][30] = 999
        elif change == "galaxy id":
            f["galaxy_ids"][3] = "NGC_1365"
        elif change == "catalogue column":
            f["catalogue/distance_mpc"][5] = 10.0
        else:
            f.attrs["parameters"] = '{"curation": {"size_px": 48}, "products_dir": "/somewhere"}'
    assert file_fingerprint(b) != file_fingerprint(a)
    assert _fresh(b) == file_fingerprint(b) and len(file_fingerprint(b)) == 16


def test_fingerprint_ignores_volatile_attributes_and_where_the_file_lies(tmp_path):
    from clusterage_utils.survey.cutouts import file_fingerprint

    a = write_study_file(tmp_path / "a.h5")
    (tmp_path / "elsewhere").mkdir()
    b = write_study_file(tmp_path / "elsewhere" / "b.h5")
    with h5py.File(a, "r+") as f:
        f.attrs["created_utc"], f.attrs["package_version"] = "2026-01-01T00:00:00+00:00", "0.1.0"
        f.attrs["parameters"] = '{"products_dir": "/home/a/mock"}'
    with h5py.File(b, "r+") as f:
        f.attrs["created_utc"], f.attrs["package_version"] = "2027-05-05T10:00:00+00:00", "0.2.0"
        f.attrs["parameters"] = '{"products_dir": "/ci/clone/data/mock"}'
    assert file_fingerprint(a) == file_fingerprint(b)


def test_recuration_gives_the_same_fingerprint_and_priming_matches_a_scan(smoke_survey, smoke_cutouts, tmp_path):
    from clusterage_utils.survey.curation import curate
    from clusterage_utils.survey.cutouts import file_fingerprint

    again = tmp_path / "again.h5"
    curate(smoke_survey, again, progress=False)      # primes the cache from what it wrote
    assert file_fingerprint(again) == file_fingerprint(smoke_cutouts) == _fresh(again)


def test_fingerprint_is_cached_per_file_version_and_survives_a_broken_cache(tmp_path, monkeypatch):
    import shutil

    from clusterage_utils.survey import cutouts

    p = write_study_file(tmp_path / "a.h5")
    monkeypatch.setenv("CLUSTERAGE_CACHE_DIR", str(tmp_path / "cache"))
    fp = open_cutouts(p).fingerprint()
    cutouts._MEMO.clear()
    scans = []
    real = cutouts._scan_images
    monkeypatch.setattr(cutouts, "_scan_images", lambda h5, path: scans.append(path) or real(h5, path))
    assert open_cutouts(p).fingerprint() == fp and scans == []          # from the disk cache: no image read
    (tmp_path / "cache" / "fingerprints.json").write_text("{not json")
    cutouts._MEMO.clear()
    assert open_cutouts(p).fingerprint() == fp and len(scans) == 1      # corrupt cache: computed again
    monkeypatch.setenv("CLUSTERAGE_CACHE_DIR", str(tmp_path / "a.h5" / "cache"))   # cannot be a folder
    cutouts._MEMO.clear()
    assert open_cutouts(p).fingerprint() == fp and len(scans) == 2
    # `cp -p` of a same-size file onto it keeps the size, the mtime and the inode: the change time still moves
    other = write_study_file(tmp_path / "b.h5", image_cutouts=np.zeros((6, 5, 32, 32), np.float32))
    st = p.stat()
    shutil.copyfile(other, p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size and p.stat().st_ino == st.st_ino
    assert p.stat().st_mtime_ns == st.st_mtime_ns and open_cutouts(p).fingerprint() != fp


def test_opening_never_writes_the_data_file(tmp_path):
    p = write_study_file(tmp_path / "a.h5")
    p.chmod(0o444)
    before = (p.stat().st_mtime_ns, p.read_bytes())
    assert open_cutouts(p).fingerprint()
    assert (p.stat().st_mtime_ns, p.read_bytes()) == before


def test_writer_refuses_nan_pixels_naming_the_cluster(tmp_path):
    import pandas as pd

    from clusterage_utils.survey.cutouts import CutoutWriter

    w = CutoutWriter(tmp_path / "w.h5", 16)
    img = np.ones((3, 5, 16, 16), np.float32)
    img[1, 4, 2, 2] = np.nan
    table = pd.DataFrame({"galaxy_id": "IC_5332", "cluster_id": [7, 8, 9], "log_age": 7.0})
    with pytest.raises(CutoutFileError, match="cluster 8 of IC_5332 .* band F814W"):
        w.append(img, table)
    w.abort()
