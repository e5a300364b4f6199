"""How a network is trained: the learning-rate schedule and the rules that stop training.

The study's recipe is Adam at a constant learning rate with early stopping (patience 30, best weights restored).
The narrow networks of the CPU profiles need a larger step to learn in few epochs, and at a large constant step
they were unstable (seeds of one case 0.3 dex apart, runs stuck at the start); the profiles therefore add a
warm-up, a cosine decay and a minimum number of epochs before early stopping may act. A network that collapsed to
one value (:func:`prediction_spread` below :data:`COLLAPSE_SPREAD` on the validation set) is trained again from new
initial weights and a new order of its training stream (:func:`init_seed`), at most
``TrainingSettings.collapse_restarts`` times. Which recipe each profile uses, and the measurements behind it, are on
the book's compute page (``benchmarks/bench_recipe.py``, ``benchmarks/bench_small_samples.py``).
"""
from __future__ import annotations

import math

import numpy as np

from .profiles import TrainingSettings

__all__ = ["LR_SCHEDULES", "COLLAPSE_SPREAD", "steps_per_epoch", "learning_rate", "callbacks", "prediction_spread",
           "init_seed", "member_seed"]

LR_SCHEDULES = ("constant", "cosine")

#: The default (``TrainingSettings.collapse_spread``): a trained network whose validation predictions spread less
#: than this fraction of the labels' spread has collapsed to (nearly) one value: it is re-initialised
#: (``TrainingSettings.collapse_restarts``) and, if every attempt collapses, the one with the lowest validation loss
#: is kept. Measured on a laptop build: the far-group
#: seeds that collapsed to the mean spread 0.03-0.09, their siblings that learnt 0.37-0.49; 16 of ~110 networks
#: were below 0.1, nearly all with the initial weights of seed 1 (the same draw in every case), the rest cases
#: with (almost) no signal, where a second try costs time and changes little.
COLLAPSE_SPREAD = TrainingSettings.collapse_spread


def prediction_spread(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Standard deviation of the predictions over that of the labels (0: one value for every cutout).

    Parameters
    ----------
    predictions, labels : array
        The same cutouts' predictions and labels, in the same units.

    Returns
    -------
    float
        ``std(predictions) / std(labels)``; ``inf`` when the labels do not vary (nothing to collapse to).
    """
    sd = float(np.std(labels))
    return float(np.std(np.ravel(predictions))) / sd if sd > 0 else float("inf")


def init_seed(seed: int, restart: int) -> int:
    """Seed of attempt ``restart``: its initial weights and the order, rotations and masks of its training stream
    (0: the experiment's own seed; a collapsed network starts again from ``seed + 10_000 x restart``; the
    validation set stays the experiment's).

    Parameters
    ----------
    seed : int
        The experiment's seed.
    restart : int
        0 for the first attempt, 1, 2, ... after each collapse.
    """
    return int(seed) + 10_000 * int(restart)


def member_seed(seed: int, member: int) -> int:
    """Seed of network ``member`` of an ensemble (``TrainingSettings.networks_per_seed``): its initial weights and
    training stream (0: the experiment's own seed, so a one-network ensemble is the single network; then
    ``seed + 1_000 x member``, clear of other experiments' seeds and of the restarts' ``+ 10_000``).

    Parameters
    ----------
    seed : int
        The experiment's seed.
    member : int
        0, 1, ... below ``networks_per_seed`` (times ``folds`` with K-fold evaluation: fold k's networks are
        members ``k x networks_per_seed`` on).
    """
    return int(seed) + 1_000 * int(member)


def steps_per_epoch(n_train: int, settings: TrainingSettings, amortised: bool = False) -> int:
    """Optimizer steps in one epoch: one pass over ``n_train`` cutouts (x4 with ``rotations="all"``) in batches
    (``settings.amortised_passes`` passes for an amortised model), or ``settings.min_steps_per_epoch`` if that is
    more.

    Parameters
    ----------
    n_train : int
        Training-set size.
    settings : TrainingSettings
    amortised : bool
        The model learns a whole sweep grid (amortised masking).

    Raises
    ------
    ValueError
        For an empty training set.
    """
    if n_train < 1:
        raise ValueError("the training set is empty: no epoch to make")
    one_pass = math.ceil(n_train * (4 if settings.rotations == "all" else 1) / settings.batch_size)
    passes = max(1, int(settings.amortised_passes)) if amortised else 1
    return max(passes * one_pass, int(settings.min_steps_per_epoch))


def learning_rate(settings: TrainingSettings, steps_per_epoch: int):
    """The optimizer's learning rate: a number (``constant``) or a per-step schedule (``cosine``).

    ``cosine``: linear warm-up from 0 over ``warmup_epochs``, then a cosine decay to
    ``final_lr_fraction x learning_rate`` at ``epochs`` (Keras' ``CosineDecay`` with warm-up).

    Parameters
    ----------
    settings : TrainingSettings
    steps_per_epoch : int
        Optimizer steps in one epoch.

    Raises
    ------
    ValueError
        For an unknown schedule.
    """
    if settings.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {settings.lr_schedule!r}")
    if settings.lr_schedule == "constant" and settings.warmup_epochs == 0:
        return settings.learning_rate
    import keras

    warm = max(0, int(settings.warmup_epochs * steps_per_epoch))
    if settings.lr_schedule == "constant":
        return keras.optimizers.schedules.PolynomialDecay(0.0, warm, settings.learning_rate, power=1.0)
    decay = max(1, settings.epochs * steps_per_epoch - warm)
    return keras.optimizers.schedules.CosineDecay(0.0 if warm else settings.learning_rate, decay_steps=decay,
                                                  alpha=settings.final_lr_fraction,
                                                  warmup_target=settings.learning_rate if warm else None,
                                                  warmup_steps=warm)


def callbacks(settings: TrainingSettings, amortised: bool = False) -> list:
    """Keras callbacks of a recipe: early stopping on the validation loss (best weights restored), which may act
    only after ``min_epochs`` - never, for an amortised model with ``settings.amortised_to_cap``.

    Parameters
    ----------
    settings : TrainingSettings
    amortised : bool
        The model learns a whole sweep grid (amortised masking).

    Returns
    -------
    list of keras.callbacks.Callback
    """
    import keras

    start = settings.epochs if amortised and settings.amortised_to_cap else settings.min_epochs
    return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience, restore_best_weights=True,
                                          start_from_epoch=start)]
