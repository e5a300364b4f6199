"""Named compute profiles, kept in one place: how big a survey, how wide a network, how many seeds.

=========  ==========================================================  ===========================================
profile    mock survey                                                 training
=========  ==========================================================  ===========================================
smoke      3 galaxies, 5 % of Table 1's N (~90 clusters), seconds      1/16-width net, 2 epochs, 1 seed, 3 diameters
laptop     15 galaxies, 25 % of Table 1 (~2,160 clusters), ~1 min      1/16-width net, <= 15 epochs, 2 seeds, 5 diameters
paper      15 galaxies, 100 % (8,651 clusters)                         the study's: full width, 200 epochs,
                                                                       patience 30, 5 seeds, diameters 0-78 step 2
=========  ==========================================================  ===========================================

Each choice and its cost is discussed on the book's compute page.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .reference import galaxies

ALL_GALAXIES: tuple[str, ...] = tuple(galaxies().index)


@dataclass(frozen=True)
class TrainingSettings:
    """Settings of one training run (shared by all experiments of a profile).

    Attributes
    ----------
    width : float
        Width multiplier of the CNN (1.0 = the study's 128/256/512 conv and 512/256/128 dense).
    epochs, patience : int
        Maximum epochs and early-stopping patience (best weights restored).
    batch_size : int
        Mini-batch size (the study: 32).
    learning_rate : float
        Adam learning rate. The authors' code uses 1e-6 with 200 epochs; narrower nets trained for fewer epochs
        need a larger step.
    rotations : str
        ``"all"``: every training cutout is seen in its four 90-degree rotations each epoch (the study's x4);
        ``"random"``: one random rotation per cutout per epoch (4x cheaper epochs, same augmentation in expectation).
    flips : bool
        Also flip at random (the study tried it and found no gain).
    input_mode : {"memory", "stream"}
        Read the cutout file once into memory (fast) or stream batches from HDF5 (memory flat in N);
        both give identical batches.
    precision : {"float32", "mixed_bfloat16", "mixed_float16", "auto"}
        Compute precision (the output layer always stays float32). ``auto``: bfloat16 on a GPU or on a CPU with
        AMX, float32 otherwise (bfloat16 was slower on an AVX512-BF16 CPU without AMX, measured).
    jit_compile : bool
        XLA compilation of the training step (slower on the 2-core CPU we measured; try it on a GPU).
    seeds : tuple of int
        Independent trainings per case.
    diameters_px : tuple of int
        Mask diameters of the masking sweeps.
    """

    width: float = 1.0
    epochs: int = 200
    patience: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-6
    rotations: str = "all"
    flips: bool = False
    input_mode: str = "memory"
    precision: str = "float32"
    jit_compile: bool = False
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    diameters_px: tuple[int, ...] = tuple(range(0, 80, 2))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Profile:
    """A named profile: mock-survey size plus training settings."""

    name: str
    galaxies: tuple[str, ...]
    fraction: float
    training: TrainingSettings = field(default_factory=TrainingSettings)
    description: str = ""
    #: Mask diameters in parsec of the physical-scale chapter (converted per galaxy with its distance).
    diameters_pc: tuple[int, ...] = tuple(range(0, 160, 10))


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        galaxies=("IC_5332", "NGC_628C", "NGC_1566"),
        fraction=0.05,
        training=TrainingSettings(width=1 / 16, epochs=2, patience=1, batch_size=32, learning_rate=1e-3,
                                  rotations="random", seeds=(0,), diameters_px=(0, 12, 24)),
        description="seconds: tests and CI",
        diameters_pc=(0, 20, 40),
    ),
    "laptop": Profile(
        name="laptop",
        galaxies=ALL_GALAXIES,
        fraction=0.25,
        training=TrainingSettings(width=1 / 16, epochs=15, patience=4, batch_size=32, learning_rate=1e-3,
                                  rotations="random", seeds=(0, 1), diameters_px=(0, 6, 12, 24, 48)),
        description="the book's default: a 2-core laptop in under an hour",
        diameters_pc=(0, 15, 40),
    ),
    "paper": Profile(
        name="paper",
        galaxies=ALL_GALAXIES,
        fraction=1.0,
        training=TrainingSettings(),
        description="the study's settings: GPU-days",
    ),
}


def get_profile(name: str) -> Profile:
    """Return the named profile, or raise a ValueError listing the allowed names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}") from None
