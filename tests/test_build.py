"""The book: every notebook executes under the smoke profile, the book builds with warnings as errors, a real
headless browser finds every figure loaded and no traceback, every internal link resolves, no page shows the
build machine's paths, and the compute page's numbers are the store's."""
import json
import os
import re
from pathlib import Path

import pytest

from clusterage_utils.analysis.chapters import NOTEBOOKS, STUDY_CHAPTERS, all_experiments
from clusterage_utils.book.browser import BOOK_PAGES, check_links, check_pages, find_chromium
from clusterage_utils.book.build import BookBuildError, build_book, publish_site
from clusterage_utils.engine.profiles import get_profile

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The smoke book, built in a throw-away project root (data, results and build inside it)."""
    root = tmp_path_factory.mktemp("book")
    old = os.environ.get("CLUSTERAGE_ROOT")
    os.environ["CLUSTERAGE_ROOT"] = str(root)
    try:
        index = build_book(profile="smoke", progress=False)
        yield index, root
    finally:
        if old is None:
            os.environ.pop("CLUSTERAGE_ROOT", None)
        else:
            os.environ["CLUSTERAGE_ROOT"] = old


def test_book_builds_and_every_chapter_executed(built_book):
    index, root = built_book
    html = index.parent
    for c in NOTEBOOKS:
        page = (html / "notebooks" / f"{c}.html").read_text()
        assert "Traceback" not in page, c
        if c.startswith("01b"):
            assert "REAL DATA" in page or "Real data" in page                    # the real-data label
        else:
            assert "mock survey" in page.lower(), c                              # the synthetic-data label
        assert "glue" not in re.sub(r"<[^>]+>", "", page).lower() or "{glue" not in page, c   # every glue resolved
    timings = json.loads((root / "_build" / "timings.json").read_text())
    assert set(NOTEBOOKS) <= set(timings) and "book/compute" in timings
    assert (html / "notebooks" / "01b_study_real_data.html").exists()


def test_no_page_shows_the_build_machines_paths(built_book):
    index, root = built_book
    for page in index.parent.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert str(root) not in text, page
        assert str(Path(__file__).resolve().parent.parent) not in text, page


def test_compute_page_numbers_are_the_stores(built_book):
    from clusterage_utils.engine.store import ResultsStore

    index, root = built_book
    page = re.sub(r"<[^>]+>", "", (index.parent / "book" / "compute.html").read_text())
    n = len(ResultsStore(root / "results" / "smoke").keys())
    assert re.search(rf"holds\s+{n}\s+records", page), n


def test_second_build_retrains_nothing(built_book, monkeypatch):
    index, root = built_book
    import clusterage_utils.engine.training as training

    def no_training(*a, **k):
        raise AssertionError("a rebuild with no change must not train")

    monkeypatch.setattr(training, "train_experiment", no_training)
    monkeypatch.setattr(training, "train_amortised", no_training)
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(root))
    build_book(profile="smoke", chapters=["02"], progress=False)


def test_unknown_parameter_names_the_valid_ones(built_book, monkeypatch):
    _, root = built_book
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(root))
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['diamters'\].*diameters"):
        build_book(profile="smoke", chapters=["03"], parameters={"diamters": [0, 4]}, progress=False)
    from clusterage_utils.cli import main

    assert main(["book", "--profile", "smoke", "--chapter", "03", "-p", "unknown_name=1"]) == 2


def test_a_chapter_over_its_timeout_fails_the_build_naming_it(built_book, monkeypatch):
    _, root = built_book
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(root))
    with pytest.raises(BookBuildError, match="01b_study_real_data"):
        build_book(profile="smoke", chapters=["01b"], timeout_s=1, progress=False)


def test_every_page_renders_in_a_browser_and_links_resolve(built_book):
    index, _ = built_book
    assert check_links(index.parent) == []
    if not find_chromium():
        if os.environ.get("CLUSTERAGE_SKIP_BROWSER") == "1":
            pytest.skip("CLUSTERAGE_SKIP_BROWSER=1")
        pytest.fail("chromium/chromedriver missing: `make test` installs Debian's chromium and chromium-driver")
    results = check_pages(index.parent, BOOK_PAGES)
    for r in results:
        assert not r["broken_images"], r
        assert not r["traceback"], r
    figures = {r["page"]: r["n_images"] for r in results}
    for c in NOTEBOOKS:
        assert figures[f"notebooks/{c}.html"] >= 1, figures


def test_publish_site_offers_the_results_store(built_book, monkeypatch):
    import tarfile

    _, root = built_book
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(root))
    index = publish_site("smoke")
    site = index.parent
    assert (site / ".nojekyll").exists() and (site / "notebooks" / "02_feasibility.html").exists()
    with tarfile.open(site / "downloads" / "results-smoke.tar.gz") as tar:
        names = tar.getnames()
    assert "results/smoke/store.json" in names and any(n.startswith("results/smoke/records/") for n in names)


def test_measured_cost_accounts_for_every_record(built_book, capsys, monkeypatch):
    from clusterage_utils.book.cost import measured_cost
    from clusterage_utils.cli import main
    from clusterage_utils.engine.store import ResultsStore

    _, root = built_book
    monkeypatch.setenv("CLUSTERAGE_ROOT", str(root))
    df = measured_cost("smoke")
    assert df["chapter"].iloc[-1] == "total"
    assert df["records"].iloc[-1] == len(ResultsStore(root / "results" / "smoke").keys())   # each charged once
    assert df["training_min"].iloc[-1] > 0
    assert main(["cost", "--profile", "smoke"]) == 0
    assert "13_normalisation" in capsys.readouterr().out
    assert main(["health", "--profile", "smoke"]) == 0
    assert "worse than the null" in capsys.readouterr().out


def test_notebooks_committed_clean_with_papermill_parameters():
    from papermill.inspection import inspect_notebook

    root = Path(__file__).resolve().parent.parent
    for path in [root / "notebooks" / f"{c}.ipynb" for c in NOTEBOOKS] + sorted((root / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        assert not any(cell.get("outputs") for cell in nb["cells"]), f"{path} has outputs"
        params = inspect_notebook(str(path))
        assert {"profile", "data", "store"} <= set(params), (path.name, list(params))
        if path.stem in STUDY_CHAPTERS[2:]:
            assert {"seeds", "diameters"} <= set(params) or path.stem == "05_case_summaries", path.stem


def test_every_figure_is_numbered_captioned_and_referenced():
    """Chapters glue their figures into numbered, captioned figure blocks, and the prose refers to them."""
    root = Path(__file__).resolve().parent.parent / "notebooks"
    for c in NOTEBOOKS:
        nb = json.loads((root / f"{c}.ipynb").read_text())
        md = "\n".join("".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown")
        code = "\n".join("".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "code")
        glued = set(re.findall(r'glue_figure\(\s*"(\w+)"', code))
        blocks = set(re.findall(r"```\{glue:figure\} (\w+)", md))
        assert glued and glued == blocks, (c, glued ^ blocks)
        assert "plt.show()" not in code and "display(Markdown" not in code, c
        names = set(re.findall(r":name: ([\w-]+)", md))
        assert names and names <= set(re.findall(r"\{numref\}`([\w-]+)`", md)), (c, names)
    assert all_experiments(get_profile("smoke"))


def test_the_browser_check_refuses_a_folder_without_the_book(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text("<html></html>")
    with pytest.raises(FileNotFoundError, match="no built page"):
        check_pages(tmp_path, ["book/intro.html", "book/compute.html"])
