"""Training one experiment: learning, determinism, masks in px and pc, amortised models, saved models."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from helpers import TOY

from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.experiments import (
    Experiment,
    masking_sweep,
    parse_case,
)
from clusterage_utils.engine.profiles import TrainingSettings
from clusterage_utils.engine.store import ResultsStore
from clusterage_utils.survey.cutouts import open_cutouts
from clusterage_utils.sweeps import MaskKind, Sweep

pytestmark = pytest.mark.engine


def test_toy_is_learnt_and_shuffled_labels_are_not(toy_file, tmp_path):
    exps = [Experiment(training=TOY), Experiment(training=TOY, labels="shuffled")]
    df = run_experiments(exps, toy_file, tmp_path / "store", progress=False).set_index("labels")
    real, shuf = df.loc["reference"], df.loc["shuffled"]
    assert real["test_scatter_dex"] < 0.5 * real["null_scatter_dex"], real["test_scatter_dex"]
    assert real["predictive_power_pct"] > 70
    assert shuf["test_scatter_dex"] > 0.8 * shuf["null_scatter_dex"], shuf["test_scatter_dex"]

def test_seeded_training_is_reproducible(toy_file, tmp_path):
    from clusterage_utils.engine.training import train_experiment

    quick = dataclasses.replace(TOY, epochs=3, patience=3)
    e = Experiment(training=quick, mask="mask_centre", diameter=8)
    cf = open_cutouts(toy_file)
    a, b = train_experiment(e, cf), train_experiment(e, cf)
    assert a["predictions"]["pred"] == b["predictions"]["pred"]
    assert a["history"] == b["history"]

def test_diameter_larger_than_cutout(toy_file, tmp_path):
    with pytest.raises(ValueError, match=r"mask diameter must be in \[0, 24\]"):
        run_experiments([Experiment(training=TOY, mask="mask_centre", diameter=40)], toy_file, tmp_path / "s",
                        progress=False)
    assert ResultsStore(tmp_path / "s").keys() == []

def test_amortised_and_retrained_use_identical_masks_and_normalisation(toy_file):
    """The amortised model's inputs at diameter d are exactly what a model retrained at d sees."""
    from clusterage_utils.engine.inputs import InputSource
    from clusterage_utils.engine.preprocessing import preprocess, visible_pixels
    from clusterage_utils.engine.training import mask_grid, visible_for

    quick = dataclasses.replace(TOY, diameters_px=(0, 4, 8, 12))
    am = Experiment(training=quick, mask="mask_centre", diameter=8, masking="amortised")
    grid = mask_grid(am, 24)
    assert grid == [0, 4, 8, 12]
    cf = open_cutouts(toy_file)
    src = InputSource(cf, "white_light", "instance", "memory")
    idx = np.arange(10)
    per_item = visible_for(am, cf, idx, np.array(grid * 3)[:10])        # what amortised training draws
    assert per_item.shape == (10, 24, 24)
    for i in range(10):
        d = grid[i % 4]
        retrained = Experiment(training=quick, mask="mask_centre", diameter=d)
        np.testing.assert_array_equal(per_item[i], visible_for(retrained, cf, idx[i:i + 1], d))
        np.testing.assert_array_equal(per_item[i], visible_pixels("mask_centre", d, 24))
    np.testing.assert_array_equal(src.batch(idx, per_item),
                                  np.concatenate([preprocess(cf.images(idx[i:i + 1]), "white_light", per_item[i])
                                                  for i in range(10)]))
    assert Experiment(training=quick, mask="mask_centre", diameter=4, masking="amortised").training_group == \
        am.training_group != am.hash

def test_physical_scale_masks(toy_file):
    from clusterage_utils.engine.preprocessing import diameter_pc_to_px, visible_pixels
    from clusterage_utils.engine.training import visible_for

    assert diameter_pc_to_px(100.0, 2.0) == 50.0
    np.testing.assert_allclose(diameter_pc_to_px([40, 40], [1.0, 4.0]), [40, 10])
    cf = open_cutouts(toy_file)
    cf.catalogue["pc_per_px"] = np.where(np.arange(cf.n) % 2 == 0, 1.0, 2.0)   # two distances
    e = Experiment(training=TOY, mask="mask_centre", diameter=16, diameter_unit="pc")
    assert e.case == "five_band_full_mask_centre_16pc"
    assert parse_case(e.case) == dataclasses.replace(e, training=TrainingSettings())
    m = visible_for(e, cf, np.array([0, 1]), 16)
    np.testing.assert_array_equal(m[0], visible_pixels("mask_centre", 16, 24))   # 1 pc/px: 16 px
    np.testing.assert_array_equal(m[1], visible_pixels("mask_centre", 8, 24))    # 2 pc/px: 8 px
    big = Experiment(training=TOY, mask="keep_centre", diameter=500, diameter_unit="pc")
    np.testing.assert_array_equal(visible_for(big, cf, np.array([0]), 500)[0],       # capped at the cutout width
                                  visible_pixels("keep_centre", 24, 24))
    assert Experiment(training=TOY, mask="mask_centre", diameter=16).hash != e.hash

def test_amortised_sweep_trains_one_model(toy_file, tmp_path, monkeypatch):
    import clusterage_utils.engine.training as training

    quick = dataclasses.replace(TOY, epochs=2, patience=2, diameters_px=(0, 4, 8))
    from clusterage_utils.engine.profiles import Profile
    prof = Profile("toy", ("NGC_628C",), 1.0, quick)
    exps = masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full", prof, masking="amortised")
    assert [e.diameter for e in exps] == [0, 4, 8] and all(e.mask == "mask_centre" for e in exps)
    calls = []
    real = training._fit
    monkeypatch.setattr(training, "_fit", lambda *a, **k: calls.append(1) or real(*a, **k))
    df = run_experiments(exps, toy_file, tmp_path / "s", progress=False)
    assert calls == [1] and len(df) == 3
    assert (df["masking"] == "amortised").all()
    assert df["case"].str.endswith("_amortised").all()

def test_a_parsec_sweep_is_evaluated_on_the_pixel_sweeps_model(toy_file, tmp_path, monkeypatch):
    """Chapter 10: masks in parsec on the same amortised model as the pixel sweep - one training, and at 0 pc
    the same predictions as at 0 px."""
    import clusterage_utils.engine.training as training
    from clusterage_utils.engine.profiles import Profile

    quick = dataclasses.replace(TOY, epochs=2, patience=2, diameters_px=(0, 4, 8), diameters_pc=(0, 6))
    prof = Profile("toy", ("NGC_628C",), 1.0, quick)
    exps = (masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full", prof, masking="amortised")
            + masking_sweep(Sweep(MaskKind.MASK_CENTRE, unit="pc"), "five_band", "full", prof, masking="amortised"))
    calls = []
    real = training._fit
    monkeypatch.setattr(training, "_fit", lambda *a, **k: calls.append(a[0].diameter_unit) or real(*a, **k))
    recs = training.train_amortised(exps, open_cutouts(toy_file))
    assert calls == ["px"]                                         # trained once, on the pixel grid
    by = {(r["experiment"]["diameter"], r["experiment"]["diameter_unit"]): r for r in recs}
    assert all(r["trained_on_diameters"] == [0, 4, 8] for r in recs)
    np.testing.assert_allclose(by[(0, "pc")]["predictions"]["pred"], by[(0, "px")]["predictions"]["pred"],
                               rtol=0, atol=1e-5)                  # same network (device vs host input: float noise)
    assert by[(6, "pc")]["predictions"]["pred"] != by[(0, "pc")]["predictions"]["pred"]


def test_cached_preprocessing_equals_batchwise(toy_file):
    from clusterage_utils.engine.inputs import InputSource
    from clusterage_utils.engine.preprocessing import visible_pixels

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
    from clusterage_utils.engine.store import record_key
    from clusterage_utils.engine.training import experiment_inputs

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


def test_a_collapsed_network_is_reinitialised_and_the_best_attempt_kept(toy_file):
    from clusterage_utils.engine.training import train_experiment

    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    cf = open_cutouts(toy_file)
    plain = train_experiment(Experiment(training=quick), cf)
    assert plain["restarts"] == 0 and plain["val_prediction_spread"] > 0          # recorded, not collapsed to 0
    twice = dataclasses.replace(quick, collapse_restarts=1, collapse_spread=np.inf)  # every attempt collapsed
    rec = train_experiment(Experiment(training=twice), cf)
    if rec["restarts"] == 0:          # the first attempt (= the plain run) had the lower validation loss
        assert rec["predictions"]["pred"] == plain["predictions"]["pred"]
    else:                             # the second one had, and is a different network
        assert rec["restarts"] == 1 and min(rec["history"]["val_loss"]) < min(plain["history"]["val_loss"])
        assert rec["predictions"]["pred"] != plain["predictions"]["pred"]
    one_try = train_experiment(Experiment(training=dataclasses.replace(quick, collapse_restarts=0)), cf)
    assert one_try["predictions"]["pred"] == plain["predictions"]["pred"]   # no restart: the same network


def test_an_ensemble_predicts_the_mean_of_its_networks(toy_file):
    """networks_per_seed=2: the first network is the single network of the seed, the second is the network of
    seed member_seed(seed, 1), and the record scores their mean."""
    from clusterage_utils.engine.recipe import member_seed
    from clusterage_utils.engine.training import train_experiment

    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    cf = open_cutouts(toy_file)
    first = train_experiment(Experiment(training=quick), cf)
    second = train_experiment(Experiment(training=quick, seed=member_seed(0, 1)), cf)
    pair = train_experiment(Experiment(training=dataclasses.replace(quick, networks_per_seed=2)), cf)
    assert first["networks"] == 1 and pair["networks"] == 2
    np.testing.assert_allclose(pair["predictions"]["pred"],
                               (np.array(first["predictions"]["pred"]) + second["predictions"]["pred"]) / 2,
                               atol=1e-5)
    assert pair["history"] == first["history"]                      # the record's curves are the first network's
    with pytest.raises(ValueError, match="cannot save an ensemble"):
        train_experiment(Experiment(training=dataclasses.replace(quick, networks_per_seed=2)), cf,
                         model_path="unused.keras")


def test_kfold_evaluation_scores_every_cluster_once_with_each_folds_own_null(toy_file, tmp_path, monkeypatch):
    """folds=2: two networks per seed, one per fold; the record's test set is the whole sample, each cluster
    predicted by the network that did not train on it, and the null of each fold is its own training mean."""
    import clusterage_utils.engine.training as training
    from clusterage_utils.engine.preprocessing import kfold_split
    from clusterage_utils.engine.profiles import Profile
    from clusterage_utils.engine.recipe import member_seed
    from clusterage_utils.metrics import scatter_dex

    quick = dataclasses.replace(TOY, epochs=2, patience=2, folds=2, diameters_px=(0, 8))
    cf = open_cutouts(toy_file)
    e = Experiment(training=quick)
    assert e.hash != Experiment(training=dataclasses.replace(quick, folds=1)).hash
    assert Experiment(training=dataclasses.replace(quick, folds=1)).hash == \
        Experiment(training=dataclasses.replace(TOY, epochs=2, patience=2, diameters_px=(0, 8))).hash
    trained = []
    real = training._train_network
    seeds = []
    monkeypatch.setattr(training, "_train_network", lambda ex, d, split, seed: trained.append(split.sets) or
                        seeds.append(seed) or real(ex, d, split, seed))
    rec = training.train_experiment(e, cf)
    n = cf.n
    assert rec["folds"] == 2 and rec["n_test"] == n and len(trained) == 2
    assert seeds == [member_seed(e.seed, 0), member_seed(e.seed, 1)]      # each fold's network its own start
    preds = pd.DataFrame(rec["predictions"])
    test = preds[preds["set"] == "test"]
    assert sorted(test["index"]) == list(range(n))
    for k, sets in enumerate(trained):                   # each fold's network never saw its test clusters
        assert set(sets["test"]) == set(np.asarray(kfold_split(n, 2, k)[2]))
        assert not set(sets["test"]) & (set(sets["train"]) | set(sets["val"]))
    label = np.asarray(cf.log_ages, float)
    null = np.concatenate([np.full(len(s["test"]), label[s["train"]].mean()) for s in trained])
    truth = label[np.concatenate([s["test"] for s in trained])]
    assert rec["test_null_scatter_dex"] == pytest.approx(scatter_dex(null, truth))
    assert rec["test_scatter_dex"] == pytest.approx(scatter_dex(test["pred"], test["label"]))
    amortised = masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full",
                              Profile("toy", ("NGC_628C",), 1.0, quick), masking="amortised")
    recs = training.train_amortised(amortised, cf)
    assert [r["n_test"] for r in recs] == [n, n] and len(trained) == 4
    with pytest.raises(ValueError, match="needs split='random'"):
        training.train_experiment(dataclasses.replace(e, split="galaxy"), cf)
