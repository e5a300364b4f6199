"""Build the book: which experiments each chapter needs, the chapter context notebooks use, papermill execution,
and ``jupyter-book build``.

``clusterage book --profile laptop`` (what ``make book`` calls):

1. makes the profile's mock survey and cutout file if absent (or uses ``--data``);
2. trains every experiment the chapters need, through the results store, with one progress bar and ETA;
3. executes the notebooks with papermill into ``_build/book-src/notebooks`` (they find their results in the store);
4. runs ``jupyter-book build`` with execution off and warnings as errors, and prints the index page's path.

A second build retrains nothing. ``--chapter 03 -p diameters='[0, 4, 8]'`` re-executes one chapter with new
parameters; the other chapters' executed notebooks are kept.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from ._atomic import atomic_path
from .experiments import Experiment, case_experiments, fig5_cases, masking_sweep
from .profiles import Profile, get_profile

ROOT = Path(__file__).resolve().parent.parent
STUDY_CHAPTERS = ("01_data_curation", "02_feasibility", "03_inner_masking", "04_outer_masking",
                  "05_case_summaries", "06_distance_splits")
#: Chapters beyond the study (the questions it left open).
BEYOND_CHAPTERS = ("07_truth_tests", "08_leakage_splits", "09_attribution", "10_physical_masks",
                   "11_significance", "12_disagreements", "13_normalisation")
CHAPTERS = STUDY_CHAPTERS + BEYOND_CHAPTERS

#: Chapter 7: environment couplings of the injection-recovery surveys, and the environment-only cases run on each.
COUPLINGS = (0.0, 0.5, 1.0)
TRUTH_CASES = ("white_light_full_mask_centre_12", "white_light_full_mask_centre_24",
               "white_light_full_mask_centre_24_shuffled")
#: Chapter 8: split strategies and the cases compared under each.
SPLIT_STRATEGIES = ("random", "spatial", "galaxy")
SPLIT_CASES = ("five_band_full_none", "white_light_full_mask_centre_24")
#: Chapter 13: normalisations compared (``instance`` = the study's).
NORMALISATION_VARIANTS = ("instance", "asinh", "log", "quantile")
NORMALISATION_CASES = ("white_light_full_none", "white_light_full_mask_centre_24")


def significance_pairs(sample: str = "full") -> list[tuple[str, str]]:
    """The comparisons the study draws between its cases (chapter 11), as (case A, case B) names;
    ``null`` = the null predictor."""
    c = lambda x: x.format(s=sample)  # noqa: E731
    return [(c("white_light_{s}_none"), c("five_band_{s}_none")),
            (c("white_light_{s}_keep_centre_24"), c("white_light_{s}_none")),
            (c("white_light_{s}_keep_centre_12"), c("white_light_{s}_keep_centre_24")),
            (c("five_band_{s}_keep_centre_12"), c("white_light_{s}_keep_centre_12")),
            (c("white_light_{s}_mask_centre_12"), c("white_light_{s}_none")),
            (c("white_light_{s}_mask_centre_24"), c("white_light_{s}_mask_centre_12")),
            (c("five_band_{s}_mask_centre_12"), c("white_light_{s}_mask_centre_12")),
            (c("white_light_{s}_mask_centre_24"), c("white_light_{s}_mask_centre_24_shuffled")),
            (c("white_light_{s}_mask_centre_24"), "null"),
            (c("white_light_{s}_mask_centre_24_shuffled"), "null")]


# ------------------------------------------------------------------------------------------- chapter experiments
def _training(profile: Profile, seeds=None) -> Profile:
    if seeds is None:
        return profile
    return dataclasses.replace(profile, training=dataclasses.replace(profile.training, seeds=tuple(seeds)))


def chapter_experiments(chapter: str, profile: Profile | str, diameters=None, seeds=None, masking: str = "retrain",
                        validate_amortised: bool = True, diameters_pc=None) -> list[Experiment]:
    """The experiments a chapter shows on the book's data (the notebooks call this too: one definition for build
    and page). Chapter 7 also runs :func:`truth_test_runs` on surveys of other couplings.

    Parameters
    ----------
    chapter : str
        ``02`` ... ``13`` or the notebook name.
    profile : Profile or str
    diameters : list of int, optional
        Mask diameters (px) of the sweeps (default: the profile's).
    diameters_pc : list of int, optional
        Chapter 10's physical mask diameters in parsec (default: the profile's ``diameters_pc``).
    seeds : list of int, optional
        Seeds (default: the profile's).
    masking : {"retrain", "amortised"}
        How the masking chapters (03, 04) make their curves.
    validate_amortised : bool
        Chapter 03 also trains the other method, to show both curves and their agreement.
    """
    prof = _training(get_profile(profile) if isinstance(profile, str) else profile, seeds)
    exps = _chapter_experiments(chapter[:2], prof, diameters, masking, validate_amortised, diameters_pc)
    return list({e.hash: e for e in exps}.values())


def _chapter_experiments(ch, prof, diameters, masking, validate_amortised, diameters_pc) -> list[Experiment]:
    if ch in ("01",):
        return []
    if ch == "02":
        return case_experiments(["five_band_full_none", "five_band_restricted_none"], prof)
    if ch in ("03", "04"):
        kind = "mask_centre" if ch == "03" else "keep_centre"
        methods = [masking] + ([m for m in ("retrain", "amortised") if m != masking]
                               if ch == "03" and validate_amortised else [])
        return [e for m in methods for i in ("five_band", "white_light") for s in ("full", "restricted")
                for e in masking_sweep(kind, i, s, prof, diameters, masking=m)]
    if ch in ("05", "11"):
        return case_experiments(fig5_cases(), prof)
    if ch == "06":
        return [e for g in ("near", "far") for e in masking_sweep("mask_centre", "five_band", "full", prof,
                                                                  diameters, group=g)]
    if ch == "07":  # on the book's own (coupling 1) survey: the 5-band model compared with the truth
        return case_experiments(["five_band_full_none", *TRUTH_CASES], prof)
    if ch == "08":
        return [e for sp in SPLIT_STRATEGIES for e in case_experiments(SPLIT_CASES, prof, split=sp)]
    if ch == "09":
        return attribution_models(prof) + masking_sweep("mask_centre", "five_band", "full", prof, diameters)
    if ch == "10":
        dpc = tuple(diameters_pc) if diameters_pc is not None else prof.diameters_pc
        return [e for g in ("near", "far") for e in
                masking_sweep("mask_centre", "five_band", "full", prof, diameters, group=g)
                + masking_sweep("mask_centre", "five_band", "full", prof, dpc, group=g, diameter_unit="pc")]
    if ch == "12":
        return case_experiments(["five_band_full_none"], prof)
    if ch == "13":
        return [e for n in NORMALISATION_VARIANTS for e in case_experiments(NORMALISATION_CASES, prof,
                                                                             normalisation=n)]
    raise ValueError(f"unknown chapter {ch!r}; chapters: {', '.join(CHAPTERS)}")


def attribution_models(profile: Profile) -> list[Experiment]:
    """Chapter 9's models, kept in the store for attribution maps: the 5-band full-sample network (first seed)."""
    return case_experiments(["five_band_full_none"], _training(profile, profile.training.seeds[:1]))


def truth_test_runs(profile: Profile | str, seeds=None, root: str | os.PathLike | None = None,
                    progress: bool = True) -> list[tuple[float, Path, list[Experiment]]]:
    """Chapter 7's injection-recovery surveys: for each coupling in :data:`COUPLINGS`, the profile's mock survey
    made with that coupling (same seed otherwise; made and curated if absent) and the environment-only cases to
    run on it. Returns (coupling, cutout file, experiments)."""
    from .curation import ensure_default_cutouts

    prof = _training(get_profile(profile) if isinstance(profile, str) else profile, seeds)
    root = Path(root) if root else ROOT / "data"
    return [(c, ensure_default_cutouts(prof.name, root=root, environment_coupling=c, progress=progress),
             case_experiments(list(TRUTH_CASES), prof)) for c in COUPLINGS]


def all_experiments(profile: Profile | str) -> list[Experiment]:
    """Every experiment of the book's chapters on its main data, without duplicates (chapter 7's surveys of other
    couplings are in :func:`truth_test_runs`)."""
    exps = [e for ch in CHAPTERS for e in chapter_experiments(ch, profile)]
    return list({e.hash: e for e in exps}.values())


# ------------------------------------------------------------------------------------------- chapter context
@dataclasses.dataclass
class Chapter:
    """What a notebook needs: the profile, the cutout file, the store, and how to run and summarise.

    Create with :func:`chapter`.
    """

    profile: Profile
    data_path: Path
    store_root: Path
    parameters: dict

    @property
    def data(self):
        from .cutouts import open_cutouts

        if not hasattr(self, "_data"):
            self._data = open_cutouts(self.data_path)
        return self._data

    @property
    def is_mock(self) -> bool:
        return self.data.is_mock

    @property
    def store(self):
        from .store import ResultsStore

        return ResultsStore(self.store_root)

    def run(self, experiments: list[Experiment], progress: bool = True) -> pd.DataFrame:
        """Train what the store lacks and return the scores (one row per experiment)."""
        from .execution import run_experiments

        return run_experiments(experiments, self.data_path, self.store_root, progress=progress)

    def summary(self, scores: pd.DataFrame) -> pd.DataFrame:
        """Mean, spread and CI over seeds per case."""
        from .metrics import summarise_seeds

        return summarise_seeds(scores)

    def header(self):
        """A Markdown block stating the profile, data source and parameters the page was built with."""
        from IPython.display import Markdown


        d = self.data
        src = {"mock": "the **mock PHANGS-HST survey** (synthetic data with known truth)",
               "phangs": "real PHANGS-HST products", "study": "the study's own cutout file"}.get(d.source, d.source)
        extra = ""
        if d.is_mock:
            params = json.loads(d.attrs.get("parameters", "{}")).get("mock") or {}
            extra = (f" (seed {params.get('seed')}, fraction {params.get('fraction')}, environment coupling "
                     f"{params.get('environment_coupling')})")
        p = ", ".join(f"`{k}={v!r}`" for k, v in self.parameters.items()) or "defaults"
        warn = ("\n\n```{admonition} Synthetic data\n:class: warning\nEvery figure and number on this page is "
                "built from the mock survey, not from real PHANGS-HST images. Compare *trends* with the study, "
                "not values.\n```" if d.is_mock else "")
        t = self.profile.training
        return Markdown(
            f"**Built with** profile `{self.profile.name}` (CNN width {t.width:g}, ≤ {t.epochs} epochs, "
            f"patience {t.patience}, {len(t.seeds)} seed(s)) on {src}{extra}: {d.n} clusters, "
            f"`{Path(self.data_path).name}`. Parameters: {p}.{warn}")


def chapter(profile: str = "laptop", data: str | None = None, store: str | None = None, **parameters) -> Chapter:
    """The context of a chapter: makes the profile's default data if ``data`` is None."""
    from .curation import ensure_default_cutouts

    prof = get_profile(profile)
    data_path = Path(data) if data else ensure_default_cutouts(profile, root=ROOT / "data")
    store_root = Path(store) if store else ROOT / "results" / (profile if not data else f"{profile}-{Path(data).stem}")
    return Chapter(prof, data_path, store_root, {k: v for k, v in parameters.items() if v is not None})


# ------------------------------------------------------------------------------------------- building
def _stage(src_dir: Path) -> None:
    src_dir.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, src_dir / name)
    if (src_dir / "book").exists():
        shutil.rmtree(src_dir / "book")
    shutil.copytree(ROOT / "book", src_dir / "book")
    (src_dir / "notebooks").mkdir(exist_ok=True)


def build_book(profile: str = "laptop", chapters=None, parameters: dict | None = None, data: str | None = None,
               build_dir: str | os.PathLike | None = None, store: str | None = None, progress: bool = True,
               warnings_as_errors: bool = True) -> Path:
    """Execute the chapters with papermill and build the HTML book; returns the index page's path.

    Parameters
    ----------
    profile : str
        ``smoke``, ``laptop`` or ``paper``.
    chapters : list of str, optional
        Only (re-)execute these (``03`` or ``03_inner_masking``); the others are executed only if never built.
    parameters : dict, optional
        Notebook parameters for the chapters executed (e.g. ``{"diameters": [0, 4, 8]}``).
    data : str, optional
        A cutout file (real products or the study's file) instead of the mock survey.
    build_dir : path-like
        Default ``_build`` in the project root.
    store : str, optional
        Results store (default ``results/<profile>``).
    """
    import papermill as pm
    from tqdm.auto import tqdm

    from .execution import run_experiments

    parameters = dict(parameters or {})
    build = Path(build_dir) if build_dir else ROOT / "_build"
    src = build / "book-src"
    t_start = time.perf_counter()
    ctx = chapter(profile, data, store)
    wanted = list(CHAPTERS)
    if chapters:
        sel = [c[:2] for c in chapters]
        bad = [c for c in sel if c not in [x[:2] for x in CHAPTERS]]
        if bad:
            raise ValueError(f"unknown chapter(s) {bad}; chapters: {', '.join(CHAPTERS)}")
        wanted = [c for c in CHAPTERS if c[:2] in sel or not (src / "notebooks" / f"{c}.ipynb").exists()]
    # 1. every training of the chapters to be executed, with one bar and ETA
    chapter_params = {k: v for k, v in parameters.items() if k in ("diameters", "seeds", "masking", "diameters_pc")}
    exps = [e for c in wanted for e in chapter_experiments(c, ctx.profile, **chapter_params)]
    exps = list({e.hash: e for e in exps}.values())
    t0 = time.perf_counter()
    run_experiments(exps, ctx.data_path, ctx.store_root, progress=progress)
    timings = {"trainings": round(time.perf_counter() - t0, 1)}
    if any(c.startswith("09") for c in wanted):  # models kept for attribution maps
        run_experiments(attribution_models(ctx.profile), ctx.data_path, ctx.store_root, progress=progress,
                        save_models=True)
    if any(c.startswith("07") for c in wanted):  # the injection-recovery surveys (mock, any coupling)
        t1 = time.perf_counter()
        for _, path, runs in truth_test_runs(ctx.profile, chapter_params.get("seeds"), progress=progress):
            run_experiments(runs, path, ctx.store_root, progress=progress)
        timings["truth_test_surveys_and_trainings"] = round(time.perf_counter() - t1, 1)
    timings["trainings"] = round(time.perf_counter() - t0, 1)
    # 2. execute notebooks; their kernels inherit our environment, and MPLBACKEND=Agg (set by test runners or
    # headless shells) would make plt.show() emit no figure, so force the inline backend for them
    _stage(src)
    old_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        for c in tqdm(wanted, desc="chapters", unit="notebook", disable=not progress):
            nb_params = {"profile": profile, "data": str(ctx.data_path) if data else None,
                         "store": str(ctx.store_root), **parameters}
            t1 = time.perf_counter()
            out = src / "notebooks" / f"{c}.ipynb"
            tmp = out.with_suffix(".part.ipynb")
            pm.execute_notebook(ROOT / "notebooks" / f"{c}.ipynb", tmp, parameters=nb_params,
                                kernel_name="python3", cwd=str(ROOT), progress_bar=False)
            os.replace(tmp, out)
            timings[c] = round(time.perf_counter() - t1, 1)
    finally:
        if old_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old_backend
    # 3. jupyter-book
    t2 = time.perf_counter()
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if jb is None:
        raise RuntimeError("jupyter-book is not installed; install the book extra: pip install -e '.[book]'")
    cmd = [jb, "build", str(src), "--path-output", str(build)]
    if warnings_as_errors:
        cmd += ["-W", "-n", "--keep-going"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed (exit {res.returncode}):\n{res.stdout[-4000:]}\n"
                           f"{res.stderr[-4000:]}")
    timings["jupyter-book"] = round(time.perf_counter() - t2, 1)
    timings["total"] = round(time.perf_counter() - t_start, 1)
    # a partial rebuild keeps the other chapters' last notebook times
    tpath = build / "timings.json"
    old = json.loads(tpath.read_text()) if tpath.exists() else {}
    kept = {c: old[c] for c in CHAPTERS if c in old and old.get("profile") == profile}
    with atomic_path(tpath) as tmp:
        tmp.write_text(json.dumps({"profile": profile, **kept, **timings}, indent=2))
    return build / "_build" / "html" / "index.html"


def measured_cost(profile: str, store: str | os.PathLike | None = None, build_dir: str | os.PathLike | None = None
                  ) -> pd.DataFrame:
    """What the last build of a profile cost, per chapter, from the store's recorded wall times.

    Each result record is charged to the first chapter that needs it (chapter 7's surveys of other couplings to
    chapter 7; chapter 9's kept model is its own one-seed record). An amortised
    model's training time is shared among the diameters it is evaluated at, so ``training_min`` sums correctly.
    Notebook times come from ``<build>/timings.json``. Returns one row per chapter (result records, training
    minutes, notebook seconds) and a total.
    """
    from .curation import default_cutouts_path
    from .cutouts import open_cutouts
    from .store import ResultsStore, record_key

    prof = get_profile(profile)
    store_root = Path(store) if store else ROOT / "results" / profile
    st = ResultsStore(store_root)
    timings_path = (Path(build_dir) if build_dir else ROOT / "_build") / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    main = default_cutouts_path(profile, root=ROOT / "data")
    if not main.exists():
        raise FileNotFoundError(f"{main}: no {profile} build to account for; run `clusterage book --profile "
                                f"{profile}` first")
    main_fp = open_cutouts(main).fingerprint()
    seen: set[str] = set()
    rows = []

    def charge(exps, fp):
        keys = [record_key(e.hash, fp) for e in exps]
        keys = [k for k in dict.fromkeys(keys) if k not in seen and st.has(k)]
        seen.update(keys)
        return len(keys), sum(st.get(k).get("wall_time_s", 0.0) for k in keys)

    for c in CHAPTERS:
        n, secs = charge(chapter_experiments(c, prof), main_fp)
        if c.startswith("07"):
            for cpl in COUPLINGS:
                if cpl == 1.0:
                    continue
                path = default_cutouts_path(profile, root=ROOT / "data", environment_coupling=cpl)
                if path.exists():
                    n2, s2 = charge(case_experiments(list(TRUTH_CASES), prof), open_cutouts(path).fingerprint())
                    n, secs = n + n2, secs + s2
        rows.append({"chapter": c, "records": n, "training_min": round(secs / 60, 1),
                     "notebook_s": timings.get(c)})
    df = pd.DataFrame(rows)
    total = {"chapter": "total", "records": int(df["records"].sum()),
             "training_min": round(df["training_min"].sum(), 1),
             "notebook_s": round(sum(v for v in df["notebook_s"] if v is not None), 1)}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    df.attrs["timings"] = timings
    return df


def plan(profile: str, gpu_speedup: float | None = None, n_steps: int = 20) -> pd.DataFrame:
    """Estimate the trainings and time per chapter from this machine's measured training throughput.

    Throughput is measured on random inputs with the profile's network (5-band and white light); a training is
    costed at ``n_train x epochs x (4 if rotations == 'all' else 1)`` samples (an upper bound: early stopping
    usually ends sooner), with ``n_train`` from the profile's mock survey size.
    """
    import numpy as np

    from .model import build_cnn
    from .reference import galaxies
    from .training import _configure_tf

    prof = get_profile(profile)
    t = prof.training
    _configure_tf(0)
    speed = {}
    for c, name in ((5, "five_band"), (1, "white_light")):
        m = build_cnn((112, 112, c), width=t.width, learning_rate=1e-3)
        x = np.random.default_rng(0).random((t.batch_size * n_steps, 112, 112, c), dtype=np.float32)
        y = np.zeros(len(x), np.float32)
        m.fit(x[:t.batch_size * 2], y[:t.batch_size * 2], batch_size=t.batch_size, verbose=0)
        t0 = time.perf_counter()
        m.fit(x, y, batch_size=t.batch_size, verbose=0)
        speed[name] = len(x) / (time.perf_counter() - t0)
    g = galaxies()
    n_all = sum(round(prof.fraction * g.loc[x, "n_clusters"]) for x in prof.galaxies)
    frac = {"full": 1.0, "restricted": 0.5, "near": 0.23, "far": 0.3}
    rows = []
    seen: set[str] = set()
    for c in CHAPTERS:
        exps = [e for e in chapter_experiments(c, prof) if e.hash not in seen]
        seen |= {e.hash for e in exps}
        if c.startswith("07"):  # the surveys of other couplings
            exps += [e for cpl in COUPLINGS if cpl != 1.0 for e in case_experiments(list(TRUTH_CASES), prof)]
        if c.startswith("09"):  # trained again to keep the model
            exps += attribution_models(prof)
        secs = 0.0
        for e in exps:
            n_train = 0.7 * n_all * frac[e.sample] * (frac[e.group] if e.group else 1.0)
            secs += n_train * t.epochs * (4 if t.rotations == "all" else 1) / speed[e.input]
        row = {"chapter": c, "new_trainings": len(exps), "cpu_minutes_max": round(secs / 60, 1)}
        if gpu_speedup:
            row["gpu_minutes_max"] = round(secs / 60 / gpu_speedup, 1)
        rows.append(row)
    df = pd.DataFrame(rows)
    total = {"chapter": "total", "new_trainings": int(df["new_trainings"].sum()),
             "cpu_minutes_max": round(df["cpu_minutes_max"].sum(), 1)}
    if gpu_speedup:
        total["gpu_minutes_max"] = round(df["gpu_minutes_max"].sum(), 1)
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    df.attrs["samples_per_s"] = {k: round(v) for k, v in speed.items()}
    return df
