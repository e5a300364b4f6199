"""The mock survey: determinism, physics sanity, the coupling knob, reference ages, bad input."""
import filecmp
import os

import numpy as np
import pytest
from scipy.stats import spearmanr

from clusterage_utils.survey import photometry as ph
from clusterage_utils.survey.mock import (
    MockSurveyConfig,
    draw_detected_masses,
    make_mock_survey,
    read_manifest,
    simulate_galaxy,
)


def _tree_files(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != "mock_survey.json")


def test_same_seed_identical_files_different_seed_differs(tmp_path):
    cfg = MockSurveyConfig(seed=3, fraction=0.03, galaxies=("IC_5332",))
    a = make_mock_survey(tmp_path / "a", cfg, progress=False)
    b = make_mock_survey(tmp_path / "b", cfg, progress=False)
    c = make_mock_survey(tmp_path / "c", MockSurveyConfig(seed=4, fraction=0.03, galaxies=("IC_5332",)),
                         progress=False)
    files = _tree_files(a)
    assert files == _tree_files(b) and len(files) == 7
    for f in files:
        assert filecmp.cmp(a / f, b / f, shallow=False), f
    assert any(not filecmp.cmp(a / f, c / f, shallow=False) for f in files)


def test_colour_reddens_with_age_beyond_10_myr():
    """Noiseless photometry of mock clusters (dust-free): F336W-F555W rises with age beyond 10 Myr.
    (The BC03 track has a small red-supergiant wiggle at 10-20 Myr, so the test uses half-dex bins.)"""
    cfg = MockSurveyConfig(seed=0, fraction=1.0, galaxies=("NGC_4321",))
    cat = simulate_galaxy("NGC_4321", cfg, render_images=False).catalogue
    age = cat["MOCK_TRUE_LOG_AGE"].to_numpy()
    rates = ph.model_rates(age, cat["MOCK_TRUE_MASS"], np.zeros(len(age)), 15.21)
    u_minus_v = -2.5 * np.log10(rates[:, 1] / rates[:, 3]) + ph.AB_ZEROPOINT[1] - ph.AB_ZEROPOINT[3]
    old = age > 7.0
    assert spearmanr(age[old], u_minus_v[old])[0] > 0.9
    edges = np.arange(7.0, 10.01, 0.5)
    med = [np.median(u_minus_v[(age >= lo) & (age < hi)]) for lo, hi in zip(edges[:-1], edges[1:])
           if ((age >= lo) & (age < hi)).sum() >= 3]
    assert len(med) >= 4 and np.all(np.diff(med) > 0), med


def test_detected_mass_rises_with_age():
    rng = np.random.default_rng(0)
    ages = rng.uniform(6, 10, 20000)
    mass = draw_detected_masses(ages, np.zeros_like(ages), 10.0, 24.5, rng)
    medians = [np.median(mass[(ages >= lo) & (ages < lo + 1)]) for lo in (6, 7, 8, 9)]
    assert np.all(np.diff(medians) > 0), medians
    # and the detection limit holds
    mag = ph.AB_ZEROPOINT[3] - 2.5 * np.log10(ph.model_rates(ages, mass, np.zeros_like(ages), 10.0)[:, 3])
    assert np.all(mag <= 24.5 + 1e-6)


def _rank_corr(coupling):
    """Rank correlation of true and environment ages with the coupling alone (surroundings never drift away)."""
    cfg = MockSurveyConfig(seed=1, fraction=0.5, environment_coupling=coupling, galaxies=("NGC_3627",),
                           natal_retention_myr=None)
    cat = simulate_galaxy("NGC_3627", cfg, render_images=False).catalogue
    return spearmanr(cat["MOCK_TRUE_LOG_AGE"], cat["MOCK_ENV_LOG_AGE"])[0], len(cat)


def test_coupling_knob_rank_correlation():
    r0, n = _rank_corr(0.0)
    r1, _ = _rank_corr(1.0)
    assert n > 400
    assert abs(r0) < 0.15          # ~ 3 sigma for n = 479
    assert r1 == pytest.approx(1.0, abs=1e-12)
    r_half, _ = _rank_corr(0.5)
    assert 0.25 < r_half < 0.75


def test_environment_depends_only_on_environment_age():
    cfg = MockSurveyConfig(seed=2, fraction=0.2, environment_coupling=0.0, galaxies=("NGC_1566",))
    n = int(round(0.2 * 850))
    rng = np.random.default_rng(9)
    a = simulate_galaxy("NGC_1566", cfg, true_log_age=rng.uniform(6, 7, n), render_images=False).catalogue
    b = simulate_galaxy("NGC_1566", cfg, true_log_age=rng.uniform(9, 10, n), render_images=False).catalogue
    assert not np.allclose(a["MOCK_TRUE_LOG_AGE"], b["MOCK_TRUE_LOG_AGE"])
    for col in ("MOCK_ENV_LOG_AGE", "MOCK_N_NEIGHBOURS", "MOCK_DUST_COVER"):
        np.testing.assert_array_equal(a[col], b[col])
    # ... while the environment layers do follow the environment age
    young = a["MOCK_ENV_LOG_AGE"] < 7
    assert a.loc[young, "MOCK_N_NEIGHBOURS"].mean() > 2 * a.loc[~young, "MOCK_N_NEIGHBOURS"].mean()


def test_natal_retention_decouples_old_clusters_only():
    """Surroundings stay a cluster's own while it is young and become unrelated patches once it has drifted."""
    def coupled_by_age(**kw):
        cfg = MockSurveyConfig(seed=1, fraction=0.5, galaxies=("NGC_3627",), **kw)
        cat = simulate_galaxy("NGC_3627", cfg, render_images=False).catalogue
        young = cat["MOCK_TRUE_LOG_AGE"] < 6.7
        old = cat["MOCK_TRUE_LOG_AGE"] > 8.0
        assert young.sum() > 50 and old.sum() > 50
        same = cat["MOCK_ENV_LOG_AGE"] == cat["MOCK_TRUE_LOG_AGE"]
        return same[young].mean(), same[old].mean(), cat["MOCK_ENV_COUPLED"].astype(bool).equals(same)

    young, old, flag = coupled_by_age(natal_retention_myr=30.0)
    assert young > 0.85 and old < 0.02 and flag
    assert coupled_by_age(natal_retention_myr=None)[:2] == (1.0, 1.0)
    assert coupled_by_age(natal_retention_myr=30.0, environment_coupling=0.0)[:2] == (0.0, 0.0)


def test_complex_age_spread_grows_with_separation():
    """Complex members are coeval within 0.1 dex without a spread; with one, farther members differ more."""
    from clusterage_utils.survey.mock import draw_environment

    la = np.full(4000, 7.3)                                     # ~20 Myr: no member is pushed below 1 Myr
    env0 = draw_environment(la, np.random.default_rng(0), MockSurveyConfig(complex_age_spread_myr=0.0))
    env = draw_environment(la, np.random.default_rng(0), MockSurveyConfig(complex_age_spread_myr=15.0))
    np.testing.assert_array_equal(env0.nb_dx_pc, env.nb_dx_pc)  # the spread is drawn last
    assert np.std(env0.nb_log_age - 7.3) < 0.11
    dt = np.abs(10 ** (env.nb_log_age - 6) - 10 ** (env0.nb_log_age - 6))
    r = np.hypot(env.nb_dx_pc, env.nb_dy_pc)
    near, far = r < np.percentile(r, 25), r > np.percentile(r, 75)
    assert np.median(dt[far]) > 1.5 * np.median(dt[near]) > 0


def test_reference_ages_recover_truth_and_show_degeneracy():
    cfg = MockSurveyConfig(seed=0, fraction=0.6, galaxies=("NGC_3627",))
    cat = simulate_galaxy("NGC_3627", cfg).catalogue
    ref = np.log10(cat["PHANGS_SED_AGE"]) + 6
    true = cat["MOCK_TRUE_LOG_AGE"]
    sel = (cat["MOCK_TRUE_EBV"] < 0.15) & (true >= 7) & (true <= 9)
    err = np.median(np.abs(ref[sel] - true[sel]))
    assert sel.sum() > 30
    assert err < 0.3, err                      # vs a 4-dex range
    young_dusty = (true < 7) & (cat["MOCK_TRUE_EBV"] > 0.3)
    assert young_dusty.sum() > 5
    assert (ref[young_dusty] > 8).sum() >= 1   # the age-dust degeneracy


@pytest.mark.parametrize("kw, msg", [
    (dict(fraction=0.0), "fraction must be in (0, 1]"),
    (dict(fraction=1.5), "fraction must be in (0, 1]"),
    (dict(environment_coupling=-0.1), "environment_coupling must be in [0, 1]"),
    (dict(environment_coupling=2), "environment_coupling must be in [0, 1]"),
    (dict(galaxies=("NGC_9999",)), "unknown galaxy id(s) ['NGC_9999']; allowed: NGC_5068"),
    (dict(complex_decay_myr=0), "complex_decay_myr must be a number > 0"),
    (dict(complex_size_pc=-5.0), "complex_size_pc must be a number > 0"),
    (dict(complex_age_spread_myr=-1), "complex_age_spread_myr must be a number >= 0"),
    (dict(natal_retention_myr=0.0), "natal_retention_myr must be > 0 (Myr) or None"),
])
def test_bad_parameters(kw, msg):
    with pytest.raises(ValueError) as e:
        MockSurveyConfig(**kw)
    assert msg in str(e.value)


def test_output_directory_refusals(tmp_path):
    (tmp_path / "exists").mkdir()
    cfg = MockSurveyConfig(fraction=0.02, galaxies=("NGC_3351",))
    with pytest.raises(FileExistsError, match="--overwrite"):
        make_mock_survey(tmp_path / "exists", cfg, progress=False)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        make_mock_survey(tmp_path / "afile" / "sub", cfg, progress=False)
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(PermissionError, match="not writable"):
            make_mock_survey(ro / "out", cfg, progress=False)
    out = make_mock_survey(tmp_path / "exists", cfg, overwrite=True, progress=False)
    assert read_manifest(out)["n_clusters"] == round(0.02 * 116)


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):

    calls = []

    def boom(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    import clusterage_utils.survey.mock.writing as writing

    real = writing._write_catalogues
    monkeypatch.setattr(writing, "_write_catalogues", boom)
    with pytest.raises(KeyboardInterrupt):
        make_mock_survey(tmp_path / "out", MockSurveyConfig(fraction=0.02, galaxies=("NGC_3351", "IC_5332")),
                         progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_bad_input(tmp_path, capsys):
    from clusterage_utils.cli import main

    assert main(["mock", "--out", str(tmp_path / "m"), "--fraction", "2"]) == 2
    assert "--fraction: 2 is out of range: expected a fraction in (0, 1]" in capsys.readouterr().err
    assert main(["mock", "--out", str(tmp_path / "m"), "--galaxies", "M31"]) == 2
    assert "unknown galaxy" in capsys.readouterr().err


def test_cli_mock_with_preview(tmp_path, capsys):
    from clusterage_utils.cli import main

    assert main(["mock", "--out", str(tmp_path / "m"), "--profile", "smoke", "--galaxies", "NGC_3351",
                 "--preview"]) == 0
    out = capsys.readouterr().out
    assert "clusters/s" in out
    pngs = sorted(p.name for p in (tmp_path / "m" / "preview").glob("*.png"))
    assert pngs == ["NGC_3351_gallery.png", "NGC_3351_mosaic.png"]
