"""Masking sweeps: which pixels a mask hides (:class:`MaskKind`), and a sweep of one kind over diameters
(:class:`Sweep`).

A **mask kind** says which pixels of a cutout are hidden: ``none``, ``mask_centre`` (a central circle: inner
masking, the study's Fig. 3) or ``keep_centre`` (everything outside it: outer masking, Fig. 8). A **sweep** is one
masked kind over a set of diameters in one unit (``px``, or ``pc`` converted per cluster with its galaxy's
distance). An inner sweep starts at diameter 0, the unmasked cutout, whose records have the kind ``none`` when
each diameter is a network of its own; an outer sweep starts at the smallest kept diameter above 0 (keeping
nothing shows nothing). The values of :class:`MaskKind` are the strings stored in records, case names and
experiment hashes.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from .constants import APERTURE_DIAMETER_PX

__all__ = ["MaskKind", "MASK_KINDS", "SWEEP_KINDS", "DIAMETER_UNITS", "Sweep", "record_sweep_kinds"]


class MaskKind(str, Enum):
    """Which pixels of a cutout are hidden; each member is equal to, hashes as and prints as the string stored in
    records and hashes (``MaskKind.MASK_CENTRE == "mask_centre"``).

    Raises
    ------
    ValueError
        For a value that is no mask kind, listing the kinds.
    """

    NONE = "none"
    MASK_CENTRE = "mask_centre"
    KEEP_CENTRE = "keep_centre"

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def _missing_(cls, value):
        raise ValueError(f"mask kind must be one of {[k.value for k in cls]}, got {value!r}")

    def visible(self, inside: np.ndarray) -> np.ndarray:
        """Where the network sees data, given the boolean circle ``inside`` (True inside the mask's circle)."""
        inside = np.asarray(inside, bool)
        if self is MaskKind.NONE:
            return np.ones_like(inside)
        return ~inside if self is MaskKind.MASK_CENTRE else inside


#: Every mask kind, in the order of :class:`MaskKind`.
MASK_KINDS: tuple[MaskKind, ...] = tuple(MaskKind)
#: The kinds a sweep is made of (a sweep of ``none`` hides nothing).
SWEEP_KINDS: tuple[MaskKind, ...] = (MaskKind.MASK_CENTRE, MaskKind.KEEP_CENTRE)
#: Units of a mask diameter: pixels, or parsec (converted per cluster with its galaxy's distance).
DIAMETER_UNITS: tuple[str, ...] = ("px", "pc")


@dataclass(frozen=True)
class Sweep:
    """One mask kind over a set of diameters in one unit.

    Attributes
    ----------
    kind : MaskKind
        ``mask_centre`` (inner sweep) or ``keep_centre`` (outer sweep).
    diameters : tuple of float, optional
        Mask diameters in ``unit``; None: a sweep that takes whatever diameters its records have (to select and
        order records).
    unit : {"px", "pc"}

    Raises
    ------
    ValueError
        For a kind that is not a sweep kind, an unknown unit or a negative diameter.
    """

    kind: MaskKind
    diameters: tuple[float, ...] | None = None
    unit: str = "px"

    def __post_init__(self):
        kind = MaskKind(self.kind)
        if kind not in SWEEP_KINDS:
            raise ValueError(f"a sweep's kind must be one of {[k.value for k in SWEEP_KINDS]}, got {kind.value!r}")
        if self.unit not in DIAMETER_UNITS:
            raise ValueError(f"a sweep's unit must be one of {DIAMETER_UNITS}, got {self.unit!r}")
        object.__setattr__(self, "kind", kind)
        if self.diameters is not None:
            diameters = tuple(self.diameters)
            if any(d < 0 for d in diameters):
                raise ValueError(f"sweep diameters must be >= 0 {self.unit}, got {list(diameters)}")
            object.__setattr__(self, "diameters", diameters)

    @property
    def is_inner(self) -> bool:
        """An inner sweep (``mask_centre``): a larger diameter hides more, and diameter 0 is the unmasked cutout."""
        return self.kind is MaskKind.MASK_CENTRE

    @property
    def record_kinds(self) -> tuple[MaskKind, ...]:
        """The mask kinds of the sweep's records: an inner sweep owns the unmasked records (its diameter 0)."""
        return (MaskKind.NONE, self.kind) if self.is_inner else (self.kind,)

    def points(self, amortised: bool = False) -> list[tuple[MaskKind, float]]:
        """(mask kind, diameter) of each point of the sweep, in ``diameters`` order.

        An outer sweep leaves out diameter 0 (nothing kept). An inner sweep's diameter 0 is the unmasked case
        (kind ``none``); with ``amortised`` it stays of the sweep's kind: the shared network evaluated without a
        mask.

        Raises
        ------
        ValueError
            For a sweep without diameters.
        """
        if self.diameters is None:
            raise ValueError(f"the {self.kind.value} sweep has no diameters to make points of")
        return [(MaskKind.NONE if diameter == 0 and self.is_inner and not amortised else self.kind, diameter)
                for diameter in self.diameters if diameter > 0 or self.is_inner]

    def on_grid_of(self, training) -> Sweep:
        """This sweep, or for one without diameters the grid of its unit in ``training`` (a
        :class:`~clusterage_utils.engine.profiles.TrainingSettings`: ``diameters_px`` or ``diameters_pc``)."""
        if self.diameters is not None:
            return self
        grid = training.diameters_pc if self.unit == "pc" else training.diameters_px
        return Sweep(self.kind, grid, self.unit)

    def selects(self, records):
        """Boolean Series: which rows of ``records`` (store rows or summaries with ``mask`` and ``diameter``;
        ``diameter_unit`` if present) belong to this sweep - its kinds, in its unit (unmasked rows in any unit)."""
        rows = records["mask"].isin([k.value for k in self.record_kinds])
        if "diameter_unit" in records:
            rows &= records["diameter_unit"].fillna("px").eq(self.unit) | records["mask"].eq(MaskKind.NONE.value)
        return rows

    def ordered(self, records):
        """The sweep's rows of ``records`` by diameter (unmasked rows at diameter 0)."""
        rows = records[self.selects(records)].copy()
        rows.loc[rows["mask"] == MaskKind.NONE.value, "diameter"] = 0
        return rows.sort_values("diameter")

    def neighbours(self, records) -> list[tuple]:
        """(more hidden, less hidden) row pairs of neighbouring diameters, by diameter (:meth:`ordered`): an
        inner mask hides more at the larger diameter, an outer one at the smaller."""
        rows = self.ordered(records)
        pairs = [(rows.iloc[i], rows.iloc[i + 1]) for i in range(len(rows) - 1)]
        return [(large, small) if self.is_inner else (small, large) for small, large in pairs]

    @property
    def aperture_marker(self) -> float | None:
        """Where the photometric aperture of the reference ages lies on the diameter axis (px; None in pc, where
        it differs from cluster to cluster)."""
        return APERTURE_DIAMETER_PX if self.unit == "px" else None

    def axis_label(self, note: str = "") -> str:
        """The diameter axis' label, e.g. ``masked diameter (px)`` or ``kept diameter (px, square-root axis)``."""
        return f"{'masked' if self.is_inner else 'kept'} diameter ({self.unit}{', ' + note if note else ''})"


def record_sweep_kinds(masks):
    """The sweep kind each record belongs to (a Series like ``masks``): the unmasked records to the inner sweep."""
    return masks.replace({MaskKind.NONE.value: MaskKind.MASK_CENTRE.value})
