"""The study's CNN (Keras 3).

Paper order: [Conv2D(128, 3x3, ReLU) - MaxPool(2)] x 3 with 128/256/512 filters - Flatten - Dense 512 - 256 - 128
(ReLU) - Dense 1 (linear). The authors' code puts the third pool before the third conv (conv, pool, conv, pool,
pool, conv). A width multiplier scales every layer, so CPU profiles can train a narrower net.
"""
from __future__ import annotations

LAYER_ORDERS = ("paper", "authors")


def build_cnn(input_shape: tuple[int, int, int], width: float = 1.0, layer_order: str = "paper",
              learning_rate: float = 1e-6, mixed_precision: bool = False):
    """Build and compile the CNN.

    Parameters
    ----------
    input_shape : (H, W, C)
        Channels-last input (C = 5 bands or 1 for white light).
    width : float
        Multiplier on every layer's width (1.0 = the study's); each layer keeps at least 4 units.
    layer_order : {"paper", "authors"}
        Where the third max-pool sits (see module docstring).
    learning_rate : float
        Adam learning rate (the authors' code: 1e-6).
    mixed_precision : bool
        Compute in bfloat16/float16 with the output layer in float32.

    Returns
    -------
    keras.Model
        Compiled with Adam and mean-squared-error loss.
    """
    import keras
    from keras import layers

    if layer_order not in LAYER_ORDERS:
        raise ValueError(f"layer_order must be one of {LAYER_ORDERS}, got {layer_order!r}")

    def w(n: int) -> int:
        return max(4, int(round(n * width)))

    conv = [layers.Conv2D(w(f), 3, activation="relu") for f in (128, 256, 512)]
    pool = [layers.MaxPooling2D(2) for _ in range(3)]
    if layer_order == "paper":
        body = [conv[0], pool[0], conv[1], pool[1], conv[2], pool[2]]
    else:
        body = [conv[0], pool[0], conv[1], pool[1], pool[2], conv[2]]
    head = [layers.Flatten(), layers.Dense(w(512), activation="relu"), layers.Dense(w(256), activation="relu"),
            layers.Dense(w(128), activation="relu"), layers.Dense(1, activation="linear", dtype="float32")]
    model = keras.Sequential([keras.Input(shape=input_shape), *body, *head], name=f"cnn_{layer_order}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    return model
