"""The input pipelines: epoch order, augmentation, and identical batches from tensors, memory and streaming."""
import numpy as np
import pytest
from helpers import write_study_file

from clusterage_utils.engine.inputs import (
    InputSource,
    augment,
    dihedral_permutations,
    epoch_items,
    numpy_batches,
)
from clusterage_utils.engine.preprocessing import visible_pixels
from clusterage_utils.survey.cutouts import open_cutouts


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    rng = np.random.default_rng(3)
    n, size = 120, 16
    img = rng.random((n, 5, size, size)).astype(np.float32)
    return write_study_file(tmp_path_factory.mktemp("inp") / "f.h5", n=n, size=size, image_cutouts=img,
                            cluster_log_ages=rng.uniform(6, 10, n).astype(np.float32),
                            cluster_ids=np.arange(n, dtype=np.int32),
                            galaxy_ids=np.array(["NGC_628C"] * n, dtype=object))


def test_augment_rotates_then_flips_each_image():
    x = np.arange(3 * 4 * 4).reshape(3, 4, 4, 1).astype(np.float32)
    r = augment(x, [1, 0, 3], [False, True, True])
    np.testing.assert_array_equal(r[0], np.rot90(x[0], 1))
    np.testing.assert_array_equal(r[1], x[1][:, ::-1])
    np.testing.assert_array_equal(r[2], np.rot90(x[2], 3)[:, ::-1])


def test_dihedral_permutations_match_numpy():
    x = np.random.default_rng(0).random((8, 5, 5, 2)).astype(np.float32)
    perms = dihedral_permutations(5, 5)
    for code in range(8):
        want = augment(x[:1], code % 4, [code >= 4])[0]
        got = x[0].reshape(25, 2)[perms[code]].reshape(5, 5, 2)
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="square"):
        dihedral_permutations(4, 5)


def test_epoch_order_is_a_function_of_seed_and_epoch():
    a, b = epoch_items(10, "all", 1, 0, flips=True), epoch_items(10, "all", 1, 0, flips=True)
    assert len(a) == 40                                               # the study's x4
    assert sorted(zip(a.position, a.rotation)) == [(i, k) for i in range(10) for k in range(4)]
    np.testing.assert_array_equal(a.position, b.position)
    np.testing.assert_array_equal(a.flip, b.flip)
    assert not np.array_equal(a.position, epoch_items(10, "all", 1, 1).position)
    assert len(epoch_items(10, "random", 1, 0)) == 10
    with pytest.raises(ValueError, match="rotations must be"):
        epoch_items(10, "sometimes", 1, 0)


def test_numpy_batches_deterministic_and_complete():
    x = np.random.default_rng(0).random((10, 6, 6, 1)).astype(np.float32)
    y = np.arange(10, dtype=np.float32)
    a = list(numpy_batches(x, y, 4, "all", seed=1, epoch=0, flips=True))   # an array works as the fetcher too
    b = list(numpy_batches(x, y, 4, "all", seed=1, epoch=0, flips=True))
    assert sum(len(yb) for _, yb in a) == 40
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("rotations,flips", [("all", False), ("random", True)])
def test_tensor_and_generator_pipelines_give_identical_batches(small_file, rotations, flips):
    cf = open_cutouts(small_file)
    vis = visible_pixels("mask_centre", 6, 16)
    train_idx = np.arange(7, 90)
    y = np.linspace(0, 1, len(train_idx)).astype(np.float32)
    mem = InputSource(cf, "five_band", "instance", "memory")
    stream = InputSource(cf, "five_band", "instance", "stream")
    from clusterage_utils.engine.tfdata import tensor_dataset

    ds = tensor_dataset(mem.preprocessed(vis), train_idx, y, 16, rotations, seed=5, flips=flips)
    n_batches = -(-len(epoch_items(len(y), rotations, 5, 0)) // 16)
    got = list(ds.take(2 * n_batches).as_numpy_iterator())          # two epochs
    want = [b for e in (0, 1) for b in numpy_batches(lambda p, m: stream.batch(train_idx[p], vis), y, 16,
                                                      rotations, 5, e, flips)]
    assert len(got) == len(want) == 2 * n_batches
    for (xa, ya), (xb, yb) in zip(got, want):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_streaming_and_in_memory_give_identical_batches_with_per_item_masks(small_file):
    cf = open_cutouts(small_file)
    masks = np.stack([visible_pixels("mask_centre", d, 16) for d in (0, 4, 8)])
    idx = np.arange(5, 105)
    y = np.linspace(0, 1, len(idx))
    out = {}
    for mode in ("memory", "stream"):
        src = InputSource(cf, "five_band", "instance", mode)
        out[mode] = list(numpy_batches(lambda p, m, src=src: src.batch(idx[p], masks[m]), y, 16, "random", 3, 2,
                                       n_masks=3))
    assert len(out["memory"]) == 7
    for (xa, ya), (xb, yb) in zip(out["memory"], out["stream"]):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_preprocessed_with_one_mask_per_cutout(small_file):
    cf = open_cutouts(small_file)
    src = InputSource(cf, "white_light", "instance", "memory")
    per_item = np.stack([visible_pixels("mask_centre", d % 10, 16) for d in range(cf.n)])
    pre = src.preprocessed(per_item)
    np.testing.assert_array_equal(pre[[3, 17]], InputSource(cf, "white_light", "instance", "stream")
                                  .batch(np.array([3, 17]), per_item[[3, 17]]))
    with pytest.raises(ValueError, match="mode='memory'"):
        InputSource(cf, "white_light", "instance", "stream").preprocessed(per_item)


@pytest.mark.parametrize("kind", ["mask_centre", "keep_centre"])
def test_amortised_masks_in_the_graph_equal_the_numpy_pipeline(small_file, kind):
    """An amortised model's batches (a mask drawn per item, normalised in the graph) are the generator's."""
    from clusterage_utils.engine.experiments import Experiment
    from clusterage_utils.engine.profiles import TrainingSettings
    from clusterage_utils.engine.tfdata import masked_tensor_dataset
    from clusterage_utils.engine.training import mask_grid, mask_table, visible_for

    cf = open_cutouts(small_file)
    exp = Experiment(input="white_light", mask=kind, diameter=4, masking="amortised",
                     training=TrainingSettings(diameters_px=(0, 4, 8, 12)))
    grid = mask_grid(exp, 16)
    masks, index = mask_table(exp, cf, grid)
    train_idx = np.arange(3, 80)
    y = np.linspace(0, 1, len(train_idx)).astype(np.float32)
    src = InputSource(cf, "white_light", "instance", "stream")
    raw = np.ascontiguousarray(src.raw(np.arange(cf.n)).transpose(0, 2, 3, 1))
    ds = masked_tensor_dataset(raw, masks, index, train_idx, y, 16, "random", seed=2, flips=True)
    n_batches = -(-len(train_idx) // 16)
    got = list(ds.take(n_batches).as_numpy_iterator())
    g = np.asarray(grid, float)
    want = list(numpy_batches(lambda p, m: src.batch(train_idx[p], visible_for(exp, cf, train_idx[p], g[m])),
                              y, 16, "random", 2, 0, True, len(grid)))
    assert len(got) == len(want) == n_batches
    for (xa, ya), (xb, yb) in zip(got, want):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_graph_masking_evaluation_batches_equal_numpy(small_file):
    """An amortised model is evaluated at each grid diameter on exactly the inputs a retrained model sees."""
    from clusterage_utils.engine.experiments import Experiment
    from clusterage_utils.engine.inputs import AmortisedInputs
    from clusterage_utils.engine.profiles import TrainingSettings
    from clusterage_utils.engine.tfdata import GraphMasking
    from clusterage_utils.engine.training import mask_grid, mask_table

    cf = open_cutouts(small_file)
    exp = Experiment(mask="mask_centre", diameter=4, masking="amortised",
                     training=TrainingSettings(diameters_px=(0, 4, 8)))
    grid = mask_grid(exp, 16)
    masks, index = mask_table(exp, cf, grid)
    src = InputSource(cf, "five_band", "instance", "memory")
    graph = GraphMasking(AmortisedInputs.build(np.ascontiguousarray(src.raw(np.arange(cf.n)).transpose(0, 2, 3, 1)),
                                               masks, index))
    idx = np.array([5, 1, 77, 30])
    for g, d in enumerate(grid):
        np.testing.assert_array_equal(graph.batch(idx, g).numpy(), src.batch(idx, visible_pixels("mask_centre", d, 16)))


def test_visible_ranges_cover_only_the_masks_drawn():
    from clusterage_utils.engine.inputs import visible_ranges

    raw = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2)
    masks = np.zeros((3, 4, 4), bool)
    masks[0, 1:3, 1:3] = True                    # the centre; mask 1 hides everything; mask 2 is never drawn
    masks[2] = True
    got = visible_ranges(raw, masks, np.array([[0, 1], [0, 0]]), chunk=1)
    for n in range(2):
        px = raw[n][masks[0]]
        np.testing.assert_array_equal(got[n, 0], [px.min(), px.max()])
    assert not got[:, 1].any() and not got[:, 2].any()
