"""Check a built book in a real headless browser (Debian's Chromium through Selenium).

Used by the test suite and by hand: ``python -m clusterage_utils.browser _build/_build/html [--screenshots DIR]``.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .book import CHAPTERS

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
    """
    import tempfile

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
              *[f"notebooks/{c}.html" for c in CHAPTERS],
              "book/compute.html", "book/rerun.html", "book/references.html"]

if __name__ == "__main__":
    html = sys.argv[1]
    shots = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else None
    for r in check_pages(html, BOOK_PAGES, shots):
        print(r)
