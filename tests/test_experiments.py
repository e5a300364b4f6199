"""Experiments: fields, hashes that key the store, case names, the study's cases and sweeps."""
import dataclasses
import json

import pytest
from helpers import TOY

from clusterage_utils.engine.experiments import (
    Experiment,
    fig4_cases,
    fig5_cases,
    masking_sweep,
    named_experiments,
    parse_case,
    study_cases,
)
from clusterage_utils.engine.profiles import TrainingSettings, get_profile
from clusterage_utils.sweeps import MaskKind, Sweep


def test_experiment_hash_stable_and_sensitive():
    a = Experiment(training=TOY)
    assert a.hash == Experiment(training=TOY).hash
    assert a.hash != dataclasses.replace(a, seed=1).hash
    assert Experiment.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    assert Experiment(mask="none", diameter=12).diameter == 0

def test_named_cases_and_sweeps():
    p = get_profile("smoke")
    assert len(study_cases()) == 16 and all(parse_case(c).case == c for c in study_cases())
    assert "white_light_full_mask_centre_24_shuffled" in fig4_cases()
    assert parse_case("white_light_full_mask_centre_24_shuffled").labels == "shuffled"
    assert len(fig5_cases()) > len(fig4_cases())
    sw = masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full", p)
    assert [e.diameter for e in sw] == [0, 12, 24] and sw[0].mask == "none"
    assert [e.diameter for e in masking_sweep(Sweep(MaskKind.KEEP_CENTRE), "five_band", "full", p)] == [12, 24]
    assert len(named_experiments("inner_sweep", p)) == 12
    with pytest.raises(ValueError, match="unknown case 'five_band_sideways'"):
        named_experiments("five_band_sideways", p)
    with pytest.raises(ValueError, match="diameter must be >= 0"):
        Experiment(mask="mask_centre", diameter=-4)

def test_mask_none_ignores_the_diameter_unit():
    assert Experiment(mask="none", diameter_unit="pc").hash == Experiment().hash


def test_case_names_round_trip_with_every_variant():
    variants = [Experiment(), Experiment(input="white_light", mask="mask_centre", diameter=24, labels="shuffled"),
                Experiment(mask="keep_centre", diameter=12, normalisation="authors", mask_convention="authors"),
                Experiment(split="spatial"), Experiment(split="galaxy", split_seed=7),
                Experiment(mask="mask_centre", diameter=30, diameter_unit="pc", group="far", masking="amortised"),
                Experiment(normalisation="asinh", layer_order="authors")]
    names = [e.case for e in variants]
    assert len(set(names)) == len(names)                      # every configuration has its own name
    for e, n in zip(variants, names):
        assert parse_case(n) == dataclasses.replace(e, training=TrainingSettings()), n
    assert names[2] == "five_band_full_keep_centre_12_norm-authors_masks-authors"


def test_seeds_and_sweep_grids_stay_out_of_retrained_hashes():
    e = Experiment(training=TOY, mask="mask_centre", diameter=8)
    other = dataclasses.replace(TOY, seeds=(0, 1, 2), diameters_px=(0, 4, 8, 16), diameters_pc=(0, 50))
    assert dataclasses.replace(e, training=other).hash == e.hash
    am = dataclasses.replace(e, masking="amortised")
    assert dataclasses.replace(am, training=other).hash != am.hash          # an amortised model's grid matters
    pc = Experiment(training=TOY, mask="mask_centre", diameter=20, diameter_unit="pc", masking="amortised")
    assert pc.grid == TOY.diameters_px                    # trained on the pixel grid, evaluated in parsec
    assert dataclasses.replace(pc, training=dataclasses.replace(TOY, diameters_pc=(0, 5))).hash == pc.hash
    assert dataclasses.replace(pc, training=dataclasses.replace(TOY, diameters_px=(0, 2))).hash != pc.hash


def test_a_parsec_sweep_shares_the_pixel_sweeps_model():
    px = Experiment(training=TOY, mask="mask_centre", diameter=8, group="near", masking="amortised")
    pc = dataclasses.replace(px, diameter=30, diameter_unit="pc")
    assert pc.hash != px.hash and pc.training_group == px.training_group
    other_group = dataclasses.replace(pc, group="far")
    assert other_group.training_group != px.training_group
    retrained = dataclasses.replace(pc, masking="retrain")
    assert retrained.training_group == retrained.hash != dataclasses.replace(px, masking="retrain").hash


def test_records_written_before_the_rename_still_read():
    d = Experiment(mask="mask_centre", diameter=12).to_dict()
    d["diameter_px"] = d.pop("diameter")
    assert Experiment.from_dict(d).diameter == 12
