"""Named compute profiles, kept in one place: how big a survey, how wide a network, which recipe, how many seeds.

=========  =====================================================  ===============================================
profile    mock survey                                            training
=========  =====================================================  ===============================================
smoke      3 galaxies, 5 % of Table 1's N (~90 clusters)          1/16-width net, 2 epochs, 1 seed, 3 diameters:
                                                                  seconds, for the tests
laptop     15 galaxies, 25 % of Table 1 (~2,160 clusters)         1/16-width convolutions, dense layers >= 32
                                                                  units, warm-up + cosine learning rate,
                                                                  <= 15 epochs, 3 seeds, 10 diameters, amortised
                                                                  sweeps (3 passes per epoch), distance groups
                                                                  scored by 5-fold evaluation: the book's default
                                                                  on a 2-core CPU
paper      15 galaxies, 100 % (8,651 clusters)                    the study's: full width, Adam 1e-6, 200 epochs,
                                                                  patience 30, 5 seeds, every diameter 0-78 px
                                                                  retrained: GPU-days
=========  =====================================================  ===============================================

The CPU profiles' recipe was chosen by ``benchmarks/bench_recipe.py``; the book's compute page shows the
measurements behind it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..survey.reference import galaxies

__all__ = ["TrainingSettings", "Profile", "PROFILES", "CPU_RECIPE", "GROUP_KFOLD", "KEEP_CENTRE_EPOCHS",
           "ALL_GALAXIES", "GPU_RECIPE", "get_profile", "profile_table", "settings_text"]

ALL_GALAXIES: tuple[str, ...] = tuple(galaxies().index)


@dataclass(frozen=True)
class TrainingSettings:
    """Settings of one training run (shared by all experiments of a profile). How the CPU profiles' values were
    chosen: ``benchmarks/README.md``.

    Attributes
    ----------
    width : float
        Width multiplier of the CNN (1.0 = the study's 128/256/512 conv and 512/256/128 dense).
    epochs, patience : int
        Maximum epochs and early-stopping patience (best weights restored).
    batch_size : int
        Mini-batch size (the study: 32).
    learning_rate : float
        Adam learning rate, the peak of a schedule (the study: 1e-6 with 200 epochs).
    lr_schedule : {"constant", "cosine"}
        ``constant`` (the study) or a cosine decay to ``final_lr_fraction x learning_rate`` at ``epochs``
        (:func:`~.recipe.learning_rate`).
    warmup_epochs : float
        Linear warm-up of the learning rate from 0 (0 = none).
    final_lr_fraction : float
        End of the cosine decay, as a fraction of ``learning_rate``.
    min_epochs : int
        Early stopping may stop (and the best weights are chosen) only from this epoch on.
    collapse_restarts : int
        A network whose validation predictions collapsed (spread below ``collapse_spread`` x the labels') is
        trained again from new initial weights and a new order of its training stream, at most this many times;
        the first attempt that did not collapse is kept (else the one with the lowest validation loss). The record
        keeps the count (``restarts``). Decided on the validation set, never the test set.
    collapse_spread : float
        The validation spread (:func:`~.recipe.prediction_spread`) below which a network counts as
        collapsed (default :data:`~.recipe.COLLAPSE_SPREAD`).
    min_dense_units : int
        Floor on the width of the hidden dense layers (:func:`~.model.build_cnn`).
    clipnorm : float
        Clip the global norm of each step's gradient to this value (0 = no clipping; Adam's ``global_clipnorm``).
    min_steps_per_epoch : int
        At least this many optimizer steps per epoch (0: one pass over the training set); the shuffled stream
        runs on.
    amortised_passes : int
        Passes over the training set in one epoch of an amortised model, each with new masks and rotations
        (1 = one pass). Retrained models ignore it (it is not in their hash).
    amortised_to_cap : bool
        An amortised model trains to the epoch cap without early stopping. Retrained models ignore it.
    networks_per_seed : int
        Networks trained per seed, each from its own initial weights and training stream
        (:func:`~.recipe.member_seed`), whose predictions are averaged (1 = one network).
    folds : int
        1: one train / validation / test split (the study's 70 / 15 / 15). K >= 2: K-fold evaluation
        (:func:`~.preprocessing.kfold_split`, random splits only): K networks per seed, each
        trained without one fold and predicting it, so that every cluster is scored once by a network that never
        saw it. The record's test scores pool the folds (each fold's null is its own training mean); its training
        and validation scores, history and stopping are the first fold's.
    rotations : str
        ``"all"``: every training cutout in its four 90-degree rotations each epoch (the study's x4);
        ``"random"``: one random rotation per cutout per epoch.
    flips : bool
        Also flip at random (the study tried it and found no gain).
    input_mode : {"auto", "memory", "stream"}
        ``memory``: the preprocessed cutouts in memory, batches gathered and rotated in the graph; ``stream``:
        batches read from HDF5 and preprocessed in numpy (memory flat in N); ``auto``: memory when the file fits
        comfortably. All give identical batches (:mod:`~.inputs`).
    precision : {"float32", "mixed_bfloat16", "mixed_float16", "auto"}
        Compute precision (the output layer stays float32). ``auto``: bfloat16 on a GPU or on a CPU with AMX,
        float32 otherwise.
    jit_compile : bool
        XLA compilation of the training step.
    seeds : tuple of int
        Independent trainings per case.
    diameters_px : tuple of int
        Mask diameters (px) of the masking sweeps; an amortised model is trained on this grid.
    diameters_pc : tuple of int
        Mask diameters (pc) of the physical-scale sweeps (chapter 10), converted per cluster with its galaxy's
        distance; with amortised masking they are evaluated on the models of the pixel grid.
    """

    width: float = 1.0
    epochs: int = 200
    patience: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-6
    lr_schedule: str = "constant"
    warmup_epochs: float = 0
    final_lr_fraction: float = 0.0
    min_epochs: int = 0
    min_steps_per_epoch: int = 0
    amortised_passes: int = 1
    amortised_to_cap: bool = False
    min_dense_units: int = 4
    clipnorm: float = 0.0
    collapse_restarts: int = 0
    collapse_spread: float = 0.1
    networks_per_seed: int = 1
    folds: int = 1
    rotations: str = "all"
    flips: bool = False
    input_mode: str = "auto"
    precision: str = "float32"
    jit_compile: bool = False
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    diameters_px: tuple[int, ...] = tuple(range(0, 80, 2))
    diameters_pc: tuple[int, ...] = tuple(range(0, 160, 10))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The CPU profiles' recipe: Adam peaking at 3e-3 after a two-epoch linear warm-up, cosine decay to 0 at the epoch cap,
#: early stopping from epoch 8 (patience 5), convolutions 1/16 of the study's width with dense layers >= 32 units, one
#: restart after a collapse; amortised models make three passes per epoch and train to the cap. Why:
#: ``benchmarks/README.md`` (recipe, small samples, amortised sweeps).
CPU_RECIPE = dict(width=1 / 16, batch_size=32, learning_rate=3e-3, lr_schedule="cosine", warmup_epochs=2,
                  final_lr_fraction=0.0, min_epochs=8, patience=5, epochs=15, rotations="random",
                  min_dense_units=32, collapse_restarts=1, amortised_passes=3, amortised_to_cap=True)


#: The distance groups' evaluation in the laptop profile (:attr:`Profile.group_training`): 5-fold evaluation, restarts
#: below 0.25 x the labels' spread, up to three. Why: ``benchmarks/README.md`` (amortised sweeps, K-fold).
GROUP_KFOLD = {"folds": 5, "collapse_spread": 0.25, "collapse_restarts": 3}
#: The laptop profile's amortised keep-centre sweeps (:attr:`Profile.keep_centre_training`): 20 epochs instead of 15.
#: Why: ``benchmarks/README.md`` (amortised sweeps, epochs).
KEEP_CENTRE_EPOCHS = {"epochs": 20}


#: The ``gpu`` profile's recipe for the study's full-width network: the CPU recipe's warm-up, cosine schedule and
#: restart rule with a lower peak for a network 16 times wider, 20 epochs, bfloat16 compute (float32 weights).
#: Sized for one H100/H200-class GPU from measured speeds (``clusterage plan --profile gpu``, the compute page);
#: the peak and the epochs await ``benchmarks/bench_recipe.py`` on such a GPU.
GPU_RECIPE = dict(width=1.0, batch_size=32, learning_rate=3e-4, lr_schedule="cosine", warmup_epochs=2,
                  final_lr_fraction=0.0, min_epochs=8, patience=6, epochs=20, rotations="random",
                  min_dense_units=4, collapse_restarts=1, amortised_passes=3, amortised_to_cap=True,
                  precision="mixed_bfloat16")


@dataclass(frozen=True)
class Profile:
    """A named profile: mock-survey size, training settings, and how the masking sweeps are made.

    Attributes
    ----------
    name : str
    galaxies : tuple of str
        Table 1 galaxies of the mock survey.
    fraction : float
        Fraction of Table 1's N per galaxy.
    training : TrainingSettings
    description : str
    sweep_masking : {"retrain", "amortised"}
        The masking method of the sweeps (chapters 03, 04, 06, 09, 10): one network per diameter (the study), or
        one per panel and seed trained on random diameters, with the study's cases retrained as checks.
    group_training : dict
        :class:`TrainingSettings` fields that the distance groups' sweeps (chapters 06 and 10) change, on top of
        :data:`~clusterage_utils.analysis.chapters.masking.GROUP_AMORTISED_PASSES` (empty: the profile's own settings;
        laptop: :data:`GROUP_KFOLD`).
    keep_centre_training : dict
        :class:`TrainingSettings` fields that the amortised keep-centre sweeps of the whole sample (chapter 04)
        change (laptop: :data:`KEEP_CENTRE_EPOCHS`).
    extensions : {"full", "core"}
        How much of the chapters beyond the study (07 truth tests, 08 leakage, 13 normalisation) to train: every
        variant (``full``), or a core subset that still answers each chapter's question (``core``: the no-coupling
        survey against the book's own, the environment case under the leakage splits, two non-linear stretches,
        and the authors' code on one inner- and one outer-masked case). The CPU profiles use ``core`` so that
        the study's own figures get the seeds and sweep points.
    """

    name: str
    galaxies: tuple[str, ...]
    fraction: float
    training: TrainingSettings = field(default_factory=TrainingSettings)
    description: str = ""
    sweep_masking: str = "retrain"
    extensions: str = "full"
    group_training: dict = field(default_factory=dict)
    keep_centre_training: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.sweep_masking not in ("retrain", "amortised"):
            raise ValueError(f"sweep_masking must be 'retrain' or 'amortised', got {self.sweep_masking!r}")
        if self.extensions not in ("full", "core"):
            raise ValueError(f"extensions must be 'full' or 'core', got {self.extensions!r}")
        fields = {f.name for f in dataclasses.fields(TrainingSettings)}
        for name in ("group_training", "keep_centre_training"):
            unknown = set(getattr(self, name)) - fields
            if unknown:
                raise ValueError(f"profile {self.name!r}: {name} names no TrainingSettings field: "
                                 f"{', '.join(sorted(unknown))}")


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        galaxies=("IC_5332", "NGC_628C", "NGC_1566"),
        fraction=0.05,
        training=TrainingSettings(**{**CPU_RECIPE, "epochs": 2, "min_epochs": 0, "patience": 1, "warmup_epochs": 0,
                                     "collapse_restarts": 0, "amortised_passes": 1},
                                  seeds=(0,), diameters_px=(0, 12, 24), diameters_pc=(0, 20, 40)),
        description="seconds: tests and CI",
        sweep_masking="amortised",
        extensions="core",
    ),
    "laptop": Profile(
        name="laptop",
        galaxies=ALL_GALAXIES,
        fraction=0.25,
        training=TrainingSettings(**CPU_RECIPE, seeds=(0, 1, 2), diameters_px=(0, 2, 4, 6, 8, 12, 16, 24, 32, 48),
                                  diameters_pc=(0, 15, 30, 60)),
        description="the book's default, for a 2-core CPU (its time: the compute page)",
        sweep_masking="amortised",
        extensions="core",
        group_training=GROUP_KFOLD,
        keep_centre_training=KEEP_CENTRE_EPOCHS,
    ),
    "gpu": Profile(
        name="gpu",
        galaxies=ALL_GALAXIES,
        fraction=1.0,
        training=TrainingSettings(**GPU_RECIPE, seeds=(0, 1, 2, 3, 4), diameters_px=tuple(range(0, 80, 2)),
                                  diameters_pc=tuple(range(0, 160, 10))),
        description="the study's network and survey size on one GPU (KERAS_BACKEND=jax; its time: the compute page)",
        sweep_masking="amortised",
        extensions="full",
        group_training=GROUP_KFOLD,
    ),
    "paper": Profile(
        name="paper",
        galaxies=ALL_GALAXIES,
        fraction=1.0,
        training=TrainingSettings(),
        description="the study's settings: GPU-days",
    ),
}


def get_profile(name: str | Profile) -> Profile:
    """The profile of this name (a :class:`Profile` is returned as it is).

    Raises
    ------
    ValueError
        For an unknown name, listing the allowed names.
    """
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}") from None


def settings_text(changes: dict) -> str:
    """Setting changes (:attr:`Profile.group_training`, :attr:`Profile.keep_centre_training`) as
    ``"name=value, ..."`` for tables and prose; ``"none"`` for no change."""
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "none"


def profile_table():
    """The profiles side by side (for the compute page): survey size and every training setting that differs
    between them."""
    import pandas as pd

    from ..survey.reference import galaxies

    g = galaxies()
    rows = []
    for p in PROFILES.values():
        t = p.training
        rows.append({"profile": p.name, "galaxies": len(p.galaxies), "fraction": p.fraction,
                     "clusters": int(sum(round(p.fraction * g.loc[x, "n_clusters"]) for x in p.galaxies)),
                     "width": t.width, "min_dense_units": t.min_dense_units,
                     "collapse_restarts": t.collapse_restarts, "epochs": t.epochs, "patience": t.patience,
                     "min_epochs": t.min_epochs,
                     "learning_rate": t.learning_rate, "schedule": t.lr_schedule, "warmup_epochs": t.warmup_epochs,
                     "rotations": t.rotations, "seeds": len(t.seeds),
                     "sweep_diameters_px": ", ".join(str(d) for d in t.diameters_px),
                     "sweep_masking": p.sweep_masking, "amortised_passes": t.amortised_passes,
                     "extensions": p.extensions,
                     "group_training": settings_text(p.group_training),
                     "keep_centre_training": settings_text(p.keep_centre_training),
                     "purpose": p.description})
    return pd.DataFrame(rows).set_index("profile")
