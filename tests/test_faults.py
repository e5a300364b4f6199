"""Faults and bad input, tried as a hostile user would (issue 26). Every case ends in a named error or a correct
result: the exit status is asserted, the message names the object, and no stale result, no orphaned process and no
partial file is left."""
import fcntl
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from clusterage_utils.cli import main

CLI = [sys.executable, "-m", "clusterage_utils.cli"]


def leftovers(*folders) -> list[Path]:
    """Temporary files or folders (``*.part*``) anywhere below ``folders``."""
    return [p for f in folders if Path(f).exists() for p in Path(f).rglob("*") if ".part" in p.name]


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (read from /proc; psutil is not a dependency)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def wait_for(condition, timeout_s: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def run_cli(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def smoke_copy(smoke_cutouts, tmp_path):
    p = tmp_path / "data" / "cutouts.h5"
    p.parent.mkdir()
    shutil.copy2(smoke_cutouts, p)
    return p


@pytest.fixture
def toy_copy(toy_file, tmp_path):
    p = tmp_path / "toy.h5"
    shutil.copy2(toy_file, p)
    return p


# ------------------------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize("argv, names", [
    (["book", "--profile", "smoke", "--chapter", "04_inner_masking"], ["04_inner_masking", "04_outer_masking"]),
    (["run", "--experiments", "five_band_full_none", "--workers", "0"], ["--workers", ">= 1"]),
    (["run", "--experiments", "five_band_full_none", "--workers", "-1"], ["--workers", ">= 1"]),
    (["run", "--experiments", "five_band_full_none", "--scheduler", "slurm"], ["--scheduler", "slurm"]),
    (["plan", "--measured", "{tmp}/gpu.csv"], ["--measured", "gpu.csv", "not an existing file"]),
    (["mock", "--out", "{tmp}/m", "--coupling", "nan"], ["--coupling", "[0, 1]"]),
    (["cost", "--build-dir", "{tmp}/nonexistent"], ["--build-dir", "nonexistent"]),
    (["cost", "--build-dir", "{tmp}"], ["{tmp}", "timings.json"]),
    (["cost", "--store", "{tmp}/nostore"], ["nostore", "no results store"]),
    (["health", "--profile", "smoke", "--data", "{toy}", "--store", "{tmp}/nostore"], ["nostore", "no results store"]),
    (["book", "--chapter", "03", "-p", "diameters=[0, 4"], ["'diameters'", "NAME=YAML_VALUE"]),
    (["book", "--chapter", "03", "-p", "diameters=[0, -4]"], ["'diameters'", "-4 is negative"]),
    (["book", "--chapter", "03", "-p", "diameters=4"], ["'diameters'", "list of integers"]),
    (["book", "--chapter", "03", "-p", "=4"], ["NAME=VALUE"]),
    (["book", "--timeout", "0"], ["--timeout", ">= 1"]),
    (["run", "--profile", "smoke", "--experiments", "five_band_full_mask_centre_-4", "--data", "{toy}", "--store",
      "{tmp}/s"], ["mask_centre_-4", "negative"]),
    (["curate", "--products", "{tmp}", "--out", "{tmp}/c.h5", "--classes", "9"], ["--classes", "9"]),
    (["curate", "--products", "{tmp}", "--out", "{tmp}/c.h5", "--size", "113"], ["--size", "113", "even"]),
    (["mock", "--out", "{tmp}/m", "--fraction", "2"], ["--fraction", "(0, 1]"]),
    (["mock", "--out", "{tmp}/m", "--coupling", "-0.5"], ["--coupling", "[0, 1]"]),
    (["mock", "--out", "{tmp}/m", "--seed", "x"], ["--seed", "'x'"]),
])
def test_bad_argument_is_named_where_parsed(tmp_path, capsys, toy_file, argv, names):
    (tmp_path / "keep.txt").write_text("")
    before = sorted(tmp_path.rglob("*"))
    code, text = run_cli([a.format(tmp=tmp_path, toy=toy_file) for a in argv], capsys)
    assert code == 2, text
    for n in names:
        assert n.format(tmp=tmp_path) in text, (n, text)
    assert "Traceback" not in text
    assert sorted(tmp_path.rglob("*")) == before          # nothing written


def test_chapter_number_and_full_name_still_select(capsys):
    from clusterage_utils.cli import build_parser

    a = build_parser().parse_args(["book", "--chapter", "03", "04_outer_masking"])
    assert a.chapter == ["03_inner_masking", "04_outer_masking"]


# ------------------------------------------------------------------------------------------------ data files
@pytest.mark.parametrize("index, band, value", [(5, 2, np.nan), (40, 0, np.inf), (86, 4, -np.inf)])
def test_nan_or_inf_cutout_is_refused_naming_index_and_band(smoke_copy, tmp_path, capsys, index, band, value):
    with h5py.File(smoke_copy, "r+") as f:
        img = f["image_cutouts"][index]
        img[band, 10, 20] = value
        f["image_cutouts"][index] = img
    code, text = run_cli(["run", "--profile", "smoke", "--experiments", "five_band_full_none", "--data", smoke_copy,
                          "--store", tmp_path / "s"], capsys)
    assert code == 2
    band_name = ("F275W", "F336W", "F438W", "F555W", "F814W")[band]
    for n in (smoke_copy.name, "'image_cutouts'", f"index {index}", f"band {band_name}", "finite"):
        assert n in text, (n, text)
    assert not (tmp_path / "s").exists() and not leftovers(tmp_path)


@pytest.mark.slow
def test_changed_file_does_not_get_the_old_results_and_the_store_says_so(toy_copy, tmp_path, capsys):
    from clusterage_utils.engine.experiments import named_experiments
    from clusterage_utils.engine.profiles import get_profile
    from clusterage_utils.engine.store import ResultsStore, record_key
    from clusterage_utils.survey.cutouts import open_cutouts

    assert run_cli(["run", "--profile", "smoke", "--experiments", "five_band_full_none", "--data", toy_copy,
                    "--store", tmp_path / "s"], capsys)[0] == 0
    with h5py.File(toy_copy, "r+") as f:           # every cutout between the first and the last: zero
        f["image_cutouts"][1:-1] = 0
    (exp,) = named_experiments("five_band_full_none", get_profile("smoke"))
    store = ResultsStore(tmp_path / "s")
    assert not store.has(record_key(exp.hash, open_cutouts(toy_copy).fingerprint()))   # a run trains it again
    code, text = run_cli(["health", "--profile", "smoke", "--data", toy_copy, "--store", tmp_path / "s"], capsys)
    assert code == 2 and "1 record(s)" in text and f"earlier version of {toy_copy}" in text, text


# ------------------------------------------------------------------------------------------------ curation
def _products(root, **kw):
    from helpers import write_products

    return write_products(root, "NGC_1566", sources=((200.0, 210.0), (150.0, 160.0), (250.0, 200.0)), **kw)


def _shift_band(folder, band: str, ddeg: float) -> Path:
    from astropy.io import fits

    path = next(folder.glob(f"*_{band.lower()}_v1_exp-drc-sci.fits"))
    with fits.open(path, mode="update") as h:
        h[0].header["CRVAL1"] += ddeg
    return path


@pytest.mark.parametrize("fault", ["nan ra", "band off by 1 degree", "cutouts wider than the mosaic",
                                   "no cluster of the kept class"])
def test_curation_that_would_drop_silently_fails_naming_why(tmp_path, capsys, fault):
    from astropy.table import Table

    folder = _products(tmp_path / "p", classes=[1, 1, 2] if fault != "no cluster of the kept class" else [3, 3, 3])
    argv = ["curate", "--products", tmp_path / "p", "--out", tmp_path / "c.h5"]
    if fault == "nan ra":
        obs = next(folder.glob("*obs-human-cluster-class12.fits"))
        t = Table.read(obs)
        t["PHANGS_DEC"][1] = np.nan
        t.write(obs, overwrite=True)
        names = [obs.name, "NGC_1566", "PHANGS_DEC", "[2]"]
    elif fault == "band off by 1 degree":
        names = [_shift_band(folder, "F814W", 1.0).name, "band F814W", "NGC_1566", "arcsec", "--galaxies"]
    elif fault == "cutouts wider than the mosaic":
        argv += ["--size", "2000"]
        names = ["c.h5", "kept no cluster", "2000 px", "--size"]
    else:
        names = ["c.h5", "kept no cluster", "[1, 2]", "--classes"]
    code, text = run_cli(argv, capsys)
    assert code == 2
    for n in names:
        assert n in text, (n, text)
    assert "Traceback" not in text
    assert not (tmp_path / "c.h5").exists() and not leftovers(tmp_path)


def test_one_band_dropping_most_clusters_warns_naming_it(tmp_path, capsys):
    from astropy.io import fits

    folder = _products(tmp_path / "p")
    sci = next(folder.glob("*_f336w_v1_exp-drc-sci.fits"))
    data = fits.getdata(sci)
    data[:, :150] = np.nan                     # F336W lost under two of the three clusters' cutouts
    fits.PrimaryHDU(data, header=fits.getheader(sci)).writeto(sci, overwrite=True)
    code, text = run_cli(["curate", "--products", tmp_path / "p", "--out", tmp_path / "c.h5"], capsys)
    assert code == 0
    assert "warning" in text and "band F336W alone dropped 2 of the 3" in text and "NGC_1566" in text, text


@pytest.mark.parametrize("where", ["a folder", "below a file", "an unwritable folder"])
def test_wrong_kind_of_output_path_is_named(tmp_path, capsys, where, smoke_survey):
    if where == "a folder":
        out = tmp_path / "out"
        out.mkdir()
    elif where == "below a file":
        (tmp_path / "notes.txt").write_text("")
        out = tmp_path / "notes.txt" / "c.h5"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        if os.access(ro, os.W_OK) and subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode:
            pytest.skip("cannot make an unwritable folder here (root without chattr)")
        out = ro / "c.h5"
    try:
        for argv in (["curate", "--products", smoke_survey, "--out", out],
                     ["mock", "--profile", "smoke", "--out", out]):
            code, text = run_cli(argv, capsys)
            assert code == 2 and str(out) in text and "Traceback" not in text, text
            assert ".part" not in text                # the path asked for, not the temporary
            assert not leftovers(tmp_path)
    finally:
        if where == "an unwritable folder":
            subprocess.run(["chattr", "-i", str(ro)], capture_output=True)
            ro.chmod(0o755)


@pytest.mark.parametrize("command", ["curate", "mock"])
def test_full_disk_is_named_and_leaves_nothing(tmp_path, smoke_survey, command):
    """A write limit (RLIMIT_FSIZE) stands in for a full disk: writes fail half-way with EFBIG."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    out = tmp_path / ("c.h5" if command == "curate" else "m")
    argv = ["curate", "--products", str(smoke_survey)] if command == "curate" else ["mock", "--profile", "smoke"]
    res = subprocess.run(CLI + argv + ["--out", str(out)], capture_output=True, text=True, preexec_fn=limit,
                         timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert f"cannot write {out}" in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert not out.exists() and not leftovers(tmp_path)


# ------------------------------------------------------------------------------------------------ the store
@pytest.fixture(scope="module")
def one_record(toy_file, tmp_path_factory):
    """A store holding one real record (smoke training on the toy file)."""
    from clusterage_utils.engine.execution import run_experiments
    from clusterage_utils.engine.experiments import named_experiments
    from clusterage_utils.engine.profiles import get_profile

    root = tmp_path_factory.mktemp("store") / "s"
    run_experiments(named_experiments("five_band_full_none", get_profile("smoke")), toy_file, root, progress=False)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "without test_scatter_dex and history", "not an object",
                                    "key of another record"])
def test_invalid_record_is_named_set_aside_and_trained_again(one_record, toy_file, tmp_path, capsys, damage):
    from clusterage_utils.engine.store import InvalidRecordError, ResultsStore

    root = tmp_path / "s"
    shutil.copytree(one_record, root)
    store = ResultsStore(root)
    (key,) = store.keys()
    path = store.path(key)
    text = path.read_text()
    if damage == "truncated":
        path.write_text(text[:3000])
    elif damage == "not an object":
        path.write_text("[1, 2]")
    else:
        rec = json.loads(text)
        if damage == "key of another record":
            rec["hash"] = "0" * 16
        else:
            del rec["test_scatter_dex"], rec["history"]
        path.write_text(json.dumps(rec))
    assert not store.has(key) and path in store.set_aside()
    with pytest.raises(InvalidRecordError, match=str(path)):
        store.get(key)
    with pytest.warns(UserWarning, match="set aside"):
        assert len(store.scores()) == 0
    if damage in ("not an object", "key of another record"):
        return                                     # trained again like the others (below): no need to pay twice
    code, out = run_cli(["run", "--profile", "smoke", "--experiments", "five_band_full_none", "--data", toy_file,
                         "--store", root], capsys)
    assert code == 0 and str(path) in out and "set aside" in out, out
    assert store.has(key) and store.set_aside() == {}
    assert json.loads(path.read_text())["test_scatter_dex"] > 0


def test_health_reports_records_set_aside(one_record, toy_file, tmp_path, capsys):
    from clusterage_utils.engine.store import ResultsStore

    root = tmp_path / "s"
    shutil.copytree(one_record, root)
    (key,) = ResultsStore(root).keys()
    bad = root / "records" / f"{'0' * 16}-{key.split('-')[1]}.json"
    bad.write_text("{")
    code, text = run_cli(["health", "--profile", "smoke", "--data", toy_file, "--store", root], capsys)
    assert code == 0, text
    assert "1 record(s) set aside as invalid" in text and str(bad) in text, text


def test_leftover_temporaries_are_ignored_and_cleaned_on_the_next_write(one_record, tmp_path):
    from clusterage_utils._atomic import STALE_AFTER_S, temporary_prefix
    from clusterage_utils.engine.store import ResultsStore

    root = tmp_path / "s"
    shutil.copytree(one_record, root)
    store = ResultsStore(root)
    (key,) = store.keys()
    rec = store.get(key)
    records = root / "records"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()                                              # a pid that no longer runs: a SIGKILLed writer
    killed = records / temporary_prefix(f"{key}.json").replace(str(os.getpid()), str(dead.pid))
    killed = killed.with_name(killed.name + "abc.part.json")
    killed.write_text(json.dumps(rec)[:500])
    old = records / f".{key}.json.xyz.part.json"             # named before writers put their pid in it, 2 h old
    old.write_text("{")
    os.utime(old, (time.time() - 2 * STALE_AFTER_S, time.time() - 2 * STALE_AFTER_S))
    live = records / (temporary_prefix(f"{key}.json") + "def.part.json")   # a live writer's (this process)
    live.write_text("{")
    assert store.keys() == [key] and len(store.scores()) == 1
    store.put(rec)
    assert not killed.exists() and not old.exists() and live.exists()
    live.unlink()


def test_six_processes_create_one_store_at_once(tmp_path):
    from clusterage_utils.engine.store import ResultsStore  # noqa: F401  (imported once, before the forks)

    ctx = multiprocessing.get_context("fork")
    for trial in range(8):
        root = tmp_path / f"s{trial}"
        barrier = ctx.Barrier(6)
        procs = [ctx.Process(target=_create_store, args=(root, barrier)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6, trial
        assert json.loads((root / "store.json").read_text())["store_version"] >= 1
        assert not leftovers(root)


def test_store_json_appearing_while_a_store_is_created_is_its_own(tmp_path, monkeypatch):
    """The interleaving the stress test above hits now and then: this process finds no store.json, another renames
    its store.json into place, this one then lists the folder."""
    from clusterage_utils.engine.store import ResultsStore

    root = tmp_path / "s"
    ResultsStore(root)                                # the other process, done
    real, seen = Path.exists, []

    def exists(self):
        if self.name == "store.json" and not seen:    # checked just before the other's rename
            seen.append(self)
            return False
        return real(self)

    monkeypatch.setattr(Path, "exists", exists)
    ResultsStore(root)
    assert seen


def _create_store(root, barrier):
    from clusterage_utils.engine.store import ResultsStore

    barrier.wait()
    ResultsStore(root)


def test_a_task_locked_by_another_process_is_waited_for_not_trained_twice(one_record, toy_file, tmp_path,
                                                                            monkeypatch):
    import clusterage_utils.engine.execution as ex
    from clusterage_utils.engine.experiments import Experiment
    from clusterage_utils.engine.store import ResultsStore
    from clusterage_utils.survey.cutouts import open_cutouts

    root = tmp_path / "s"
    shutil.copytree(one_record, root)
    store = ResultsStore(root)
    (key,) = store.keys()
    rec = store.get(key)
    store.path(key).unlink()
    exp = Experiment.from_dict(rec["experiment"])
    data = open_cutouts(toy_file)
    ctx = multiprocessing.get_context("fork")
    holding, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_train_under_lock, args=(root, f"{ex._task_key(exp)}-{data.fingerprint()}", rec,
                                                        holding, release))
    other.start()
    assert holding.wait(30)
    trained, waited = [], []
    monkeypatch.setattr(ex, "train_group", lambda exps, *a, **k: trained.extend(exps))
    release.set()                       # the other process writes the record, then lets go of the lock
    ex.train_task([exp], data, store, on_wait=lambda: waited.append(1))
    other.join(30)
    assert other.exitcode == 0 and waited == [1] and trained == [] and store.has(key)


def _train_under_lock(root, name, rec, holding, release):
    from clusterage_utils.engine.store import ResultsStore

    store = ResultsStore(root)
    with store.lock(name):
        holding.set()
        release.wait(30)
        time.sleep(0.5)
        store.put(rec)


# ------------------------------------------------------------------------------------------------ signals
def _start(argv, tmp_path, **kw) -> subprocess.Popen:
    """The command line in a child process that takes SIGINT as a terminal's Ctrl-C would (a test runner started
    in the background inherits SIGINT ignored, and so would its children)."""
    return subprocess.Popen(CLI + [str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


def _pool_run(smoke_copy, store, tmp_path):
    """A pool run of two tasks, returned once both workers hold their task's lock (they are training)."""
    proc = _start(["run", "--profile", "smoke", "--experiments", "five_band_full_none", "white_light_full_none",
                   "--data", smoke_copy, "--store", store, "--scheduler", "pool", "--workers", "2"], tmp_path)
    wait_for(lambda: len(list((store / "locks").glob("*.lock"))) == 2 or proc.poll() is not None, 180,
             "two workers training")
    assert proc.poll() is None, proc.communicate()
    workers = children(proc.pid)
    assert len(workers) >= 2
    return proc, workers


@pytest.mark.slow
def test_sigterm_stops_a_pool_run_and_its_workers_leaving_finished_records_only(smoke_copy, tmp_path):
    from clusterage_utils.engine.store import ResultsStore

    store = tmp_path / "s"
    proc, workers = _pool_run(smoke_copy, store, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by SIGTERM" in err and "resume" in err
    wait_for(lambda: not any(alive(w) for w in workers), 10, "the workers to end")
    assert not leftovers(store) and ResultsStore(store).set_aside() == {}    # finished records only
    for lock in (store / "locks").glob("*.lock"):                            # nobody holds a task: a rerun resumes
        with open(lock) as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.slow
def test_workers_die_with_a_sigkilled_parent(smoke_copy, tmp_path):
    proc, workers = _pool_run(smoke_copy, tmp_path / "s", tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    wait_for(lambda: not any(alive(w) for w in workers), 30, "the orphaned workers to end")


@pytest.mark.parametrize("command, sig", [("mock", signal.SIGTERM), ("mock", signal.SIGINT),
                                          ("curate", signal.SIGTERM)])
def test_signal_stops_mock_and_curate_leaving_nothing(tmp_path, smoke_survey, command, sig):
    out = tmp_path / ("c.h5" if command == "curate" else "m")
    argv = ["curate", "--products", smoke_survey] if command == "curate" else ["mock", "--profile", "smoke"]
    proc = _start(argv + ["--out", out], tmp_path)
    wait_for(lambda: leftovers(tmp_path) or proc.poll() is not None, 120, "the temporary output")
    assert proc.poll() is None, "finished before it could be stopped"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err[-2000:]
    assert f"stopped by {signal.Signals(sig).name}" in err and "Traceback" not in err, err[-2000:]
    assert not out.exists() and not leftovers(tmp_path)


def test_sigkilled_mock_leaves_a_temporary_the_next_run_removes(tmp_path):
    out = tmp_path / "m"
    proc = _start(["mock", "--profile", "smoke", "--out", out], tmp_path)
    wait_for(lambda: leftovers(tmp_path) or proc.poll() is not None, 120, "the temporary output")
    proc.kill()
    proc.communicate(timeout=30)
    assert leftovers(tmp_path) and not out.exists()
    from clusterage_utils.survey.mock import MockSurveyConfig, make_mock_survey

    make_mock_survey(out, MockSurveyConfig(fraction=0.01, galaxies=("IC_5332",)), progress=False)
    assert out.is_dir() and not leftovers(tmp_path)
