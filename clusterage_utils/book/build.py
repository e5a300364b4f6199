"""Build the book: train what the chapters need, execute the notebooks with papermill, run jupyter-book.

``clusterage book --profile laptop`` (what ``make book`` calls):

1. makes the profile's mock survey and cutout file if absent (or uses ``--data``);
2. trains every experiment the chapters need, through the results store, on every core, with one progress bar;
3. executes the notebooks with papermill into ``_build/book-src/notebooks`` (they find their results in the store);
   a notebook's parameters are checked against its parameters cell first;
4. runs ``jupyter-book build`` with warnings as errors, and returns the index page's path.

A second build retrains nothing. ``--chapter 03 -p diameters='[0, 4, 8]'`` re-executes one chapter with new
parameters; the other chapters' executed notebooks are kept. The console shows progress bars and one line per
chapter; kernels' start-up noise goes to ``_build/logs/<chapter>.log``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .._atomic import atomic_path
from ..analysis.chapters import CHAPTER_PARAMETERS, NOTEBOOKS, chapter_experiments, chapter_id, chapter_notebook
from ..analysis.chapters.attribution_maps import attribution_models
from ..analysis.chapters.common import PageSettings, page_settings, unique
from ..analysis.chapters.truth_tests import truth_test_runs
from ..engine.profiles import Profile
from ..paths import default_store_path, project_root, source_root

__all__ = ["build_book", "publish_site", "BookBuildError", "check_parameters", "notebook_parameters",
           "train_for_chapters", "DEFAULT_CHAPTER_TIMEOUT_S"]

#: Longest a single notebook cell may run (papermill's per-cell limit); the trainings happen before.
DEFAULT_CHAPTER_TIMEOUT_S = 1800
#: Pages in ``book/`` that are notebooks, executed after the chapters on every build (they read the store and
#: this build's timings).
BOOK_PAGES = ("data_modes", "compute", "api")


class BookBuildError(RuntimeError):
    """A chapter or the jupyter-book build failed; the message names the chapter and shows its error."""


def notebook_parameters(notebook: str | os.PathLike) -> list[str]:
    """The names defined in a notebook's parameters cell (papermill's inspection)."""
    from papermill.inspection import inspect_notebook

    return list(inspect_notebook(str(notebook)))


def check_parameters(notebook: str | os.PathLike, parameters: dict) -> None:
    """Raise a ValueError naming the valid parameters if ``parameters`` has a name the notebook's parameters cell
    does not define (papermill would only warn and build the default)."""
    valid = notebook_parameters(notebook)
    bad = sorted(set(parameters) - set(valid))
    if bad:
        raise ValueError(f"{Path(notebook).stem}: unknown parameter(s) {bad}; this chapter takes: "
                         f"{', '.join(valid)}")


def _stage(root: Path, src_dir: Path) -> None:
    """Copy the book's configuration and prose pages next to the executed notebooks."""
    src_dir.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src_dir / name)
    if (src_dir / "book").exists():
        shutil.rmtree(src_dir / "book")
    shutil.copytree(root / "book", src_dir / "book")
    (src_dir / "notebooks").mkdir(exist_ok=True)


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send file descriptor 2 (kernels' start-up warnings) to ``path`` for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with open(path, "w") as log:
        os.dup2(log.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)


def train_for_chapters(names: list[str], settings: PageSettings, data_path: Path, store_root: Path,
                       progress: bool = True) -> dict[str, float]:
    """Every training the chapters ``names`` need, before any notebook runs: the main data (one pool, one bar;
    chapter 09's model kept), and chapter 07's surveys of other couplings. Returns the seconds spent."""
    from ..engine.execution import run_experiments

    exps = unique([e for n in names for e in chapter_experiments(n, settings)])
    kept = attribution_models(settings.profile) if "09_attribution" in names else []
    t0 = time.perf_counter()
    run_experiments(exps + kept, data_path, store_root, progress=progress, save_models={e.hash for e in kept})
    timings = {"trainings": round(time.perf_counter() - t0, 1)}
    if "07_truth_tests" in names:
        t1 = time.perf_counter()
        for coupling, path, runs in truth_test_runs(settings.profile, progress=progress):
            if coupling != 1.0 or path != data_path:
                run_experiments(runs, path, store_root, progress=progress)
        timings["truth_test_surveys_and_trainings"] = round(time.perf_counter() - t1, 1)
    return timings


def _execute(name: str, root: Path, src: Path, parameters: dict, timeout_s: int, log_dir: Path,
             folder: str = "notebooks") -> float:
    """Execute one notebook of ``folder`` with papermill into ``src/<folder>`` (atomically); returns seconds."""
    import papermill as pm

    nb = root / folder / f"{name}.ipynb"
    check_parameters(nb, parameters)
    out = src / folder / f"{name}.ipynb"
    t0 = time.perf_counter()
    try:
        with _stderr_to(log_dir / f"{name}.log"), atomic_path(out) as tmp:
            pm.execute_notebook(nb, tmp, parameters=parameters, kernel_name="python3", cwd=str(src / folder),
                                progress_bar=False, execution_timeout=timeout_s)
    except Exception as e:
        raise BookBuildError(f"chapter {name} failed ({type(e).__name__}); its log: {log_dir / (name + '.log')}\n"
                             f"{str(e)[-3000:]}") from e
    return round(time.perf_counter() - t0, 1)


def _jupyter_book(src: Path, build: Path, warnings_as_errors: bool) -> None:
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if jb is None:
        raise BookBuildError("jupyter-book is not installed; install the book extra: pip install -e '.[book]'")
    cmd = [jb, "build", str(src), "--path-output", str(build)]
    if warnings_as_errors:
        cmd += ["-W", "-n", "--keep-going"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BookBuildError(f"jupyter-book build failed (exit {res.returncode}):\n{res.stdout[-4000:]}\n"
                             f"{res.stderr[-4000:]}")


def _chapters_to_run(root: Path, src: Path, chapters, parameters: dict) -> list[str]:
    """The notebooks to execute, after checking ``parameters`` against their parameters cells: the ``chapters``
    asked for (and any never built), or all of them; raises a ValueError for an unknown chapter or parameter."""
    if not chapters:  # the whole book: each parameter goes to the chapters that define it, and one at least must
        known = {p for n in NOTEBOOKS for p in notebook_parameters(root / "notebooks" / f"{n}.ipynb")}
        bad = sorted(set(parameters) - known)
        if bad:
            raise ValueError(f"unknown parameter(s) {bad}; the chapters take: {', '.join(sorted(known))}")
        return list(NOTEBOOKS)
    for c in chapters:
        check_parameters(root / "notebooks" / f"{chapter_notebook(c)}.ipynb", parameters)
    sel = {chapter_id(c) for c in chapters}
    return [c for c in NOTEBOOKS if chapter_id(c) in sel or not (src / "notebooks" / f"{c}.ipynb").exists()]


@contextlib.contextmanager
def _inline_figures():
    """Kernels inherit our environment; MPLBACKEND=Agg (test runners, headless shells) would hide every figure."""
    old_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        yield
    finally:
        if old_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old_backend


def _execute_pages(wanted: list[str], page_params: dict, parameters: dict, every_chapter: bool, root: Path,
                   build: Path, timeout_s: int, progress: bool, timings: dict) -> None:
    """Execute the chapters ``wanted`` (each with the ``parameters`` its parameters cell takes, or all of them
    for chapters asked for by name), then the book's own pages; their seconds go into ``timings``."""
    from tqdm.auto import tqdm

    src = build / "book-src"
    for c in tqdm(wanted, desc="chapters", unit="notebook", disable=not progress):
        nb_params = {**page_params, **parameters}
        if every_chapter:
            valid = notebook_parameters(root / "notebooks" / f"{c}.ipynb")
            nb_params = {k: v for k, v in nb_params.items() if k in valid}
        timings[c] = _execute(c, root, src, nb_params, timeout_s, build / "logs")
    _save_timings(build / "timings.json", page_params["profile"], timings)     # the compute page reads it
    shutil.copy2(build / "timings.json", src / "book" / "timings.json")
    for page in BOOK_PAGES:
        timings[f"book/{page}"] = _execute(page, root, src, page_params, timeout_s, build / "logs", "book")


def build_book(profile: str | Profile = "laptop", chapters=None, parameters: dict | None = None,
               data: str | None = None, build_dir: str | os.PathLike | None = None, store: str | None = None,
               progress: bool = True, warnings_as_errors: bool = True, timeout_s: int = DEFAULT_CHAPTER_TIMEOUT_S
               ) -> Path:
    """Train, execute the chapters with papermill and build the HTML book; returns the index page's path.

    Parameters
    ----------
    profile : str or Profile
        ``smoke``, ``laptop`` or ``paper``.
    chapters : list of str, optional
        Only (re-)execute these (``03`` or ``03_inner_masking``); the others are executed only if never built.
    parameters : dict, optional
        Notebook parameters for the chapters executed (e.g. ``{"diameters": [0, 4, 8]}``); each must be a
        parameter of every chapter it is given to.
    data : str, optional
        A cutout file (real products or the study's file) instead of the mock survey.
    build_dir : path-like
        Default ``_build`` in the project root (:func:`~clusterage_utils.paths.project_root`).
    store : str, optional
        Results store (default :func:`~clusterage_utils.paths.default_store_path`).
    timeout_s : int
        The longest one notebook cell may run; a chapter over it fails the build, naming the chapter.

    Raises
    ------
    ValueError
        For an unknown chapter or parameter.
    BookBuildError
        When a chapter or jupyter-book fails.
    """
    from ..engine.runtime import prepare_environment
    from ..survey.curation import ensure_default_cutouts

    prepare_environment()  # before anything imports TensorFlow: quiet log, oneDNN kernels on x86-64
    root, parameters = source_root(), dict(parameters or {})
    settings = page_settings(profile, **{k: v for k, v in parameters.items() if k in CHAPTER_PARAMETERS})
    name = settings.profile.name
    build = Path(build_dir) if build_dir else project_root() / "_build"
    t_start = time.perf_counter()
    wanted = _chapters_to_run(root, build / "book-src", chapters, parameters)
    data_path = Path(data) if data else ensure_default_cutouts(settings.profile, progress=progress)
    store_root = Path(store) if store else default_store_path(name, data)
    timings = train_for_chapters(wanted, settings, data_path, store_root, progress)
    _stage(root, build / "book-src")
    page_params = {"profile": name, "data": str(data_path) if data else None,
                   "store": str(store_root) if store else None}
    with _inline_figures():
        _execute_pages(wanted, page_params, parameters, not chapters, root, build, timeout_s, progress, timings)
    t2 = time.perf_counter()
    _jupyter_book(build / "book-src", build, warnings_as_errors)
    timings["jupyter-book"] = round(time.perf_counter() - t2, 1)
    timings["total"] = round(time.perf_counter() - t_start, 1)
    _save_timings(build / "timings.json", name, timings)
    return build / "_build" / "html" / "index.html"


def _save_timings(path: Path, profile: str, timings: dict) -> None:
    """Write ``timings.json``; a partial rebuild keeps the other chapters' last notebook times."""
    old = json.loads(path.read_text()) if path.exists() else {}
    kept = {c: old[c] for c in NOTEBOOKS if c in old and old.get("profile") == profile}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"profile": profile, **kept, **timings}, indent=2))


def publish_site(profile: str = "laptop", build_dir: str | os.PathLike | None = None,
                 store: str | os.PathLike | None = None, data: str | None = None) -> Path:
    """Turn a built book into a self-contained static site in ``<build>/publish`` (what GitHub Pages serves):
    the HTML, a ``.nojekyll`` marker, and the results store as ``downloads/results-<profile>.tar.gz`` (records and
    kept models, no logs), so a reader can rerun any chapter without retraining. Written to a temporary folder
    and renamed into place.

    Raises
    ------
    FileNotFoundError
        If the book has not been built.
    """
    import tarfile
    import tempfile

    build = Path(build_dir) if build_dir else project_root() / "_build"
    html = build / "_build" / "html"
    if not (html / "index.html").exists():
        raise FileNotFoundError(f"{html}: no built book; run `clusterage book --profile {profile}` first")
    store_root = Path(store) if store else default_store_path(profile, data)
    tmp = Path(tempfile.mkdtemp(prefix=".publish.", dir=build))
    try:
        site = tmp / "site"
        shutil.copytree(html, site)
        (site / ".nojekyll").write_text("")
        (site / "downloads").mkdir()
        with tarfile.open(site / "downloads" / f"results-{profile}.tar.gz", "w:gz") as tar:
            for sub in ("store.json", "records", "models"):
                if (store_root / sub).exists():
                    tar.add(store_root / sub, arcname=f"results/{profile}/{sub}")
        out = build / "publish"
        if out.exists():
            shutil.rmtree(out)
        os.replace(site, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.html"
