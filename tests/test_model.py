"""The CNN."""
import pytest


def test_mixed_precision_model_keeps_float32_output():
    from clusterage_utils.engine.model import build_cnn, resolve_precision

    m = build_cnn((24, 24, 5), width=1 / 16, precision="mixed_bfloat16")
    assert m.layers[0].compute_dtype == "bfloat16" and m.layers[-1].compute_dtype == "float32"
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("auto") in ("float32", "mixed_bfloat16")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("float8")


def test_dense_floor_widens_only_the_narrow_dense_layers():
    from clusterage_utils.engine.model import build_cnn

    def widths(m, kind):
        return [layer.units if kind == "dense" else layer.filters for layer in m.layers
                if type(layer).__name__ == ("Dense" if kind == "dense" else "Conv2D")]

    plain = build_cnn((24, 24, 5), width=1 / 16)
    floored = build_cnn((24, 24, 5), width=1 / 16, min_dense_units=32)
    assert widths(plain, "dense") == [32, 16, 8, 1] and widths(floored, "dense") == [32, 32, 32, 1]
    assert widths(plain, "conv") == widths(floored, "conv") == [8, 16, 32]
    full = build_cnn((24, 24, 5), width=1.0, min_dense_units=32)
    assert widths(full, "dense") == [512, 256, 128, 1]                 # the study's network is untouched
