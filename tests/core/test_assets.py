"""Shipped models hold no machine paths (build folders, home directories, drive letters)."""
import re
from pathlib import Path

import pytest

import creative_gan

ASSETS = Path(creative_gan.__file__).resolve().parent / "assets"
#: absolute paths of a build machine: POSIX roots people train from, Windows drive letters, UNC shares
MACHINE_PATH = re.compile(r"""(?:^|["'\s=(:,])(/(?:tmp|home|root|work|Users|mnt|media|var|opt|srv|data|scratch)/"""
                          r"""|[A-Za-z]:[\\/]|\\{2,}[\w.-]+\\)""")
TEXT_SUFFIXES = {".json", ".md", ".txt", ".yaml", ".yml", ".toml", ".cfg"}


def shipped_files() -> list[Path]:
    return sorted(p for p in ASSETS.rglob("*") if p.is_file())


def test_the_pattern_catches_machine_paths_and_spares_prose():
    for bad in ('"out_dir": "/tmp/digits_proto/R"', '"corpus": "/home/ann/notes"', "data=/work/main/x",
                '"C:\\\\Users\\\\ann"', '"D:/runs/a"', "/root/corpus", '"\\\\\\\\server\\\\share"'):
        assert MACHINE_PATH.search(bad), bad
    for fine in ('"out_dir": "R"', "runs/digits", "1/2 of the data", "https://example.org/x", "MIDI 24–84",
                 "creative-gan train digits --out runs/digits", '"scale": "x/8-1"'):
        assert not MACHINE_PATH.search(fine), fine


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: str(p.relative_to(ASSETS)))
def test_no_shipped_file_holds_an_absolute_path(path):
    data = path.read_bytes()
    if path.suffix in TEXT_SUFFIXES:
        text = data.decode("utf-8")
    elif path.suffix == ".safetensors":  # only the JSON header can hold text
        size = int.from_bytes(data[:8], "little")
        text = data[8:8 + size].decode("utf-8")
    else:
        text = data.decode("latin-1")
    match = MACHINE_PATH.search(text)
    assert match is None, f"{path.relative_to(ASSETS)} holds a machine path near {text[max(0, match.start() - 40):match.end() + 40]!r}"
