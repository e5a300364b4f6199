"""The sweep: mask kinds, the unmasked-at-0 rule, which records belong, which way hides more, the axis."""
import json

import pandas as pd
import pytest

from clusterage_utils.constants import APERTURE_DIAMETER_PX, APERTURE_RADIUS_PX
from clusterage_utils.sweeps import MASK_KINDS, MaskKind, Sweep, record_sweep_kinds


def test_a_mask_kind_is_the_string_stored_in_records():
    assert [k.value for k in MASK_KINDS] == ["none", "mask_centre", "keep_centre"]
    assert MaskKind("mask_centre") is MaskKind.MASK_CENTRE and MaskKind.KEEP_CENTRE == "keep_centre"
    assert f"{MaskKind.NONE}" == str(MaskKind.NONE) == "none" and json.dumps(MaskKind.NONE) == '"none"'
    assert {"mask_centre": 1}[MaskKind.MASK_CENTRE] == 1
    with pytest.raises(ValueError, match="mask kind must be one of .*'none'.*got 'mask_middle'"):
        MaskKind("mask_middle")


def test_visible_pixels_of_each_kind():
    inside = [[True, False]]
    assert MaskKind.NONE.visible(inside).tolist() == [[True, True]]
    assert MaskKind.MASK_CENTRE.visible(inside).tolist() == [[False, True]]
    assert MaskKind.KEEP_CENTRE.visible(inside).tolist() == [[True, False]]


def test_an_inner_sweep_starts_unmasked_and_an_outer_sweep_keeps_something():
    inner, outer = Sweep(MaskKind.MASK_CENTRE, (0, 8, 24)), Sweep(MaskKind.KEEP_CENTRE, (0, 8, 24))
    assert inner.points() == [(MaskKind.NONE, 0), (MaskKind.MASK_CENTRE, 8), (MaskKind.MASK_CENTRE, 24)]
    assert inner.points(amortised=True)[0] == (MaskKind.MASK_CENTRE, 0)   # the shared network, no mask
    assert outer.points() == [(MaskKind.KEEP_CENTRE, 8), (MaskKind.KEEP_CENTRE, 24)]
    assert inner.record_kinds == (MaskKind.NONE, MaskKind.MASK_CENTRE) and outer.record_kinds == (outer.kind,)
    with pytest.raises(ValueError, match="sweep's kind"):
        Sweep(MaskKind.NONE)
    with pytest.raises(ValueError, match=">= 0 px"):
        Sweep(MaskKind.MASK_CENTRE, (0, -4))
    with pytest.raises(ValueError, match="unit"):
        Sweep(MaskKind.MASK_CENTRE, (0, 4), "arcsec")
    with pytest.raises(ValueError, match="no diameters"):
        Sweep(MaskKind.MASK_CENTRE).points()


def test_records_of_a_sweep_and_which_way_hides_more():
    rows = pd.DataFrame({"mask": ["none", "mask_centre", "mask_centre", "keep_centre", "keep_centre", "mask_centre"],
                         "diameter": [0, 8, 24, 8, 24, 30], "diameter_unit": ["px"] * 5 + ["pc"],
                         "case": list("abcdef")})
    inner, outer = Sweep(MaskKind.MASK_CENTRE), Sweep(MaskKind.KEEP_CENTRE)
    assert list(rows[inner.selects(rows)]["case"]) == ["a", "b", "c"]             # px only, the unmasked row too
    assert list(rows[Sweep(MaskKind.MASK_CENTRE, unit="pc").selects(rows)]["case"]) == ["a", "f"]
    assert [(m["case"], le["case"]) for m, le in inner.neighbours(rows)] == [("b", "a"), ("c", "b")]
    assert [(m["case"], le["case"]) for m, le in outer.neighbours(rows)] == [("d", "e")]   # less kept hides more
    assert list(record_sweep_kinds(rows["mask"])) == ["mask_centre"] * 3 + ["keep_centre"] * 2 + ["mask_centre"]


def test_the_axis_and_the_aperture_marker():
    assert APERTURE_DIAMETER_PX == 2 * APERTURE_RADIUS_PX
    assert Sweep(MaskKind.MASK_CENTRE).aperture_marker == APERTURE_DIAMETER_PX
    assert Sweep(MaskKind.MASK_CENTRE, unit="pc").aperture_marker is None
    assert Sweep(MaskKind.KEEP_CENTRE).axis_label("square-root axis") == "kept diameter (px, square-root axis)"
    assert Sweep(MaskKind.MASK_CENTRE, unit="pc").axis_label() == "masked diameter (pc)"


def test_a_sweep_without_diameters_takes_the_grid_of_its_unit():
    from clusterage_utils.engine.profiles import TrainingSettings

    t = TrainingSettings(diameters_px=(0, 4), diameters_pc=(0, 30))
    assert Sweep(MaskKind.MASK_CENTRE).on_grid_of(t).diameters == (0, 4)
    assert Sweep(MaskKind.MASK_CENTRE, unit="pc").on_grid_of(t).diameters == (0, 30)
    assert Sweep(MaskKind.KEEP_CENTRE, (8,)).on_grid_of(t).diameters == (8,)         # its own diameters stay
