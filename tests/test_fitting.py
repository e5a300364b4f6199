"""Every pipeline trains the same network: tf.data / device-resident / generator, on this process's backend."""
import dataclasses

import numpy as np
import pytest
from helpers import TOY

from clusterage_utils.engine.experiments import Experiment, masking_sweep
from clusterage_utils.engine.fitting import choose_pipeline
from clusterage_utils.engine.inputs import AmortisedInputs, InputSource, index_stream, numpy_batches
from clusterage_utils.engine.preprocessing import visible_pixels
from clusterage_utils.engine.profiles import Profile
from clusterage_utils.engine.runtime import backend_name
from clusterage_utils.survey.cutouts import open_cutouts
from clusterage_utils.sweeps import MaskKind, Sweep

pytestmark = pytest.mark.engine

#: Early stopping may act from the second epoch on: the loop's stopping and restoring are compared too.
QUICK = dataclasses.replace(TOY, epochs=6, patience=1, min_epochs=1, lr_schedule="cosine", warmup_epochs=1,
                            diameters_px=(0, 4, 8))


def test_the_pipeline_follows_the_backend_and_the_input_mode():
    assert choose_pipeline("tensorflow", "memory") == choose_pipeline("tensorflow", "stream") == "tf.data"
    assert choose_pipeline("jax", "memory") == "resident"
    assert choose_pipeline("jax", "stream") == choose_pipeline("torch", "memory") == "generator"


def _compare(a: dict, b: dict, atol: float):
    assert a["hash"] == b["hash"]
    assert a["epochs_run"] == b["epochs_run"] and a["best_epoch"] == b["best_epoch"]
    np.testing.assert_allclose(a["history"]["val_loss"], b["history"]["val_loss"], rtol=0, atol=atol)
    np.testing.assert_allclose(a["predictions"]["pred"], b["predictions"]["pred"], rtol=0, atol=atol * 10)


@pytest.mark.parametrize("masking", ["retrain", "amortised"])
def test_memory_and_streamed_input_train_the_same_network(toy_file, masking):
    """Input in memory (tf.data on TensorFlow, the device-resident compiled loop on JAX) and streamed input (a
    numpy generator through Keras' fit) show the network the same batches: the same training, to float noise
    (bit for bit on TensorFlow)."""
    from clusterage_utils.engine.training import train_amortised, train_experiment

    cf = open_cutouts(toy_file)
    runs = {}
    for mode in ("memory", "stream"):
        st = dataclasses.replace(QUICK, input_mode=mode)
        if masking == "retrain":
            runs[mode] = [train_experiment(Experiment(training=st, mask="keep_centre", diameter=8), cf)]
        else:
            prof = Profile("toy", ("NGC_628C",), 1.0, st)
            runs[mode] = train_amortised(masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full", prof,
                                                       masking="amortised"), cf)
    want = {"tensorflow": "tf.data", "jax": "resident"}.get(backend_name(), "generator")
    assert runs["memory"][0]["runtime"]["pipeline"] == want
    assert runs["stream"][0]["runtime"]["pipeline"] == ("tf.data" if backend_name() == "tensorflow" else "generator")
    exact = backend_name() == "tensorflow"
    for a, b in zip(runs["memory"], runs["stream"]):
        if exact:
            assert a["predictions"]["pred"] == b["predictions"]["pred"] and a["history"] == b["history"]
        else:
            _compare(a, b, atol=1e-5)


@pytest.mark.parametrize("amortised", [False, True])
def test_device_resident_batches_equal_the_numpy_generator(toy_file, amortised):
    """The resident pipeline's batches, made on the JAX device from indices, are the numpy generator's."""
    pytest.importorskip("jax")
    from clusterage_utils.engine.resident import ResidentInputs, stack_batches
    from clusterage_utils.engine.training import mask_grid, mask_table, visible_for

    cf = open_cutouts(toy_file)
    src = InputSource(cf, "five_band", "instance", "memory")
    exp = Experiment(mask="mask_centre", diameter=4, masking="amortised" if amortised else "retrain",
                     training=dataclasses.replace(TOY, diameters_px=(0, 4, 8)))
    grid = mask_grid(exp, cf.shape[-1])
    train_idx = np.arange(5, 140)
    y = np.linspace(0, 1, len(train_idx)).astype(np.float32)
    if amortised:
        masks, index = mask_table(exp, cf, grid)
        dev = ResidentInputs(amortised=AmortisedInputs.build(src.channels_last(), masks, index))
        g = np.asarray(grid, float)

        def fetch(p, m):
            return src.batch(train_idx[p], visible_for(exp, cf, train_idx[p], g[m]))
    else:
        vis = visible_pixels("mask_centre", 4, cf.shape[-1])
        pre = src.preprocessed(vis)
        dev = ResidentInputs(preprocessed=pre)

        def fetch(p, m):
            return pre[train_idx[p]]
    steps = -(-len(train_idx) // 32)
    arrays = stack_batches(index_stream(train_idx, y, 32, "random", 3, True, len(grid)), steps, 32)
    want = list(numpy_batches(fetch, y, 32, "random", 3, 0, True, len(grid)))
    for s, (xw, yw) in enumerate(want):
        k = len(yw)
        got = np.asarray(dev.batch(arrays["file_index"][s], arrays["grid_position"][s], arrays["dihedral"][s]))
        np.testing.assert_allclose(got[:k], xw, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(arrays["target"][s, :k], yw)
        assert arrays["weight"][s, :k].all() and not arrays["weight"][s, k:].any()   # short batch: padded


def test_networks_of_one_shape_share_their_compiled_epoch():
    """A book trains hundreds of networks of a few shapes: each shape (and learning-rate schedule) compiles once,
    whatever the layers' names and initial weights."""
    pytest.importorskip("jax")
    from clusterage_utils.engine.model import build_cnn
    from clusterage_utils.engine.recipe import learning_rate
    from clusterage_utils.engine.resident import _compiled

    def net(seed, steps, channels=5):
        m = build_cnn((24, 24, channels), width=1 / 16, seed=seed, learning_rate=learning_rate(QUICK, steps))
        m.optimizer.build(m.trainable_variables)
        return m

    first = _compiled(net(0, 10), False)
    assert _compiled(net(1, 10), False) is first                    # another seed: the same executable
    assert _compiled(net(1, 11), False) is not first                # another schedule
    assert _compiled(net(1, 10, channels=1), False) is not first    # white light
    assert _compiled(net(0, 10), True) is not first                 # amortised inputs
