"""The book: every notebook executes under the smoke profile, the book builds with warnings as errors, and a
real headless browser finds every figure loaded and no traceback on any page."""
import json
import os

import pytest

from clusterage_utils.book import CHAPTERS, STUDY_CHAPTERS, all_experiments, build_book, chapter_experiments
from clusterage_utils.browser import BOOK_PAGES, check_pages, find_chromium

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    index = build_book(profile="smoke", build_dir=root / "build", store=str(root / "store"), progress=False)
    return index, root


def test_book_builds_and_every_chapter_executed(built_book):
    index, root = built_book
    assert index.exists()
    html = index.parent
    for c in CHAPTERS:
        page = (html / "notebooks" / f"{c}.html").read_text()
        assert "MOCK SURVEY" in page or "mock survey" in page.lower()       # the synthetic-data label
        assert "Traceback" not in page
    timings = json.loads((root / "build" / "timings.json").read_text())
    assert set(CHAPTERS) <= set(timings)


def test_second_build_retrains_nothing(built_book, monkeypatch):
    index, root = built_book
    import clusterage_utils.training as training

    def no_training(*a, **k):
        raise AssertionError("a rebuild with no change must not train")

    monkeypatch.setattr(training, "train_experiment", no_training)
    build_book(profile="smoke", chapters=["02"], build_dir=root / "build", store=str(root / "store"),
               progress=False)


def test_every_page_renders_in_a_browser(built_book):
    if not find_chromium():
        if os.environ.get("CLUSTERAGE_SKIP_BROWSER") == "1":
            pytest.skip("CLUSTERAGE_SKIP_BROWSER=1")
        pytest.fail("chromium/chromedriver missing: `make test` installs Debian's chromium and chromium-driver")
    index, _ = built_book
    results = check_pages(index.parent, BOOK_PAGES)
    for r in results:
        assert not r["broken_images"], r
        assert not r["traceback"], r
    figures = {r["page"]: r["n_images"] for r in results}
    for c in CHAPTERS:
        assert figures[f"notebooks/{c}.html"] >= 1, figures


def test_chapter_experiment_lists():
    assert chapter_experiments("01", "smoke") == []
    assert len(chapter_experiments("03", "smoke", validate_amortised=False)) == 12    # 4 panels x 3 diameters
    both = chapter_experiments("03", "smoke")                                          # + the amortised curves
    assert len(both) == 24 and len({e.training_group for e in both}) == 12 + 4
    assert len(chapter_experiments("03", "smoke", diameters=[0, 8], seeds=[0, 1])) == 32
    assert all(e.masking == "retrain" for e in chapter_experiments("04", "smoke"))
    assert len(all_experiments("smoke")) < sum(len(chapter_experiments(c, "smoke")) for c in CHAPTERS)
    with pytest.raises(ValueError, match="unknown chapter"):
        chapter_experiments("99", "smoke")


def test_notebooks_committed_clean_with_papermill_parameters():
    import json
    from pathlib import Path

    from papermill.inspection import inspect_notebook

    root = Path(__file__).resolve().parent.parent / "notebooks"
    for c in CHAPTERS:
        path = root / f"{c}.ipynb"
        nb = json.loads(path.read_text())
        assert not any(cell.get("outputs") for cell in nb["cells"]), f"{path} has outputs"
        params = inspect_notebook(str(path))
        assert {"profile", "data", "store", "seeds"} <= set(params), (c, list(params))
        if c in STUDY_CHAPTERS[1:]:
            assert "diameters" in params, (c, list(params))


def test_measured_cost_accounts_for_every_record(built_book, capsys):
    from clusterage_utils.book import measured_cost
    from clusterage_utils.cli import main
    from clusterage_utils.store import ResultsStore

    _, root = built_book
    df = measured_cost("smoke", store=root / "store", build_dir=root / "build")
    assert df["chapter"].iloc[-1] == "total"
    assert df["records"].iloc[-1] == len(ResultsStore(root / "store").keys())   # each record charged once
    assert df["notebook_s"].iloc[:-1].notna().all() and df["training_min"].iloc[-1] > 0
    assert main(["cost", "--profile", "smoke", "--store", str(root / "store"), "--build-dir",
                 str(root / "build")]) == 0
    assert "13_normalisation" in capsys.readouterr().out
