"""The command line: every command runs, and bad input gets an error that names the file and what to do, with no
partial output."""
import pytest


def test_cli_run_on_a_given_file(toy_file, tmp_path, capsys):
    from clusterage_utils.cli import main

    assert main(["run", "--profile", "smoke", "--experiments", "five_band_full_none", "--data", str(toy_file),
                 "--store", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "five_band_full_none/seed0" in out and "test_scatter_dex" in out
    assert main(["run", "--profile", "smoke", "--experiments", "five_band_full_sideways", "--data", str(toy_file),
                 "--store", str(tmp_path / "s")]) == 2
    assert "unknown case" in capsys.readouterr().err


def _damage_products(root, damage):
    """Good products for one galaxy, then one thing broken; returns (the broken file or folder, galaxy id)."""
    from astropy.table import Table
    from helpers import write_products

    gid = "NGC_1566"
    folder = write_products(root, gid, sources=((200.0, 210.0), (150.0, 160.0)))
    mosaic = next(folder.glob("*f555w*exp-drc-sci.fits"))
    obs = next(folder.glob("*obs-human-cluster-class12.fits"))
    if damage == "mosaic is not FITS":
        mosaic.write_text("this is not a FITS file")
        return mosaic, gid
    if damage == "mosaic truncated":
        raw = mosaic.read_bytes()
        mosaic.write_bytes(raw[: len(raw) // 2])
        return mosaic, gid
    if damage == "weight map corrupt":
        wht = mosaic.with_name(mosaic.name.replace("_exp-drc-sci.fits", "_err-drc-wht.fits"))
        wht.write_bytes(b"\x00" * 100)
        return wht, gid
    if damage == "catalogue corrupt":
        obs.write_bytes(obs.read_bytes()[:500])
        return obs, gid
    if damage == "catalogue column types":
        t = Table.read(obs)
        t.replace_column("PHANGS_RA", ["far away"] * len(t))
        t.write(obs, overwrite=True)
        return obs, gid
    if damage == "empty galaxy folder":
        for f in folder.iterdir():
            f.unlink()
        return folder, gid
    raise ValueError(damage)


@pytest.mark.parametrize("damage", ["mosaic is not FITS", "mosaic truncated", "weight map corrupt",
                                    "catalogue corrupt", "catalogue column types", "empty galaxy folder"])
def test_bad_products_give_a_clear_error_and_no_output(tmp_path, capsys, damage):
    from clusterage_utils.cli import main

    broken, gid = _damage_products(tmp_path / "products", damage)
    out = tmp_path / "cutouts.h5"
    assert main(["curate", "--products", str(tmp_path / "products"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(broken.name) in err, err
    if damage != "empty galaxy folder":
        assert gid in err, err
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob("*.part*")), list(tmp_path.iterdir())


@pytest.mark.parametrize("argv, message", [
    (["run", "--experiments", "five_band_full_none", "--data", "{notfile}"], "not a readable HDF5 file"),
    (["run", "--experiments", "five_band_sideways", "--data", "{toy}"], "unknown case"),
    (["book", "--profile", "smoke", "--chapter", "99"], "unknown chapter"),
    (["book", "--profile", "smoke", "--chapter", "03", "-p", "diamters=[0, 4]"], "diameters"),
    (["book", "--profile", "smoke", "-p", "oops"], "NAME=VALUE"),
    (["mock", "--out", "{tmp}/m", "--fraction", "2"], "a fraction in (0, 1]"),
    (["health", "--profile", "smoke", "--data", "{toy}", "--store", "{tmp}/empty"], "no results store"),
])
def test_every_command_names_what_is_wrong(tmp_path, capsys, toy_file, argv, message):
    from clusterage_utils.cli import main

    notfile = tmp_path / "notes.h5"
    notfile.write_text("not hdf5")
    argv = [a.format(notfile=notfile, toy=toy_file, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
