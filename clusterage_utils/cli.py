"""The ``clusterage`` command line: ``mock``, ``curate``, ``fetch-phangs``, ``run``, ``book``, ``plan``, ``cost``,
``health``.

Every sub-command is a thin wrapper over the package's API; ``clusterage <cmd> --help`` lists its options. Arguments
are checked where they are parsed (a wrong one exits with status 2 and a message naming it and the expected form).
SIGTERM and SIGINT stop a command cleanly: worker processes end, temporary files are removed, finished results
stay, and the same command resumes (exit status 128 + the signal's number).
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

#: Notebook parameters that are lists of non-negative integers, with their unit.
_INTEGER_LIST_PARAMETERS = {"diameters": "px", "diameters_pc": "pc", "seeds": "seed"}


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM (SIGINT raises KeyboardInterrupt), so cleanup code runs."""


def _on_sigterm(signum, frame):
    raise Interrupted(signum)


def _profile(name: str):
    """``--profile``: the profile of that name, resolved once here (an unknown name is a usage error)."""
    from .engine.profiles import get_profile

    try:
        return get_profile(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _number(kind, low, high=None, low_open=False, what="a number"):
    """An argparse type: ``kind`` (int or float), finite, in [low, high] (or (low, high] with ``low_open``)."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(v) or (v <= low if low_open else v < low) or (high is not None and v > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range: expected {what}")
        return v
    return parse


_positive_int = _number(int, 1, what="an integer >= 1")
_seed = _number(int, 0, what="an integer >= 0")
_fraction = _number(float, 0, 1, low_open=True, what="a fraction in (0, 1]")
_coupling = _number(float, 0, 1, what="a number in [0, 1]")


def _cutout_size(text: str) -> int:
    v = _number(int, 8, what="an even number of pixels >= 8")(text)
    if v % 2:
        raise argparse.ArgumentTypeError(f"{v} is odd: expected an even number of pixels >= 8 (the study: 112)")
    return v


def _chapter(text: str) -> str:
    from .analysis.chapters import chapter_notebook

    try:
        return chapter_notebook(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _scheduler(text: str) -> str:
    from .engine.execution import SCHEDULERS

    if text in SCHEDULERS or "://" in text:
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: expected one of {', '.join(SCHEDULERS)} or a Dask scheduler "
                                     f"address (tcp://host:8786)")


def _existing(kind: str):
    """An argparse type: the path of an existing ``kind`` ("folder" or "file")."""
    def parse(text: str) -> str:
        if not (Path(text).is_dir() if kind == "folder" else Path(text).is_file()):
            raise argparse.ArgumentTypeError(f"{text} is not an existing {kind}")
        return text
    return parse


def _parameter(text: str) -> tuple[str, object]:
    """``NAME=YAML_VALUE`` (``-p diameters='[0, 4, 8]'``) to (name, value)."""
    import yaml

    form = "expected NAME=YAML_VALUE, e.g. -p diameters='[0, 4, 8]'"
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"parameter {text!r} is not NAME=VALUE; {form}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        where = str(getattr(e, "problem", "") or e).splitlines()[0]
        raise argparse.ArgumentTypeError(f"parameter {name!r}: {raw!r} is not a YAML value ({where}); "
                                         f"{form}") from None
    unit = _INTEGER_LIST_PARAMETERS.get(name)
    if unit is not None:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise argparse.ArgumentTypeError(f"parameter {name!r}: expected a list of integers ({unit}), e.g. "
                                             f"-p {name}='[0, 4, 8]'; got {raw!r}")
        negative = [v for v in value if v < 0]
        if negative:
            raise argparse.ArgumentTypeError(f"parameter {name!r}: {negative[0]} is negative; every "
                                             f"{'seed' if unit == 'seed' else 'diameter'} must be >= 0")
    return name, value


def _cmd_mock(a) -> int:
    from .survey.mock import MockSurveyConfig, make_mock_survey

    cfg = MockSurveyConfig(seed=a.seed, fraction=a.fraction if a.fraction is not None else a.profile.fraction,
                           environment_coupling=a.coupling,
                           galaxies=tuple(a.galaxies) if a.galaxies else a.profile.galaxies, nebular=a.nebular)
    import time
    t0 = time.perf_counter()
    out = make_mock_survey(a.out, cfg, overwrite=a.overwrite)
    from .survey.mock import read_manifest
    n = read_manifest(out)["n_clusters"]
    dt = time.perf_counter() - t0
    print(f"mock survey: {n} clusters in {len(cfg.galaxies)} galaxies -> {out} ({dt:.1f} s, {n / dt:.0f} clusters/s)")
    if a.preview:
        from .analysis.preview import mock_preview

        mock_preview(out, Path(out) / "preview")
        print(f"preview PNGs in {Path(out) / 'preview'}")
    return 0


def _cmd_curate(a) -> int:
    from .survey.curation import CurationConfig, curate

    cfg = CurationConfig(size_px=a.size, classes=tuple(a.classes), classifier=a.classifier,
                         include_associations=3 in a.classes, age_column=a.age_column,
                         galaxies=tuple(a.galaxies) if a.galaxies else None,
                         compression=None if a.compression == "none" else a.compression)
    summary = curate(a.products, a.out, cfg, overwrite=a.overwrite)
    print(summary.to_string(index=False))
    return 0


def _cmd_fetch(a) -> int:
    from .survey.fetch import MAST_CAT_BUNDLE_BASE, MAST_HST_BASE, fetch_phangs

    fetch_phangs(a.galaxies, a.dest, hst_base=a.hst_base or MAST_HST_BASE, cat_base=a.cat_base or
                 MAST_CAT_BUNDLE_BASE, mirror=a.mirror)
    print(f"fetched into {a.dest}; next: clusterage curate --products {a.dest} --out cutouts.h5")
    return 0


def _cmd_run(a) -> int:
    from .engine.execution import run_experiments
    from .engine.experiments import named_experiments
    from .engine.store import ResultsStore
    from .paths import default_store_path
    from .survey.curation import ensure_default_cutouts

    data = Path(a.data) if a.data else ensure_default_cutouts(a.profile)
    exps = [e for name in a.experiments for e in named_experiments(name, a.profile)]
    store = a.store or default_store_path(a.profile.name, a.data)
    df = run_experiments(exps, data, store, scheduler=a.scheduler, n_workers=a.workers)
    cols = [c for c in ("name", "seed", "test_scatter_dex", "null_scatter_dex", "predictive_power_pct",
                        "wall_time_s") if c in df]
    print(df[cols].to_string(index=False))
    for line in _store_notes(ResultsStore(store), data, hashes={e.hash for e in exps}, set_aside=False):
        print(f"note: {line}")
    return 0


def _store_notes(store, data, hashes=None, set_aside: bool = True) -> list[str]:
    """Plain lines on what a store holds beside the usable records of ``data``: records set aside as invalid, and
    records made on an earlier version of the same file (fingerprint differs); ``hashes``: only those
    experiments'."""
    from .survey.cutouts import open_cutouts

    cf = open_cutouts(data)
    lines = []
    aside = store.set_aside() if set_aside else {}
    if aside:
        lines.append(f"{len(aside)} record(s) set aside as invalid (they count as missing; a run trains them again): "
                     + ", ".join(str(p) for p in list(aside)[:5]) + (" ..." if len(aside) > 5 else ""))
    stale = store.stale(cf, hashes)
    if stale:
        lines.append(f"{len(stale)} record(s) in {store.root} were made on an earlier version of {cf.path} (its "
                     f"content changed; fingerprint today {cf.fingerprint()}): they are kept, but they are not "
                     f"results of this file")
    return lines


def _existing_store(path):
    """The results store at ``path``; an error naming it if there is none (a reading command creates nothing)."""
    from .engine.store import ResultsStore

    if not (Path(path) / "store.json").exists():
        raise FileNotFoundError(f"{path}: no results store here (no store.json); give --store the folder a run or "
                                f"build wrote")
    return ResultsStore(path)


def _cmd_book(a) -> int:
    from .book.build import build_book

    index = build_book(profile=a.profile, chapters=a.chapter, parameters=dict(a.parameter or []),
                       data=a.data, timeout_s=a.timeout)
    print(f"book built: {index}")
    if a.publish:
        from .book.build import publish_site

        print(f"site ready to publish: {publish_site(a.profile.name, data=a.data)}")
    return 0


def _cmd_health(a) -> int:
    import pandas as pd

    from .analysis.chapters import all_experiments
    from .analysis.health import health_report, health_summary
    from .engine.store import record_key
    from .paths import default_cutouts_path, default_store_path
    from .survey.cutouts import open_cutouts

    data = Path(a.data) if a.data else default_cutouts_path(a.profile.name)
    store = _existing_store(a.store or default_store_path(a.profile.name, a.data))
    fp = open_cutouts(data).fingerprint()
    keys = [k for k in dict.fromkeys(record_key(e.hash, fp) for e in all_experiments(a.profile)) if store.has(k)]
    notes = _store_notes(store, data)
    if not keys:
        raise FileNotFoundError(f"{store.root}: no records of the {a.profile.name} book on {data.name}; build it "
                                f"first" + "".join(f". {n}" for n in notes))
    report = health_report(store.scores(keys), store)
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(health_summary(report).to_string(index=False))
        flagged = report["runs"][report["runs"][["worse_than_null", "stuck_at_start", "still_improving"]].any(axis=1)]
        if len(flagged):
            print("\nflagged runs:")
            print(flagged[["name", "test_scatter_dex", "null_scatter_dex", "epochs_run", "best_epoch",
                           "worse_than_null", "stuck_at_start", "still_improving"]].round(3).to_string(index=False))
        if len(report["violations"]):
            print("\nmonotonicity violations:")
            print(report["violations"].round(3).to_string(index=False))
    for line in notes:
        print(f"\nnote: {line}")
    return 0


def _cmd_plan(a) -> int:
    from .book.cost import plan

    df = plan(a.profile.name, measured=a.measured)
    print(df.to_string(index=False))
    print(f"speeds (samples/s, train / predict): {df.attrs['samples_per_s']} - {df.attrs['speed_source']}")
    return 0


def _cmd_cost(a) -> int:
    from .book.cost import measured_cost

    if a.store:
        _existing_store(a.store)
    if a.build_dir and not (Path(a.build_dir) / "timings.json").exists():
        raise FileNotFoundError(f"{a.build_dir}: no timings.json; give --build-dir the folder a book build wrote "
                                f"(default _build)")
    df = measured_cost(a.profile.name, a.store, a.build_dir)
    print(df.to_string(index=False))
    t = df.attrs["timings"]
    if t:
        print(f"last build ({t.get('profile')}): trainings {t.get('trainings')} s, jupyter-book "
              f"{t.get('jupyter-book')} s, total {t.get('total')} s")
    return 0


def _data_commands(sub) -> None:
    """The sub-commands that make, fetch and curate data: ``mock``, ``curate``, ``fetch-phangs``."""
    m = sub.add_parser("mock", help="make the mock PHANGS-HST survey (FITS mosaics + catalogues with truth)")
    m.add_argument("--out", required=True, help="output directory (refused if it exists, unless --overwrite)")
    m.add_argument("--profile", default="laptop", type=_profile,
                   help="smoke | laptop | paper: sets fraction and galaxies")
    m.add_argument("--seed", type=_seed, default=0)
    m.add_argument("--fraction", type=_fraction, help="fraction of Table 1's N per galaxy, in (0, 1]")
    m.add_argument("--coupling", type=_coupling, default=1.0, help="environment_coupling in [0, 1]")
    m.add_argument("--galaxies", nargs="+", help="Table 1 ids, e.g. NGC_628C IC_5332")
    m.add_argument("--nebular", action="store_true", help="nebular emission below 10 Myr")
    m.add_argument("--overwrite", action="store_true")
    m.add_argument("--preview", action="store_true", help="also save preview PNGs (mosaic, cutout gallery)")
    m.set_defaults(func=_cmd_mock)

    c = sub.add_parser("curate", help="PHANGS-HST products (real or mock) to a cutout file")
    c.add_argument("--products", required=True, help="folder with one sub-folder per galaxy")
    c.add_argument("--out", required=True, help="HDF5 cutout file to write")
    c.add_argument("--size", type=_cutout_size, default=112, help="cutout width in px, even (default 112)")
    c.add_argument("--classes", type=int, nargs="+", default=[1, 2], choices=[1, 2, 3],
                   help="kept classes: 1, 2 (clusters), 3 (compact associations); default 1 2")
    c.add_argument("--classifier", default="human", choices=["human", "machine"])
    c.add_argument("--age-column", help="force the age column (Myr)")
    c.add_argument("--galaxies", nargs="+")
    c.add_argument("--compression", default="lzf", choices=["lzf", "gzip", "none"])
    c.add_argument("--overwrite", action="store_true")
    c.set_defaults(func=_cmd_curate)

    f = sub.add_parser("fetch-phangs", help="download real PHANGS-HST products from MAST (needs network)")
    f.add_argument("--galaxies", nargs="+", required=True)
    f.add_argument("--dest", required=True)
    f.add_argument("--mirror", help="a local directory (or file:// URL) holding the files")
    f.add_argument("--hst-base")
    f.add_argument("--cat-base")
    f.set_defaults(func=_cmd_fetch)


def _book_commands(sub) -> None:
    """The sub-commands that train, build and account: ``run``, ``book``, ``health``, ``plan``, ``cost``."""
    r = sub.add_parser("run", help="train a named set of experiments into the results store")
    r.add_argument("--profile", default="laptop", type=_profile)
    r.add_argument("--experiments", nargs="+", required=True,
                   help="case names (e.g. five_band_full, fig4) or sweeps (inner_sweep, outer_sweep)")
    r.add_argument("--data", help="cutout file (default: the profile's mock survey)")
    r.add_argument("--store", help="results store directory (default results/<profile>)")
    r.add_argument("--scheduler", default="auto", type=_scheduler,
                   help="auto | pool (worker processes, one per core) | inprocess | dask-local | tcp://host:port")
    r.add_argument("--workers", type=_positive_int, default=None,
                   help="worker processes >= 1 (default: one per core)")
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("book", help="execute the notebooks and build the HTML book")
    b.add_argument("--profile", default="laptop", type=_profile)
    b.add_argument("--chapter", nargs="+", type=_chapter,
                   help="only these chapters: a number (03) or a full name (03_inner_masking)")
    b.add_argument("-p", "--parameter", action="append", type=_parameter,
                   help="notebook parameter NAME=YAML_VALUE, e.g. -p diameters='[0, 4, 8]'")
    b.add_argument("--data", help="cutout file to use instead of the mock survey")
    b.add_argument("--timeout", type=_positive_int, default=1800, help="longest a notebook cell may run, seconds")
    b.add_argument("--publish", action="store_true",
                   help="also make _build/publish: the static site with the results store as a download")
    b.set_defaults(func=_cmd_book)

    h = sub.add_parser("health", help="are the book's trainings fit for its figures? (checks from the store)")
    h.add_argument("--profile", default="laptop", type=_profile)
    h.add_argument("--data", help="cutout file (default: the profile's mock survey)")
    h.add_argument("--store", help="results store (default results/<profile>)")
    h.set_defaults(func=_cmd_health)

    pl = sub.add_parser("plan", help="estimate the number of trainings and time per chapter")
    pl.add_argument("--profile", default="laptop", type=_profile)
    pl.add_argument("--measured", type=_existing("file"),
                    help="a benchmarks/bench_gpu.py table (gpu.csv) measured on the machine to plan for (default: "
                    "measure this machine)")
    pl.set_defaults(func=_cmd_plan)

    co = sub.add_parser("cost", help="what the last build cost per chapter, measured (store wall times)")
    co.add_argument("--profile", default="laptop", type=_profile)
    co.add_argument("--store", help="results store (default results/<profile>)")
    co.add_argument("--build-dir", type=_existing("folder"), help="build folder with timings.json (default _build)")
    co.set_defaults(func=_cmd_cost)


def build_parser() -> argparse.ArgumentParser:
    """The ``clusterage`` argument parser, one sub-command per task."""
    p = argparse.ArgumentParser(prog="clusterage", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    _data_commands(sub)
    _book_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (0, 2 for an error, 128 + the signal's number when stopped)."""
    import warnings

    from .engine.runtime import prepare_environment

    prepare_environment()  # before anything imports TensorFlow: quiet log, oneDNN kernels on x86-64
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:   # argparse printed the usage and what is wrong (or the help)
        return int(e.code or 0)
    old = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *_a, **_k: print(f"clusterage {args.cmd}: warning: {message}",
                                                                   file=sys.stderr)
            return args.func(args)
    except (ValueError, OSError, RuntimeError) as e:
        print(f"clusterage {args.cmd}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        signum = e.args[0] if isinstance(e, Interrupted) else signal.SIGINT
        kept = "finished results are kept" if args.cmd in ("run", "book") else "nothing was written"
        print(f"\nclusterage {args.cmd}: stopped by {signal.Signals(signum).name}; {kept} and temporary files "
              f"removed: run the same command again to {'resume' if args.cmd in ('run', 'book') else 'redo it'}",
              file=sys.stderr)
        return 128 + int(signum)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
