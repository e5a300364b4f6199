"""A chapter's context: default paths, no hidden survey making, a header without the builder's paths."""
import pytest

from clusterage_utils.book.page import page_context
from clusterage_utils.paths import default_cutouts_path, default_store_path, project_root


def test_default_paths_follow_clusterage_root(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(tmp_path))
    assert project_root() == tmp_path
    assert default_cutouts_path("smoke") == tmp_path / "data" / "smoke" / "cutouts.h5"
    assert default_cutouts_path("smoke", environment_coupling=0.5).parent.name == "smoke_c0.5"
    assert default_store_path("smoke", "/x/other.h5") == tmp_path / "results" / "smoke-other"


def test_no_hidden_survey_making(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make_data=True"):
        page_context("smoke")
    assert not (tmp_path / "data").exists()


def test_header_names_the_file_not_its_folder(toy_file, tmp_path):
    ctx = page_context("smoke", data=toy_file, store=tmp_path / "s", diameters=[0, 4], seeds=None)
    text = ctx.header().data
    assert toy_file.name in text and str(toy_file.parent) not in text
    assert "diameters=[0, 4]" in text and "seeds=" not in text            # only the parameters given


def test_header_says_what_a_profile_changes_for_groups_and_keep_centre_sweeps(toy_file, tmp_path):
    import dataclasses

    ctx = page_context("smoke", data=toy_file, store=tmp_path / "s")
    assert "distance groups" not in ctx.header().data                     # smoke changes nothing
    ctx.settings = dataclasses.replace(ctx.settings, profile=dataclasses.replace(
        ctx.profile, group_training={"folds": 5}, keep_centre_training={"epochs": 20}))
    text = ctx.header().data
    assert "distance groups: folds=5" in text and "keep-centre sweeps: epochs=20" in text


def test_health_box_words_the_page_health(toy_file, tmp_path):
    from clusterage_utils.analysis.health import floor_text, health_box

    h = {"runs": 12, "worse_than_null": 1, "stuck": 0, "failed_seeds": 2, "still_improving": 3,
         "seed_range_p90": 0.1234, "seed_range_max": 0.2, "seed_range_max_case": "five_band_full_none",
         "violations_consistent": 1, "violations_inconsistent": 4, "verdict": "all fine",
         "seed_range_floor_p90": 0.05, "beyond_floor": 1, "beyond_floor_by_chance": 0}
    box = health_box(h)
    assert box.startswith("```{admonition} Health of the trainings") and box.endswith("```")
    assert "12 trainings: 1 worse than the null" in box and "0.123 dex at the 90th percentile" in box
    assert "(five_band_full_none); monotonicity violations: 1\nconsistent, 4 within the noise" in box
    with_floor = health_box(h, middle=floor_text(h, "80-90"), after="More below.")
    assert ". Its test sets hold\n80-90 clusters" in with_floor and "0.050 dex" in with_floor
    assert "Monotonicity violations: 1" in with_floor and with_floor.endswith("More below.\n```")
