"""The served app through gradio_client (analytics off): concurrent renders, the queue, file serving limits."""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from creative_gan.demos.common import example_midis

from .conftest import start_app

EXAMPLE = "twinkle_chords.mid"
NO_TRACKS = {"headers": ["track", "name", "notes", "timbre"], "data": [[0, "", 0, ""]]}
NO_MORPH = {"headers": ["time (s)", "timbre"], "data": [[0, ""]]}


@pytest.fixture(scope="module")
def served():
    demo, url = start_app(["audio", "digits"], concurrency=1)   # one heavy slot: training fills it
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served, analytics_enabled=False, verbose=False)


def render(client, timbre: str = "violin") -> str:
    return client.predict(EXAMPLE, None, timbre, False, NO_MORPH, NO_TRACKS, "WAV", api_name="/audio_render")[0]


def check_render(path: str) -> None:
    audio, rate = sf.read(path, dtype="float32")
    expected = pretty_midi.PrettyMIDI(str(example_midis()[EXAMPLE])).get_end_time() + 0.3
    assert rate == 16000 and abs(len(audio) / rate - expected) < 0.1
    assert np.sqrt(np.mean(audio ** 2)) > 0.01


def test_concurrent_renders_all_complete_with_correct_audio(client):
    timbres = ["violin", "flute", "seed:3", "trumpet", "seed:4", "vibraphone", "alto-sax", "seed:5"]   # 8 at once
    with ThreadPoolExecutor(len(timbres)) as pool:
        paths = list(pool.map(lambda t: render(client, t), timbres))
    for path in paths:
        check_render(path)
    sounds = [sf.read(p, dtype="int16")[0] for p in paths]
    assert not np.array_equal(sounds[0], sounds[1])            # each request got its own timbre


def test_notes_and_renders_are_not_starved_by_training(client):
    training = client.submit("non_saturating", "mlp", 20000, 0, api_name="/digits_train")
    deadline = time.time() + 60
    while training.status().code.name not in ("PROCESSING", "ITERATING") and time.time() < deadline:
        time.sleep(0.1)
    try:
        started = time.perf_counter()
        note, info = client.predict(60, "violin", api_name="/audio_note")
        assert time.perf_counter() - started < 10 and "generated in" in info
        check_render(render(client))                           # the render slot is not the training slot
        assert time.perf_counter() - started < 30
        assert not training.done()                             # training is still running beside them
    finally:
        training.cancel()


def test_uploads_over_the_size_limit_are_refused(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + b"\0" * (6 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|exceed"):
        client.predict(EXAMPLE, handle_file(str(big)), "violin", False, NO_MORPH, NO_TRACKS, "WAV",
                       api_name="/audio_render")


def test_only_the_packaged_examples_are_served_from_the_package(served):
    def status(path: Path) -> int:
        try:
            with urllib.request.urlopen(f"{served}/gradio_api/file={path}") as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    example = example_midis()[EXAMPLE]
    assert status(example) == 200
    assert status(example.parent.parent / "app.py") in (403, 404)
    assert status(Path(__file__)) in (403, 404)
