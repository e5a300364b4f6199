import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from clusterage_utils.engine.runtime import prepare_environment  # noqa: E402

prepare_environment()  # as every entry point does, before anything imports TensorFlow


@pytest.fixture(scope="session", autouse=True)
def fingerprint_cache(tmp_path_factory):
    """The tests' own fingerprint cache (inherited by the commands they start), not the user's."""
    old = os.environ.get("CLUSTERAGE_CACHE_DIR")
    os.environ["CLUSTERAGE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield Path(os.environ["CLUSTERAGE_CACHE_DIR"])
    if old is None:
        os.environ.pop("CLUSTERAGE_CACHE_DIR", None)
    else:
        os.environ["CLUSTERAGE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def smoke_survey(tmp_path_factory):
    """The smoke-profile mock survey (3 galaxies, ~90 clusters)."""
    from clusterage_utils.engine.profiles import get_profile
    from clusterage_utils.survey.mock import MockSurveyConfig, make_mock_survey

    p = get_profile("smoke")
    out = tmp_path_factory.mktemp("survey") / "mock"
    return make_mock_survey(out, MockSurveyConfig(fraction=p.fraction, galaxies=p.galaxies), progress=False)


@pytest.fixture(scope="session")
def smoke_cutouts(smoke_survey, tmp_path_factory):
    from clusterage_utils.survey.curation import curate

    out = tmp_path_factory.mktemp("cut") / "cutouts.h5"
    curate(smoke_survey, out, progress=False)
    return out


@pytest.fixture(scope="session")
def toy_file(tmp_path_factory):
    """A learnable toy in the study's schema: the label sets the blob's colour (F275W / F814W flux ratio),
    which survives per-instance min-max normalisation."""
    from helpers import write_study_file

    rng = np.random.default_rng(0)
    n, size = 300, 24
    age = rng.uniform(6, 10, n)
    yy, xx = np.mgrid[0:size, 0:size]
    blob = np.exp(-((xx - 11.5) ** 2 + (yy - 11.5) ** 2) / (2 * 2.0**2))
    ratio = (age - 6) / 4                                   # 0 (young) .. 1 (old)
    img = np.empty((n, 5, size, size), np.float32)
    for b in range(5):
        w = (1 - ratio) + ratio * b / 4                      # young: flat; old: red
        img[:, b] = w[:, None, None] * blob[None] + rng.normal(0, 0.02, (n, size, size))
    p = tmp_path_factory.mktemp("toy") / "toy.h5"
    return write_study_file(p, n=n, size=size, image_cutouts=img, cluster_log_ages=age.astype(np.float32),
                            cluster_ids=np.arange(n, dtype=np.int32),
                            galaxy_ids=np.array(["NGC_628C"] * n, dtype=object))
