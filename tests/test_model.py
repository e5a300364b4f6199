"""The CNN."""
import pytest


def test_mixed_precision_model_keeps_float32_output():
    from clusterage_utils.model import build_cnn, resolve_precision

    m = build_cnn((24, 24, 5), width=1 / 16, precision="mixed_bfloat16")
    assert m.layers[0].compute_dtype == "bfloat16" and m.layers[-1].compute_dtype == "float32"
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("auto") in ("float32", "mixed_bfloat16")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("float8")
