"""Check a built book: every page in a real headless browser (Debian's Chromium through Selenium), and every
internal link and anchor (no network).

Used by the test suite and by hand: ``python -m clusterage_utils.book.browser _build/_build/html [--screenshots DIR]``.
"""
from __future__ import annotations

import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..analysis.chapters import NOTEBOOKS

__all__ = ["CHROMIUM_FLAGS", "BOOK_PAGES", "find_chromium", "check_pages", "check_links"]

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,2000"]


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None if either is missing."""
    b = shutil.which("chromium") or shutil.which("chromium-browser")
    d = shutil.which("chromedriver")
    return (b, d) if b and d else None


def check_pages(html_dir: str | Path, pages: list[str], screenshots: str | Path | None = None) -> list[dict]:
    """Open each page; report images (count, how many failed to load: naturalWidth 0) and tracebacks.
    With ``screenshots``, save a full-page PNG of each page there (for a person to look at).

    Returns one dict per page: ``page, title, n_images, broken_images, traceback``.

    Raises
    ------
    FileNotFoundError
        If a page is not in ``html_dir`` (the book was not built there): a missing page is never "checked".
    RuntimeError
        Without chromium and chromedriver.
    """
    import tempfile

    missing = [p for p in pages if not (Path(html_dir) / p).is_file()]
    if missing:
        raise FileNotFoundError(f"{html_dir}: no built page {', '.join(missing[:3])}"
                                f"{' ...' if len(missing) > 3 else ''}; build the book first (make book)")

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if not found:
        raise RuntimeError("chromium and chromedriver are needed (Debian packages chromium, chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    for f in CHROMIUM_FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}")
    driver = webdriver.Chrome(service=Service(found[1]), options=opts)
    out = []
    try:
        for page in pages:
            url = (Path(html_dir) / page).resolve().as_uri()
            driver.get(url)
            driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
            imgs = driver.execute_script(
                "return Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth]);")
            text = driver.execute_script("return document.body.innerText;")
            out.append({"page": page, "title": driver.title, "n_images": len(imgs),
                        "broken_images": [s for s, done, w in imgs if not w],
                        "traceback": "Traceback (most recent call last)" in text or "Error" in text.split("\n")[0]})
            if screenshots:
                Path(screenshots).mkdir(parents=True, exist_ok=True)
                driver.execute_script("window.scrollTo(0, 0);")
                height = driver.execute_script("return document.documentElement.scrollHeight;")
                driver.set_window_size(1280, min(int(height) + 100, 30000))   # the whole page, top to bottom
                driver.save_screenshot(str(Path(screenshots) / (page.replace("/", "_") + ".png")))
                driver.set_window_size(1280, 2000)
    finally:
        driver.quit()
    return out


BOOK_PAGES = ["book/intro.html", "book/data_modes.html",
              *[f"notebooks/{c}.html" for c in NOTEBOOKS],
              "book/compute.html", "book/rerun.html", "book/api.html", "book/references.html"]


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


def _parse(path: Path) -> _Anchors:
    p = _Anchors()
    p.feed(path.read_text(errors="replace"))
    return p


def check_links(html_dir: str | Path) -> list[dict]:
    """Every internal link of every page of a built book: the file it points to exists and, with ``#anchor``,
    holds that id. External links (http, mailto) are not followed (no network).

    Returns
    -------
    list of dict
        The broken links: ``page``, ``href``, ``problem``.
    """
    root = Path(html_dir).resolve()
    parsed: dict[Path, _Anchors] = {}

    def get(path: Path) -> _Anchors:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path]

    broken = []
    for page in sorted(root.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for href in get(page).hrefs:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append({"page": str(page.relative_to(root)), "href": href, "problem": "no such file"})
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in get(target).ids:
                broken.append({"page": str(page.relative_to(root)), "href": href, "problem": "no such anchor"})
    return broken


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m clusterage_utils.book.browser HTML_DIR [--screenshots DIR]")
    html = sys.argv[1]
    shots = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else None
    for r in check_pages(html, BOOK_PAGES, shots):
        print(r)
    for b in check_links(html):
        print("broken link:", b)
