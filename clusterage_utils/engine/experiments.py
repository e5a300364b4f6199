"""Experiment descriptions with a stable hash, the study's named cases (Figs. 4-5) and sweeps (Figs. 3, 8)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from ..survey.reference import study_scatter
from ..sweeps import DIAMETER_UNITS, MASK_KINDS, MaskKind, Sweep
from .preprocessing import INPUTS, NORMALISATIONS, SAMPLES, SPLITS
from .profiles import Profile, TrainingSettings

__all__ = ["Experiment", "case_name", "LABELS", "GROUPS", "MASKINGS", "DIAMETER_UNITS", "ENGINE_VERSION", "parse_case",
           "study_cases", "fig4_cases", "fig5_cases", "case_experiments", "masking_sweep",
           "named_experiments"]

LABELS = ("reference", "shuffled", "true")
GROUPS = (None, "near", "far")
#: Masking methods: how a sweep of diameters is trained (see the package docstring for the vocabulary).
MASKINGS = ("retrain", "amortised")

#: Fields that stay out of the hash at these values, so adding them did not change existing keys.
_HASH_NEUTRAL = {"masking": "retrain", "diameter_unit": "px"}
#: The same for training settings: each field's value from before it existed (the engine's behaviour then). Not
#: :class:`TrainingSettings`' defaults, though equal today: a default may change, a stored key may not.
_HASH_NEUTRAL_TRAINING = {"flips": False, "precision": "float32", "jit_compile": False, "lr_schedule": "constant",
                          "warmup_epochs": 0, "final_lr_fraction": 0.0, "min_epochs": 0,
                          "min_steps_per_epoch": 0, "clipnorm": 0.0, "amortised_passes": 1,
                          "amortised_to_cap": False,
                          "collapse_restarts": 0, "min_dense_units": 4, "networks_per_seed": 1,
                          "folds": 1, "collapse_spread": 0.1}
#: Never in the hash: ``input_mode`` (every mode gives identical batches), ``seeds`` (the experiment's own seed is
#: ``Experiment.seed``; adding a seed to a profile must not retrain the others) and the sweep grids, which only an
#: amortised model is trained on (it keeps the grid of its unit).
_NEVER_IN_HASH_TRAINING = ("input_mode", "seeds", "diameters_px", "diameters_pc")

#: Fields shown in a case name only when off their default, as ``<token>-<value>``.
_CASE_TOKENS = (("split", "split", "random"), ("splitseed", "split_seed", 42), ("norm", "normalisation", "instance"),
                ("masks", "mask_convention", "geometric"), ("layers", "layer_order", "paper"))

#: Bumped whenever the engine changes what a given experiment produces (part of every hash): 2 = explicitly
#: seeded initial weights; 3 = oneDNN kernels, a step per epoch, recipe fields, seeds and sweep grids out of the
#: hash of retrained models.
ENGINE_VERSION = 3


@dataclass(frozen=True)
class Experiment:
    """One training run, fully described.

    Attributes
    ----------
    input : {"five_band", "white_light"}
    sample : {"full", "restricted"}
    mask : MaskKind
        Which pixels are hidden (:class:`~clusterage_utils.sweeps.MaskKind`; a string value is read as one).
    diameter : int
        Mask diameter in ``diameter_unit`` (ignored for ``mask="none"``, stored as 0).
    labels : {"reference", "shuffled", "true"}
        ``reference`` = the catalogue's SED age (the study), ``shuffled`` = the same labels permuted among the
        training clusters (a control: nothing to learn), ``true`` = the mock's true age.
    split, split_seed : str, int
        Split strategy and its seed (the study: random, 42).
    normalisation, mask_convention, layer_order : str
        Preprocessing and architecture variants (defaults: the paper's text).
    group : {None, "near", "far"}
        Restrict to a distance group of galaxies (Figs. 6-7).
    diameter_unit : {"px", "pc"}
        ``pc``: a physical diameter, converted per cluster with its galaxy's distance (``pc_per_px``); the pixel
        mask is capped at the cutout width.
    masking : {"retrain", "amortised"}
        ``retrain``: a model trained with this mask (the study). ``amortised``: one model per (input, sample,
        mask kind, seed) trained with a diameter drawn per example from the profile's sweep grid, evaluated here.
    seed : int
        Weight initialisation and shuffling seed (the study's 5 models per case differ here).
    training : TrainingSettings
        From the profile.
    """

    input: str = "five_band"
    sample: str = "full"
    mask: MaskKind = MaskKind.NONE
    diameter: int = 0
    labels: str = "reference"
    split: str = "random"
    split_seed: int = 42
    normalisation: str = "instance"
    mask_convention: str = "geometric"
    layer_order: str = "paper"
    group: str | None = None
    masking: str = "retrain"
    diameter_unit: str = "px"
    seed: int = 0
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def __post_init__(self):
        object.__setattr__(self, "mask", MaskKind(self.mask))
        for name, allowed in (("input", INPUTS), ("sample", SAMPLES), ("mask", MASK_KINDS), ("labels", LABELS),
                              ("normalisation", NORMALISATIONS), ("group", GROUPS), ("masking", MASKINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"Experiment.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.split not in SPLITS:
            raise ValueError(f"Experiment.split must be one of {list(SPLITS)}, got {self.split!r}")
        if self.diameter_unit not in DIAMETER_UNITS:
            raise ValueError(f"Experiment.diameter_unit must be 'px' or 'pc', got {self.diameter_unit!r}")
        if self.diameter < 0:
            raise ValueError(f"Experiment.diameter must be >= 0, got {self.diameter}: a diameter cannot be negative")
        if self.mask is MaskKind.NONE:
            object.__setattr__(self, "diameter", 0)
            object.__setattr__(self, "diameter_unit", "px")
            if self.masking == "amortised":
                raise ValueError("Experiment.masking='amortised' needs a mask kind (mask_centre or keep_centre)")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["mask"] = self.mask.value
        d["training"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["training"].items()}
        return d

    @property
    def grid(self) -> tuple:
        """The pixel diameters an amortised model is trained on (``diameters_px``), whatever this experiment's
        unit: a sweep in parsec evaluates the same model as the sweep in pixels, each cluster masked at its own
        diameter in pixels (chapter 10), so the two curves differ only in their masks."""
        return self.training.diameters_px

    @classmethod
    def from_dict(cls, d: dict) -> Experiment:
        """The experiment of a record (also reads records written before ``diameter_px`` became ``diameter``)."""
        d = dict(d)
        if "diameter_px" in d:
            d["diameter"] = d.pop("diameter_px")
        t = {k: tuple(v) if isinstance(v, list) else v for k, v in d.pop("training").items()}
        return cls(**d, training=TrainingSettings(**t))

    def _hash_dict(self) -> dict:
        d = self.to_dict()
        for k, v in _HASH_NEUTRAL.items():
            if d.get(k) == v:
                d.pop(k)
        t = d["training"]
        grid = list(self.grid)
        for k in _NEVER_IN_HASH_TRAINING:
            t.pop(k, None)
        for k, v in _HASH_NEUTRAL_TRAINING.items():
            if t.get(k) == v:
                t.pop(k)
        if self.masking == "amortised":
            t["grid"] = grid
        else:                                  # settings of amortised models only
            t.pop("amortised_passes", None)
            t.pop("amortised_to_cap", None)
        d["engine"] = ENGINE_VERSION
        return d

    @property
    def hash(self) -> str:
        """Stable 16-hex-digit hash of every field that changes results (the store's key, with the data
        fingerprint)."""
        return hashlib.sha256(json.dumps(self._hash_dict(), sort_keys=True).encode()).hexdigest()[:16]

    @property
    def training_group(self) -> str:
        """Hash of the model this experiment is evaluated on: its own for retraining; for amortised masking shared
        by every diameter, in px or pc (:attr:`grid`)."""
        if self.masking != "amortised":
            return self.hash
        d = self._hash_dict()
        d["diameter"] = None
        d.pop("diameter_unit", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def case(self) -> str:
        """Case name without the seed: ``<input>_<sample>_<mask>[_<diameter>[pc]]`` then a token for every
        field off its default, e.g. ``white_light_full_mask_centre_24_shuffled``,
        ``five_band_full_none_split-spatial``, ``white_light_full_mask_centre_24_norm-authors_masks-authors``
        (:func:`parse_case` reads them back)."""
        s = case_name(self.input, self.sample, self.mask, self.diameter, self.diameter_unit)
        if self.labels != "reference":
            s += f"_{self.labels}"
        if self.group:
            s += f"_{self.group}"
        if self.masking != "retrain":
            s += f"_{self.masking}"
        for token, field_name, default in _CASE_TOKENS:
            value = getattr(self, field_name)
            if value != default:
                s += f"_{token}-{value}"
        return s

    @property
    def base_case(self) -> str:
        """The case name without its variant tokens (split, normalisation, mask convention, layer order): the
        same case under the study's split and preprocessing, e.g. to set variants side by side."""
        return dataclasses.replace(self, **{f: d for _, f, d in _CASE_TOKENS}).case

    @property
    def name(self) -> str:
        return f"{self.case}/seed{self.seed}"


def case_name(input: str, sample: str, mask: str, diameter=0, diameter_unit: str = "px") -> str:
    """The name of a case's core: ``<input>_<sample>_<mask>[_<diameter>[pc]]`` (what :attr:`Experiment.case`
    starts with, and how the study's configurations are named)."""
    mask = MaskKind(mask)
    if mask is MaskKind.NONE:
        return f"{input}_{sample}_{mask.value}"
    return f"{input}_{sample}_{mask.value}_{int(diameter)}" + ("pc" if diameter_unit == "pc" else "")


def _seeds(exp: Experiment, profile: Profile) -> list[Experiment]:
    return [dataclasses.replace(exp, seed=s, training=profile.training) for s in profile.training.seeds]


def parse_case(name: str) -> Experiment:
    """Experiment (seed 0) from a case name like ``white_light_full_mask_centre_24_shuffled``.

    Raises
    ------
    ValueError
        For an unknown name, listing the study's named cases.
    """
    parts = name.split("_")
    try:
        inp = "_".join(parts[:2])
        sample = parts[2]
        rest = parts[3:]
        if rest[:1] == [MaskKind.NONE.value]:
            mask, diam, rest, unit = MaskKind.NONE, 0, rest[1:], "px"
        else:
            unit = "pc" if rest[2].endswith("pc") else "px"
            mask, diam, rest = "_".join(rest[:2]), int(rest[2].removesuffix("pc")), rest[3:]
        fields: dict = {"labels": "reference", "group": None, "masking": "retrain"}
        tokens = {t: (f, type(d)) for t, f, d in _CASE_TOKENS}
        for r in rest:
            if r in LABELS:
                fields["labels"] = r
            elif r in ("near", "far"):
                fields["group"] = r
            elif r in MASKINGS:
                fields["masking"] = r
            elif "-" in r and r.split("-", 1)[0] in tokens:
                token, value = r.split("-", 1)
                field_name, kind = tokens[token]
                fields[field_name] = kind(value)
            else:
                raise ValueError(r)
        return Experiment(input=inp, sample=sample, mask=mask, diameter=diam, diameter_unit=unit, **fields)
    except (ValueError, IndexError) as e:
        if str(e).startswith("Experiment."):   # a well-formed name with a value out of range (a negative diameter)
            raise ValueError(f"case {name!r}: {e}") from None
        raise ValueError(f"unknown case {name!r}; cases look like five_band_full_none, "
                         f"white_light_restricted_keep_centre_12, white_light_full_mask_centre_24_shuffled; "
                         f"the study's: {', '.join(study_cases())}") from None


def study_cases() -> list[str]:
    """The 16 configurations of the authors' released runs (Figs. 4-5), as case names."""
    t = study_scatter()
    return [case_name(r.input, r.sample, r.mask, r.diameter_px) for r in t.itertuples()]


def fig4_cases() -> list[str]:
    """Fig. 4 (full sample): 5-band; white light; white light keep 24 / 12 px; mask 12 / 24 px; shuffled control."""
    return ["five_band_full_none", "white_light_full_none", "white_light_full_keep_centre_24",
            "white_light_full_keep_centre_12", "white_light_full_mask_centre_12", "white_light_full_mask_centre_24",
            "white_light_full_mask_centre_24_shuffled"]


def fig5_cases() -> list[str]:
    """Fig. 5: Fig. 4's cases plus 5-band keep 12 px, on the full and the restricted sample."""
    out = []
    for sample in ("full", "restricted"):
        out += [c.replace("_full_", f"_{sample}_") for c in fig4_cases()]
        out.append(f"five_band_{sample}_keep_centre_12")
        out.append(f"five_band_{sample}_mask_centre_12")
    return list(dict.fromkeys(out))


def case_experiments(names, profile: Profile, **overrides) -> list[Experiment]:
    """Experiments (all the profile's seeds) for case names."""
    return [e for n in names for e in _seeds(dataclasses.replace(parse_case(n), **overrides), profile)]


def masking_sweep(sweep: Sweep, input: str, sample: str, profile: Profile, **overrides) -> list[Experiment]:
    """A masking sweep (the study's Figs. 3 and 8) of one (input, sample) panel, every seed of the profile.

    Parameters
    ----------
    sweep : Sweep
        The mask kind, diameters and unit (:meth:`~clusterage_utils.sweeps.Sweep.points`: an inner sweep's
        diameter 0 is the unmasked case, an outer sweep has none); a sweep without diameters takes the profile's
        grid of its unit.
    input, sample : str
    profile : Profile
        Seeds and training settings (an amortised model is trained on its grid of the sweep's unit).
    **overrides
        Other :class:`Experiment` fields, e.g. ``masking="amortised"`` (one model per seed trained on the
        profile's grid, evaluated at each diameter) or ``group``.
    """
    amortised = overrides.get("masking", "retrain") == "amortised"
    return [e for mask, diameter in sweep.on_grid_of(profile.training).points(amortised)
            for e in _seeds(Experiment(input=input, sample=sample, mask=mask, diameter=diameter,
                                       diameter_unit=sweep.unit, **overrides), profile)]


def named_experiments(name: str, profile: Profile) -> list[Experiment]:
    """Expand a name from the command line: a case name, ``fig4``, ``fig5``, ``study``, or a sweep
    ``inner_sweep`` / ``outer_sweep`` (all four input x sample panels, by the profile's ``sweep_masking``)."""
    if name == "fig4":
        return case_experiments(fig4_cases(), profile)
    if name == "fig5":
        return case_experiments(fig5_cases(), profile)
    if name == "study":
        return case_experiments(study_cases(), profile)
    if name in ("inner_sweep", "outer_sweep"):
        sweep = Sweep(MaskKind.MASK_CENTRE if name == "inner_sweep" else MaskKind.KEEP_CENTRE)
        return [e for i in ("five_band", "white_light") for s in ("full", "restricted")
                for e in masking_sweep(sweep, i, s, profile, masking=profile.sweep_masking)]
    return case_experiments([name], profile)
