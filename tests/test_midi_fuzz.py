"""Byte-mutation fuzzing of the MIDI reader and renderer, through the command a user runs.

Mutated and truncated copies of ``examples/*.mid`` go to ``creative-gan render`` (in-process, the
shipped ``audio-default`` model, a 60-second render limit so each case stays fast). Every case
either renders (exit 0) or fails with the one-line error (exit 2): never a traceback, a hang (a
per-case alarm), runaway memory (peak RSS is bounded) or a file left behind.
"""
from __future__ import annotations

import contextlib
import io
import resource
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creative_gan.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.mid"))
ORIGINALS = {p.name: p.read_bytes() for p in EXAMPLES}
CASE_SECONDS = 20          # a single render of a ≤ 60-s piece takes well under a second on CPU
MAX_RSS_GROWTH_MB = 1500   # the render streams; a mutated file must not make it hold whole arrays


class CaseTimedOut(Exception):
    """A fuzz case ran past CASE_SECONDS (a hang)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):
        raise CaseTimedOut(f"case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


byte_values = st.one_of(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF]), st.integers(0, 255))


HEADER = 22  # MThd chunk (14 bytes) + the first MTrk chunk header (8 bytes)


@st.composite
def mutated_midi(draw) -> bytes:
    """One example file with up to 4 edits, maybe truncated.

    Edits: a data value (0-127) after the headers, so the file stays parseable and odd pitches,
    velocities, delta times and tempi reach the renderer; the ticks-per-beat field; any byte
    anywhere; an inserted or deleted byte (structure damage).
    """
    data = bytearray(ORIGINALS[draw(st.sampled_from(sorted(ORIGINALS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["value"] * 6 + ["division", "byte", "insert", "delete"]))
        pos = draw(st.integers(HEADER, len(data) - 1))
        if kind == "value":
            data[pos] = draw(st.sampled_from([0, 1, 127]) | st.integers(0, 127))
        elif kind == "division":
            data[12:14] = draw(st.sampled_from([b"\x00\x01", b"\x7f\xff", b"\x00\x00", b"\xe7\x28"])
                               | st.binary(min_size=2, max_size=2))
        elif kind == "byte":
            data[draw(st.integers(0, len(data) - 1))] = draw(byte_values)
        elif kind == "insert":
            data[pos:pos] = bytes([draw(byte_values)])
        else:
            del data[pos]
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@pytest.fixture(scope="module")
def workdir():
    folder = Path(tempfile.mkdtemp(prefix="midi-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def render(midi: Path, out: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["render", str(midi), "-o", str(out), "--model", "audio-default", "--device", "cpu",
                     "--max-duration", "60", "--no-progress"])
    return code, err.getvalue()


def check_case(data: bytes, workdir: Path) -> int:
    """Render ``data`` once; assert the outcome is clean; return the exit code."""
    case = Path(tempfile.mkdtemp(dir=workdir))
    try:
        midi, out = case / "in.mid", case / "out.wav"
        midi.write_bytes(data)
        with time_limit(CASE_SECONDS):
            code, err = render(midi, out)
        assert "Traceback" not in err, err
        lines = err.strip().splitlines()
        assert all(line.startswith("creative-gan: ") for line in lines), err
        if code == 0:
            assert out.stat().st_size > 44
        else:
            assert code == 2, (code, err)
            errors = [line for line in lines if line.startswith("creative-gan: error:")]
            assert len(errors) == 1 and lines[-1] == errors[0], err
            assert not out.exists()
        left = sorted(p.name for p in case.iterdir())
        assert left == (["in.mid", "out.wav"] if code == 0 else ["in.mid"]), left
        return code
    finally:
        shutil.rmtree(case, ignore_errors=True)


def test_examples_render_unchanged(workdir):
    """The unmutated examples are the baseline: all of them render."""
    for name, data in ORIGINALS.items():
        case = workdir / name
        case.write_bytes(data)
        code, err = render(case, workdir / f"{name}.wav")
        assert code == 0, err


def test_mutated_midi_renders_or_fails_in_one_line(workdir):
    outcomes = {0: 0, 2: 0}
    start_rss = max_rss_mb()

    @settings(max_examples=80, deadline=None, derandomize=True, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=mutated_midi())
    def case(data):
        outcomes[check_case(data, workdir)] += 1
        assert max_rss_mb() - start_rss < MAX_RSS_GROWTH_MB

    case()
    # both outcomes must really occur, or the fuzzing would not reach the renderer (or its errors)
    assert outcomes[0] >= 10 and outcomes[2] >= 10, outcomes
