"""The one temp-file discipline: atomic replace, the user's umask, cleanup on any exit, output checks."""
import os
import stat
import subprocess
import sys

import pytest

from creative_gan import fileio
from creative_gan.errors import Terminated, UsageError


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_get_the_umask(tmp_path, umask_022):
    fileio.write_json(tmp_path / "a.json", {"x": 1})
    with fileio.atomic_path(tmp_path / "b.wav") as tmp:
        assert tmp.name.startswith(".b.wav.") and tmp.suffix == ".wav"  # the suffix picks the format
        tmp.write_bytes(b"RIFF")
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o644}
    os.umask(0o077)
    fileio.write_text(tmp_path / "c.txt", "private")
    assert stat.S_IMODE((tmp_path / "c.txt").stat().st_mode) == 0o600


@pytest.mark.parametrize("error", [KeyboardInterrupt(), Terminated(15), OSError(28, "No space left on device")])
def test_interrupted_write_keeps_the_old_file_and_no_temp(tmp_path, error):
    target = tmp_path / "summary.json"
    target.write_text("old")
    with pytest.raises(type(error)):
        with fileio.atomic_write(target, "w") as handle:
            handle.write("half of the new")
            raise error
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_writer_that_writes_nothing_fails_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(FileNotFoundError):
        with fileio.atomic_path(target):
            pass
    assert target.read_bytes() == b"old"


def test_stale_temps_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".state.pt.{int(dead.stdout)}-abcd1234.tmp.pt"
    live = tmp_path / f".state.pt.{os.getppid()}-abcd1234.tmp.pt"  # our parent runs
    other = tmp_path / ".other.pt.1-abcd.tmp.pt"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    fileio.write_bytes(tmp_path / "state.pt", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "state.pt"])


def test_atomic_dir_replaces_whole_folders_and_restores_on_failure(tmp_path, umask_022):
    with fileio.atomic_dir(tmp_path / "model") as tmp:
        (tmp / "config.json").write_text("1")
    with pytest.raises(KeyboardInterrupt):
        with fileio.atomic_dir(tmp_path / "model") as tmp:
            (tmp / "config.json").write_text("2")
            raise KeyboardInterrupt
    assert (tmp_path / "model" / "config.json").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "model" / "config.json").stat().st_mode) == 0o644


@pytest.mark.parametrize("kwargs, needle", [
    ({"files": {"-o": "{d}/x.wav", "--json": "{d}/x.wav"}}, "-o already writes that file"),
    ({"files": {"-o": "{d}/song.mid"}, "inputs": {"MIDI": "{d}/song.mid"}}, "MIDI already reads that file"),
    ({"files": {"-o": "{d}"}}, "is a folder"),
    ({"files": {"-o": "{d}/no/x.wav"}}, "does not exist"),
    ({"folders": {"--out": "{d}/song.mid"}}, "exists and is not a folder"),
    ({"folders": {"--out": "{d}/song.mid/run"}}, "the folder cannot be made"),
])
def test_check_outputs_refuses_clashes_before_work(tmp_path, kwargs, needle):
    (tmp_path / "song.mid").write_bytes(b"MThd")
    filled = {group: {k: v.format(d=tmp_path) for k, v in paths.items()} for group, paths in kwargs.items()}
    with pytest.raises(UsageError, match=needle):
        fileio.check_outputs(**filled)


def test_check_outputs_accepts_fresh_paths(tmp_path):
    fileio.check_outputs(files={"-o": tmp_path / "a.wav", "--json": tmp_path / "a.json", "--png": None},
                         folders={"--out": tmp_path / "new" / "run"}, inputs={"MIDI": tmp_path / "in.mid"})
