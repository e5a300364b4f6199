import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def smoke_survey(tmp_path_factory):
    """The smoke-profile mock survey (3 galaxies, ~90 clusters)."""
    from clusterage_utils.mock import MockSurveyConfig, make_mock_survey
    from clusterage_utils.profiles import get_profile

    p = get_profile("smoke")
    out = tmp_path_factory.mktemp("survey") / "mock"
    return make_mock_survey(out, MockSurveyConfig(fraction=p.fraction, galaxies=p.galaxies), progress=False)


@pytest.fixture(scope="session")
def smoke_cutouts(smoke_survey, tmp_path_factory):
    from clusterage_utils.curation import curate

    out = tmp_path_factory.mktemp("cut") / "cutouts.h5"
    curate(smoke_survey, out, progress=False)
    return out
