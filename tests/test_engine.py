"""Experiments, the store, training on a learnable toy, and execution (in-process and Dask)."""
import dataclasses
import json

import numpy as np
import pytest
from helpers import write_study_file

from clusterage_utils.cutouts import open_cutouts
from clusterage_utils.execution import run_experiments
from clusterage_utils.experiments import (Experiment, fig4_cases, fig5_cases, masking_sweep,
                                          named_experiments, parse_case, study_cases)
from clusterage_utils.profiles import TrainingSettings, get_profile
from clusterage_utils.store import ResultsStore, StoreError

TOY = TrainingSettings(width=1 / 16, epochs=25, patience=25, batch_size=32, learning_rate=2e-3, rotations="random",
                       seeds=(0,), diameters_px=(0, 8))


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    """A learnable toy in the study's schema: the label sets the blob's colour (F275W / F814W flux ratio),
    which survives per-instance min-max normalisation."""
    rng = np.random.default_rng(0)
    n, size = 300, 24
    age = rng.uniform(6, 10, n)
    yy, xx = np.mgrid[0:size, 0:size]
    blob = np.exp(-((xx - 11.5) ** 2 + (yy - 11.5) ** 2) / (2 * 2.0**2))
    ratio = (age - 6) / 4                                   # 0 (young) .. 1 (old)
    img = np.empty((n, 5, size, size), np.float32)
    for b in range(5):
        w = (1 - ratio) + ratio * b / 4                      # young: flat; old: red
        img[:, b] = w[:, None, None] * blob[None] + rng.normal(0, 0.02, (n, size, size))
    p = tmp_path_factory.mktemp("toy") / "toy.h5"
    return write_study_file(p, n=n, size=size, image_cutouts=img, cluster_log_ages=age.astype(np.float32),
                            cluster_ids=np.arange(n, dtype=np.int32),
                            galaxy_ids=np.array(["NGC_628C"] * n, dtype=object))


def test_experiment_hash_stable_and_sensitive():
    a = Experiment(training=TOY)
    assert a.hash == Experiment(training=TOY).hash
    assert a.hash != dataclasses.replace(a, seed=1).hash
    assert Experiment.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    assert Experiment(mask="none", diameter_px=12).diameter_px == 0


def test_named_cases_and_sweeps():
    p = get_profile("smoke")
    assert len(study_cases()) == 16 and all(parse_case(c).case == c for c in study_cases())
    assert "white_light_full_mask_centre_24_shuffled" in fig4_cases()
    assert parse_case("white_light_full_mask_centre_24_shuffled").labels == "shuffled"
    assert len(fig5_cases()) > len(fig4_cases())
    sw = masking_sweep("mask_centre", "five_band", "full", p)
    assert [e.diameter_px for e in sw] == [0, 12, 24] and sw[0].mask == "none"
    assert [e.diameter_px for e in masking_sweep("keep_centre", "five_band", "full", p)] == [12, 24]
    assert len(named_experiments("inner_sweep", p)) == 12
    with pytest.raises(ValueError, match="unknown case 'five_band_sideways'"):
        named_experiments("five_band_sideways", p)
    with pytest.raises(ValueError, match="diameter_px must be >= 0"):
        Experiment(mask="mask_centre", diameter_px=-4)


def test_toy_is_learnt_and_shuffled_labels_are_not(toy_file, tmp_path):
    exps = [Experiment(training=TOY), Experiment(training=TOY, labels="shuffled")]
    df = run_experiments(exps, toy_file, tmp_path / "store", progress=False).set_index("labels")
    real, shuf = df.loc["reference"], df.loc["shuffled"]
    assert real["test_scatter_dex"] < 0.5 * real["null_scatter_dex"], real["test_scatter_dex"]
    assert real["predictive_power_pct"] > 70
    assert shuf["test_scatter_dex"] > 0.8 * shuf["null_scatter_dex"], shuf["test_scatter_dex"]


def test_seeded_training_is_reproducible(toy_file, tmp_path):
    from clusterage_utils.training import train_experiment

    quick = dataclasses.replace(TOY, epochs=3, patience=3)
    e = Experiment(training=quick, mask="mask_centre", diameter_px=8)
    cf = open_cutouts(toy_file)
    a, b = train_experiment(e, cf), train_experiment(e, cf)
    assert a["predictions"]["pred"] == b["predictions"]["pred"]
    assert a["history"] == b["history"]


def test_store_skips_done_and_redoes_killed_runs(toy_file, tmp_path, monkeypatch):
    import clusterage_utils.training as training

    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    exps = [Experiment(training=quick, seed=s) for s in (0, 1)]
    calls = []
    real = training.train_experiment

    def killed_on_second(exp, data, **kw):
        calls.append(exp.seed)
        if exp.seed == 1:
            raise KeyboardInterrupt   # killed half-way: before its record is written
        return real(exp, data, **kw)

    monkeypatch.setattr(training, "train_experiment", killed_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_experiments(exps, toy_file, tmp_path / "s", progress=False)
    store = ResultsStore(tmp_path / "s")
    assert len(store.keys()) == 1 and not list((tmp_path / "s").rglob("*.part"))
    monkeypatch.setattr(training, "train_experiment", real)
    calls.clear()
    df = run_experiments(exps, toy_file, tmp_path / "s", progress=False)
    assert len(df) == 2 and len(store.keys()) == 2
    monkeypatch.setattr(training, "train_experiment", killed_on_second)
    calls.clear()
    run_experiments(exps, toy_file, tmp_path / "s", progress=False)   # nothing new: trains nothing
    assert calls == []
    h = store.history(store.keys()[0])
    assert list(h.columns[:3]) == ["epoch", "loss", "val_loss"]
    p = store.predictions(store.keys()[0])
    assert set(p["set"]) == {"train", "val", "test"}


def test_incompatible_store_is_refused_and_kept(tmp_path):
    root = tmp_path / "s"
    ResultsStore(root)
    (root / "store.json").write_text(json.dumps({"store_version": 99, "package_version": "9.9"}))
    with pytest.raises(StoreError, match="store_version 99"):
        ResultsStore(root)
    assert json.loads((root / "store.json").read_text())["store_version"] == 99
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a results store"):
        ResultsStore(tmp_path / "other")


def test_wrong_shape_file_is_refused(tmp_path):
    from clusterage_utils.cutouts import CutoutFileError

    p = write_study_file(tmp_path / "bad.h5", image_cutouts=np.zeros((6, 5, 32, 30), np.float32))
    with pytest.raises(CutoutFileError, match="image_cutouts"):
        run_experiments([Experiment(training=TOY)], p, tmp_path / "s", progress=False)


def test_diameter_larger_than_cutout(toy_file, tmp_path):
    with pytest.raises(ValueError, match=r"mask diameter must be in \[0, 24\]"):
        run_experiments([Experiment(training=TOY, mask="mask_centre", diameter_px=40)], toy_file, tmp_path / "s",
                        progress=False)
    assert ResultsStore(tmp_path / "s").keys() == []


def test_dask_localcluster_matches_in_process(toy_file, tmp_path):
    pytest.importorskip("dask.distributed")
    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    exps = [Experiment(training=quick, seed=0), Experiment(training=quick, seed=0, input="white_light")]
    local = run_experiments(exps, toy_file, tmp_path / "local", progress=False)
    dask = run_experiments(exps, toy_file, tmp_path / "dask", scheduler="dask-local", n_workers=2, progress=False)
    assert list(local["key"]) == list(dask["key"])
    np.testing.assert_allclose(local["test_scatter_dex"], dask["test_scatter_dex"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(local["val_scatter_dex"], dask["val_scatter_dex"], rtol=0, atol=1e-6)


def test_cli_run_on_a_given_file(toy_file, tmp_path, capsys):
    from clusterage_utils.cli import main

    assert main(["run", "--profile", "smoke", "--experiments", "five_band_full_none", "--data", str(toy_file),
                 "--store", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "five_band_full_none/seed0" in out and "test_scatter_dex" in out
    assert main(["run", "--profile", "smoke", "--experiments", "five_band_full_sideways", "--data", str(toy_file),
                 "--store", str(tmp_path / "s")]) == 2
    assert "unknown case" in capsys.readouterr().err


def test_plan_counts_trainings():
    from clusterage_utils.book import COUPLINGS, TRUTH_CASES, all_experiments, plan

    df = plan("smoke", gpu_speedup=10, n_steps=2)
    assert df["chapter"].iloc[-1] == "total"
    # the book's data, plus chapter 7's surveys of other couplings, plus chapter 9's model trained again to keep it
    extra = (len(COUPLINGS) - 1) * len(TRUTH_CASES) + 1
    assert df["new_trainings"].iloc[-1] == len(all_experiments("smoke")) + extra
    assert (df["cpu_minutes_max"] >= df["gpu_minutes_max"]).all()
    assert set(df.attrs["samples_per_s"]) == {"five_band", "white_light"}


def test_streaming_and_in_memory_give_identical_batches(toy_file):
    from clusterage_utils.preprocessing import visible_pixels
    from clusterage_utils.training import InputSource, batches

    cf = open_cutouts(toy_file)
    masks = np.stack([visible_pixels("mask_centre", d, 24) for d in (0, 4, 8)])
    idx = np.arange(5, 105)
    y = np.linspace(0, 1, len(idx))
    out = {}
    for mode in ("memory", "stream"):
        src = InputSource(cf, "five_band", "instance", mode)
        out[mode] = list(batches(lambda p, m, src=src: src.batch(idx[p], masks[m]), y, 16, "random", 3, 2,
                                 n_masks=3))
    assert len(out["memory"]) == 7
    for (xa, ya), (xb, yb) in zip(out["memory"], out["stream"]):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_amortised_and_retrained_use_identical_masks_and_normalisation(toy_file):
    """The amortised model's inputs at diameter d are exactly what a model retrained at d sees."""
    from clusterage_utils.preprocessing import preprocess, visible_pixels
    from clusterage_utils.training import InputSource, _mask_grid, visible_for

    quick = dataclasses.replace(TOY, diameters_px=(0, 4, 8, 12))
    am = Experiment(training=quick, mask="mask_centre", diameter_px=8, masking="amortised")
    grid = _mask_grid(am, 24)
    assert grid == [0, 4, 8, 12]
    cf = open_cutouts(toy_file)
    src = InputSource(cf, "white_light", "instance", "memory")
    idx = np.arange(10)
    per_item = visible_for(am, cf, idx, np.array(grid * 3)[:10])        # what amortised training draws
    assert per_item.shape == (10, 24, 24)
    for i in range(10):
        d = grid[i % 4]
        retrained = Experiment(training=quick, mask="mask_centre", diameter_px=d)
        np.testing.assert_array_equal(per_item[i], visible_for(retrained, cf, idx[i:i + 1], d))
        np.testing.assert_array_equal(per_item[i], visible_pixels("mask_centre", d, 24))
    np.testing.assert_array_equal(src.batch(idx, per_item),
                                  np.concatenate([preprocess(cf.images(idx[i:i + 1]), "white_light", per_item[i])
                                                  for i in range(10)]))
    assert Experiment(training=quick, mask="mask_centre", diameter_px=4, masking="amortised").training_group == \
        am.training_group != am.hash


def test_physical_scale_masks(toy_file):
    from clusterage_utils.preprocessing import diameter_pc_to_px, visible_pixels
    from clusterage_utils.training import visible_for

    assert diameter_pc_to_px(100.0, 2.0) == 50.0
    np.testing.assert_allclose(diameter_pc_to_px([40, 40], [1.0, 4.0]), [40, 10])
    cf = open_cutouts(toy_file)
    cf.catalogue["pc_per_px"] = np.where(np.arange(cf.n) % 2 == 0, 1.0, 2.0)   # two distances
    e = Experiment(training=TOY, mask="mask_centre", diameter_px=16, diameter_unit="pc")
    assert e.case == "five_band_full_mask_centre_16pc" and parse_case(e.case) == dataclasses.replace(e, training=TrainingSettings())
    m = visible_for(e, cf, np.array([0, 1]), 16)
    np.testing.assert_array_equal(m[0], visible_pixels("mask_centre", 16, 24))   # 1 pc/px: 16 px
    np.testing.assert_array_equal(m[1], visible_pixels("mask_centre", 8, 24))    # 2 pc/px: 8 px
    big = Experiment(training=TOY, mask="keep_centre", diameter_px=500, diameter_unit="pc")
    np.testing.assert_array_equal(visible_for(big, cf, np.array([0]), 500)[0],       # capped at the cutout width
                                  visible_pixels("keep_centre", 24, 24))
    assert Experiment(training=TOY, mask="mask_centre", diameter_px=16).hash != e.hash


def test_amortised_sweep_trains_one_model(toy_file, tmp_path, monkeypatch):
    import clusterage_utils.training as training

    quick = dataclasses.replace(TOY, epochs=2, patience=2, diameters_px=(0, 4, 8))
    from clusterage_utils.profiles import Profile
    prof = Profile("toy", ("NGC_628C",), 1.0, quick)
    exps = masking_sweep("mask_centre", "five_band", "full", prof, masking="amortised")
    assert [e.diameter_px for e in exps] == [0, 4, 8] and all(e.mask == "mask_centre" for e in exps)
    calls = []
    real = training._fit
    monkeypatch.setattr(training, "_fit", lambda *a, **k: calls.append(1) or real(*a, **k))
    df = run_experiments(exps, toy_file, tmp_path / "s", progress=False)
    assert calls == [1] and len(df) == 3
    assert (df["masking"] == "amortised").all()
    assert df["case"].str.endswith("_amortised").all()


def test_mixed_precision_model_keeps_float32_output():
    from clusterage_utils.model import build_cnn, resolve_precision

    m = build_cnn((24, 24, 5), width=1 / 16, precision="mixed_bfloat16")
    assert m.layers[0].compute_dtype == "bfloat16" and m.layers[-1].compute_dtype == "float32"
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("auto") in ("float32", "mixed_bfloat16")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("float8")


def test_cached_preprocessing_equals_batchwise(toy_file):
    from clusterage_utils.preprocessing import visible_pixels
    from clusterage_utils.training import InputSource

    cf = open_cutouts(toy_file)
    vis = visible_pixels("keep_centre", 12, 24)
    idx = np.array([7, 3, 150, 3])
    for kind in ("five_band", "white_light"):
        mem, stream = InputSource(cf, kind, "instance", "memory"), InputSource(cf, kind, "instance", "stream")
        np.testing.assert_array_equal(mem.batch(idx, vis), stream.batch(idx, vis))                  # cached path
        np.testing.assert_array_equal(mem.batch(idx, np.stack([vis] * 4)), stream.batch(idx, vis))  # per item


def test_saved_model_reproduces_the_stored_predictions(toy_file, tmp_path):
    """Attribution needs the trained model: a record without one is trained again (deterministically), the model
    is saved atomically, and the saved model with the record's label scaling gives the stored predictions."""
    from clusterage_utils.store import record_key
    from clusterage_utils.training import experiment_inputs

    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    exp = Experiment(training=quick)
    df = run_experiments([exp], toy_file, tmp_path / "s", progress=False)
    store = ResultsStore(tmp_path / "s")
    key = df["key"].iloc[0]
    with pytest.raises(FileNotFoundError, match="save_models=True"):
        store.load_model(key)
    first = store.predictions(key)
    run_experiments([exp], toy_file, tmp_path / "s", progress=False, save_models=True)
    data = open_cutouts(toy_file)
    assert key == record_key(exp.hash, data.fingerprint()) and store.has_model(key)
    assert not list((tmp_path / "s").rglob("*.part*"))
    rec = store.get(key)
    p = store.predictions(key)
    np.testing.assert_allclose(p["pred"], first["pred"], atol=1e-5)      # retraining is deterministic
    test = p[p["set"] == "test"]
    model = store.load_model(key)
    out = model.predict(experiment_inputs(exp, data, test["index"].to_numpy()), verbose=0).ravel()
    np.testing.assert_allclose(out * rec["label_span"] + rec["label_lo"], test["pred"], atol=1e-4)


def test_mask_none_ignores_the_diameter_unit():
    assert Experiment(mask="none", diameter_unit="pc").hash == Experiment().hash
