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

from .reference import galaxies

__all__ = ["TrainingSettings", "Profile", "PROFILES", "CPU_RECIPE", "GROUP_KFOLD", "KEEP_CENTRE_EPOCHS",
           "ALL_GALAXIES", "get_profile", "profile_table", "settings_text"]

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
        Adam learning rate (the peak of a schedule). The authors' code uses 1e-6 with 200 epochs; narrower nets
        trained for fewer epochs need a larger step.
    lr_schedule : {"constant", "cosine"}
        ``constant`` (the study) or a cosine decay to ``final_lr_fraction x learning_rate`` at ``epochs``
        (:func:`~clusterage_utils.recipe.learning_rate`).
    warmup_epochs : float
        Linear warm-up of the learning rate from 0 (0 = none).
    final_lr_fraction : float
        End of the cosine decay, as a fraction of ``learning_rate``.
    min_epochs : int
        Early stopping may stop (and the best weights are chosen) only from this epoch on.
    collapse_restarts : int
        A network whose validation predictions collapsed to (nearly) one value (their spread below
        ``collapse_spread`` x the labels') is trained again from new initial weights and a new
        order of its training stream, at most this many times; of all attempts the first that did not collapse is
        kept (or, if all did, the one with the lowest validation loss). The record keeps the count (``restarts``)
        and the health report shows it. Decided on the validation set, never the test set.
    collapse_spread : float
        The validation spread (:func:`~clusterage_utils.recipe.prediction_spread`) below which a network counts as
        collapsed (default :data:`~clusterage_utils.recipe.COLLAPSE_SPREAD`). A stricter rule (0.25) restarts the
        distance groups' networks that nearly collapse (see ``folds``); the laptop profile uses it there, with five
        folds (:attr:`Profile.group_training`): on their one-split sweeps alone it changed little.
    min_dense_units : int
        Floor on the width of the hidden dense layers (:func:`~clusterage_utils.model.build_cnn`).
    clipnorm : float
        Clip the global norm of each step's gradient to this value (0 = no clipping; Adam's ``global_clipnorm``).
    min_steps_per_epoch : int
        At least this many optimizer steps per epoch (0: one pass over the training set); the shuffled stream of
        epochs simply runs on. Set to the full sample's steps, a small training set (a near or far group) gets as
        many updates per warm-up, schedule and patience as the full sample. No profile uses it:
        ``benchmarks/bench_small_samples.py`` found it steadies the far group but not the near one.
    amortised_passes : int
        Passes over the training set in one epoch of an amortised model (each pass with new masks and rotations;
        1 = one pass, like a retrained model). One amortised model learns every diameter of its grid, so with one
        pass it sees each (cluster, mask) pair about ``epochs / len(grid)`` times and, on the full sample, never
        learns to read the cluster it sees unmasked in one draw in ten (``benchmarks/bench_amortised.py``).
        Retrained models ignore it (it is not in their hash).
    amortised_to_cap : bool
        An amortised model trains to the epoch cap, where the cosine schedule has annealed, without early
        stopping: its validation loss mixes every diameter with one random mask per cluster, and stopping on it
        kept mid-schedule weights whose seeds disagreed (``benchmarks/bench_amortised.py``). Retrained models ignore
        it.
    networks_per_seed : int
        Networks trained per seed, each from its own initial weights and training stream
        (:func:`~clusterage_utils.recipe.member_seed`), whose predictions are averaged: a record then scores the
        ensemble (1 = one network). No profile uses more than one: on the distance groups, two networks per seed
        did not narrow the seed range (``benchmarks/bench_amortised.py``, results ``amortised_passes_groups``).
    folds : int
        1: one train / validation / test split (the study's 70 / 15 / 15). K >= 2: K-fold evaluation
        (:func:`~clusterage_utils.preprocessing.kfold_split`, random splits only): K networks per seed, each
        trained and validated without one fold and predicting it, so that every cluster of the sample is scored
        once by a network that never saw it - a test set K times larger, at K times the training. Each fold's
        network starts from its own member seed (:func:`~clusterage_utils.recipe.member_seed`). The record's
        scores on the test set pool the folds (each fold's null is its own training mean); its training and
        validation scores, history and stopping are the first fold's. The laptop profile uses five folds (with
        ``collapse_spread`` 0.25) for the distance groups only (:data:`GROUP_KFOLD`, :attr:`Profile.group_training`):
        there they narrowed the seed range on test sets of every cluster of a group
        (``benchmarks/bench_amortised.py``, results ``amortised_folds_groups``), at about six times a group's
        training; the paper profile keeps the study's one split.
    rotations : str
        ``"all"``: every training cutout is seen in its four 90-degree rotations each epoch (the study's x4);
        ``"random"``: one random rotation per cutout per epoch (4x cheaper epochs, same augmentation in expectation).
    flips : bool
        Also flip at random (the study tried it and found no gain).
    input_mode : {"auto", "memory", "stream"}
        ``memory``: the preprocessed cutouts sit in memory as one tensor and ``tf.data`` gathers and rotates
        batches in the graph (fast); ``stream``: batches are read from HDF5 and preprocessed in numpy (memory
        flat in N); ``auto``: memory when the file fits comfortably in this machine's memory. All give identical
        batches (:mod:`~clusterage_utils.inputs`).
    precision : {"float32", "mixed_bfloat16", "mixed_float16", "auto"}
        Compute precision (the output layer always stays float32). ``auto``: bfloat16 on a GPU or on a CPU with
        AMX, float32 otherwise (bfloat16 was slower on an AVX512-BF16 CPU without AMX, measured).
    jit_compile : bool
        XLA compilation of the training step (slower on the 2-core CPU we measured; try it on a GPU).
    seeds : tuple of int
        Independent trainings per case.
    diameters_px : tuple of int
        Mask diameters (px) of the masking sweeps; an amortised model is trained on this grid.
    diameters_pc : tuple of int
        Mask diameters (pc) of the physical-scale sweeps (chapter 10), converted per cluster with its galaxy's
        distance. With amortised masking they are evaluated on the models of the pixel sweep (trained on
        ``diameters_px``), so they add no training.
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


#: The CPU profiles' recipe (``benchmarks/bench_recipe.py`` and ``benchmarks/bench_small_samples.py``, results in
#: ``benchmarks/results/``): Adam peaking at 3e-3 after a two-epoch linear warm-up, cosine decay to 0 at the epoch
#: cap, early stopping only from epoch 8 (patience 5, best weights kept); convolutions 1/16 of the study's width, the
#: hidden dense layers at least 32 units wide; a network that collapsed to one value is trained once more.
#: Why: against a constant 1e-3 with patience 4 the warm-up + cosine schedule removed the stuck and worse-than-null
#: runs of the unstable cases (seed range p90 0.164 -> 0.099 dex, 5 seeds); raising the peak from 1e-3 to 3e-3
#: lowered the mean test scatter and the seed range of all five cases tried (3 seeds; median 0.142 -> 0.078 dex on
#: the two five-band full cases, 0.160 -> 0.050 on three others) at the same cost per epoch. At width 1/16 the dense
#: head would be 32/16/8 ReLUs, and in a laptop build one seed in three sat at the mean in many cases (its seed-1
#: start, the same draw in every case); on the small near / far training sets (5 seeds) the 32-unit floor took the
#: seed range median from 0.198 to 0.082 dex (near) and 0.535 to 0.133 (far), far runs at >= 0.95 x the null
#: 14 -> 5, at the same cost, where a lower peak, gradient clipping, more steps per epoch or more epochs did not.
#: An amortised model learns all ten diameters of a sweep at once; with one pass per epoch its five-band restricted
#: inner curve sat at 0.66 dex unmasked against 0.36 for the retrained network (it never learnt to read the cluster)
#: and its white-light keep-centre curve had 4 runs worse than the null; two passes per epoch brought them to 0.44
#: dex and 1 run, three to 0.42 and 0. With more passes, early stopping on a validation loss that mixes every
#: diameter kept mid-schedule weights whose seeds disagreed (five-band full: seed range median 0.05 -> 0.16 dex);
#: trained to the cap, where the cosine schedule has annealed, they agreed (0.07 in a probe) and scored best. The
#: distance groups keep one pass (:data:`~clusterage_utils.chapters.masking.GROUP_AMORTISED_PASSES`) and also train
#: to the cap (far group: 2 -> 0 runs worse than the null). ``benchmarks/bench_amortised.py``, 3 seeds. Three
#: passes cost the laptop book about 12 minutes (fresh clone, 2 cores: 59 min in all).
CPU_RECIPE = dict(width=1 / 16, batch_size=32, learning_rate=3e-3, lr_schedule="cosine", warmup_epochs=2,
                  final_lr_fraction=0.0, min_epochs=8, patience=5, epochs=15, rotations="random",
                  min_dense_units=32, collapse_restarts=1, amortised_passes=3, amortised_to_cap=True)


#: The distance groups' evaluation in the laptop profile (:attr:`Profile.group_training`): every cluster of a group
#: scored once by 5-fold evaluation, and networks that nearly collapsed (validation spread below 0.25 x the labels')
#: trained again. On the four group panels (3 seeds, 10 diameters) it took the seed range p90 from 0.118 to 0.076
#: dex (largest 0.177 -> 0.145) at 5.8x a group model's training (``benchmarks/bench_amortised.py``, results
#: ``amortised_folds_groups``; the compute page shows the table).
#: Up to three restarts: with one, a white-light far-group seed kept fold networks that collapsed again (validation
#: spread 0.17, seed range up to 0.145 dex on a laptop build); with three, 0.02-0.095.
GROUP_KFOLD = {"folds": 5, "collapse_spread": 0.25, "collapse_restarts": 3}
#: The laptop profile's amortised keep-centre sweeps (:attr:`Profile.keep_centre_training`): 20 epochs instead of
#: 15. A kept centre of a few pixels carries little signal and its models were still learning at the cap; on the
#: white-light full panel 20 epochs took the largest seed range from 0.160 to 0.081 dex and the mean test scatter
#: from 0.936 to 0.895, at 1.6x the time per model (``benchmarks/bench_amortised.py``, results
#: ``amortised_epochs_keep``). The retrained checks on the sweep keep 15: other chapters share them.
KEEP_CENTRE_EPOCHS = {"epochs": 20}


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
        :data:`~clusterage_utils.chapters.masking.GROUP_AMORTISED_PASSES` (empty: the profile's own settings). The
        laptop profile scores every cluster of a group once by 5-fold evaluation and restarts networks whose
        validation predictions spread less than 0.25 x the labels' (:data:`GROUP_KFOLD`): on one split a group's
        test set of 75-99 clusters alone set a seed-range floor of ~0.085 dex, and its networks differed in skill
        (``benchmarks/bench_amortised.py``, results ``amortised_folds_groups``).
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

    from .reference import galaxies

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
