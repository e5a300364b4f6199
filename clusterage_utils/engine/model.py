"""The study's CNN (Keras 3, any backend).

Paper order: [Conv2D(128, 3x3, ReLU) - MaxPool(2)] x 3 with 128/256/512 filters - Flatten - Dense 512 - 256 - 128
(ReLU) - Dense 1 (linear). The authors' code puts the third pool before the third conv (conv, pool, conv, pool,
pool, conv). A width multiplier scales every layer, so CPU profiles can train a narrower net.
"""
from __future__ import annotations

__all__ = ["LAYER_ORDERS", "PRECISIONS", "resolve_precision", "build_cnn"]

LAYER_ORDERS = ("paper", "authors")


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


def resolve_precision(precision: str) -> str:
    """``auto`` -> ``mixed_bfloat16`` on an accelerator or a CPU with AMX (Intel's matrix units), else ``float32``.

    AVX512-BF16 alone is not a safe bet: on the 2-core AMD EPYC we measured, bfloat16 ran the 1/16-width laptop
    network at 0.83x the float32 speed (``benchmarks/bench_precision.py``) but the full-width network at 1.7-2.6x
    (``benchmarks/bench_training.py``); choose ``mixed_bfloat16`` explicitly for wide networks on such CPUs.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    from .runtime import accelerator

    if accelerator():
        return "mixed_bfloat16"
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return "float32"
    return "mixed_bfloat16" if "amx_bf16" in flags else "float32"


def build_cnn(input_shape: tuple[int, int, int], width: float = 1.0, layer_order: str = "paper",
              learning_rate=1e-6, precision: str = "float32", jit_compile: bool = False,
              seed: int | None = None, steps_per_execution: int = 1, clipnorm: float = 0.0,
              min_dense_units: int = 4):
    """Build and compile the CNN.

    Parameters
    ----------
    input_shape : (H, W, C)
        Channels-last input (C = 5 bands or 1 for white light).
    width : float
        Multiplier on every layer's width (1.0 = the study's); each layer keeps at least 4 units.
    layer_order : {"paper", "authors"}
        Where the third max-pool sits (see module docstring).
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule
        Adam learning rate (the authors' code: 1e-6), or a schedule (:func:`~.recipe.learning_rate`).
    precision : str
        ``float32``, ``mixed_bfloat16``, ``mixed_float16`` or ``auto`` (see :func:`resolve_precision`); the
        output layer always computes in float32.
    jit_compile : bool
        XLA-compile the training step (always on JAX, which otherwise runs op by op).
    seed : int, optional
        Seeds every layer's Glorot-uniform initializer explicitly. Without it Keras draws initializer seeds from
        Python's global ``random``, which other threads (a Dask worker's event loop, say) also consume, so the
        initial weights would depend on timing.
    steps_per_execution : int
        Training steps run in one call into the backend (Keras' ``steps_per_execution``): the same updates in the
        same order, without Python's per-step overhead. Training uses one epoch per call (torch: one step).
    clipnorm : float
        Clip the global norm of each step's gradient to this value (0: no clipping).
    min_dense_units : int
        Floor on the width of the three hidden dense layers (at width 1/16 they would have 32, 16 and 8 units: so
        few ReLUs that one unlucky start can silence all of them).

    Returns
    -------
    keras.Model
        Compiled with Adam and mean-squared-error loss.
    """
    import keras

    if layer_order not in LAYER_ORDERS:
        raise ValueError(f"layer_order must be one of {LAYER_ORDERS}, got {layer_order!r}")
    policy = resolve_precision(precision)
    model = keras.Sequential([keras.Input(shape=input_shape),
                              *_layers(width, layer_order, policy, seed, min_dense_units)], name=f"cnn_{layer_order}")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=clipnorm or None)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    backend = keras.config.backend()
    jit = jit_compile or backend == "jax"                     # JAX without jit runs op by op
    per_call = 1 if backend == "torch" else steps_per_execution  # torch runs one step per call
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit, steps_per_execution=per_call)
    return model


def _layers(width: float, layer_order: str, policy: str, seed: int | None, min_dense_units: int) -> list:
    """The network's layers in order: three conv blocks (the third pool placed by ``layer_order``), the dense
    head, a float32 linear output; initializer seeds ``1000 x seed + 0, 1, ...`` in layer order."""
    import keras
    from keras import layers

    def w(n: int, floor: int = 4) -> int:
        return max(floor, int(round(n * width)))

    counter = iter(range(1000))

    def init():
        return keras.initializers.GlorotUniform(seed=None if seed is None else 1000 * seed + next(counter))

    conv = [layers.Conv2D(w(f), 3, activation="relu", dtype=policy, kernel_initializer=init()) for f in (128, 256, 512)]
    pool = [layers.MaxPooling2D(2, dtype=policy) for _ in range(3)]
    if layer_order == "paper":
        body = [conv[0], pool[0], conv[1], pool[1], conv[2], pool[2]]
    else:
        body = [conv[0], pool[0], conv[1], pool[1], pool[2], conv[2]]
    return body + [layers.Flatten(dtype=policy)] + [
        layers.Dense(w(n, max(4, min_dense_units)), activation="relu", dtype=policy, kernel_initializer=init())
        for n in (512, 256, 128)] + [
        layers.Dense(1, activation="linear", dtype="float32", kernel_initializer=init())]
