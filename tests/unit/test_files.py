"""The all-or-nothing folder writer never deletes a file that the step did not write."""

from __future__ import annotations

import json
import os
import stat

import pytest

from frenk.core.errors import DataError, FrenkError
from frenk.core.files import replace_folder
from frenk.data import PreprocessOptions, prepare, write_prepared


def _write(folder, names):
    for name in names:
        (folder / name).write_text(name)


def test_a_stray_manifest_does_not_license_deleting_foreign_files(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _write(site, ["manifest.json", "index.html", "style.css"])
    with pytest.raises(DataError, match="did not write there: index.html, style.css"):
        write_prepared(prepare(PreprocessOptions(source="sample")), site)
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "manifest.json", "style.css"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_an_earlier_prepared_folder_is_replaced(tmp_path):
    data = prepare(PreprocessOptions(source="sample"))
    out = write_prepared(data, tmp_path / "hr")
    (out / "train.parquet").write_bytes(b"stale")
    write_prepared(data, out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test.parquet", "train.parquet", "validation.parquet"]
    assert (out / "train.parquet").read_bytes() != b"stale"


def test_a_record_that_lists_its_files_is_honoured(tmp_path):
    out = tmp_path / "pub"
    out.mkdir()
    (out / "rec.json").write_text(json.dumps({"files": ["rec.json", "weights.bin"]}))
    _write(out, ["weights.bin"])
    with replace_folder(out, "rec.json", "publication") as staging:
        _write(staging, ["new.bin"])
    assert [p.name for p in out.iterdir()] == ["new.bin"]
    out2 = tmp_path / "pub2"
    out2.mkdir()
    (out2 / "rec.json").write_text(json.dumps({"files": ["rec.json"]}))
    _write(out2, ["thesis.pdf"])
    with pytest.raises(FrenkError, match="thesis.pdf"), replace_folder(out2, "rec.json", "publication"):
        pass
    assert (out2 / "thesis.pdf").exists()


def test_unreadable_record_symlink_and_file_outputs(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "rec.json").write_text("{not json")
    (broken / "weights.bin").write_text("x")
    with pytest.raises(FrenkError, match="did not write there: weights.bin"), \
            replace_folder(broken, "rec.json", "publication"):
        pass
    with replace_folder(broken, "rec.json", "publication", known=["weights.bin"]) as staging:
        _write(staging, ["new.bin"])
    assert [p.name for p in broken.iterdir()] == ["new.bin"]
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(FrenkError, match="symbolic link"), replace_folder(link, "rec.json", "publication"):
        pass
    plain = tmp_path / "file"
    plain.write_text("x")
    with pytest.raises(FrenkError, match="not a folder"), replace_folder(plain, "rec.json", "publication"):
        pass
    assert plain.read_text() == "x"


def test_the_written_folder_gets_normal_modes_not_private_temporary_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with replace_folder(tmp_path / "out", "manifest.json", "prepared data folder") as staging:
            (staging / "manifest.json").write_text("{}")
            weights = staging / "model.safetensors"
            weights.write_bytes(b"x")
            weights.chmod(0o600)  # as a download or tempfile writes it
            (staging / "sub").mkdir(mode=0o700)
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o755  # not mkdtemp's 0700
    assert stat.S_IMODE((out / "model.safetensors").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "sub").stat().st_mode) == 0o755
