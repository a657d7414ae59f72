"""The audio tab in real Chromium: render an example, play a note, fit a timbre to a recording, survive a fake
MIDI upload."""
from __future__ import annotations

import io
import re

import numpy as np
import pretty_midi
import soundfile as sf

from creative_gan.demos.common import example_midis

from .conftest import pick_option, visible_error

APP_TABS = ["audio"]
RELEASE_S = 0.3          # the renderer lets every note ring this long after its note-off


def fetch_audio(page, url: str) -> tuple[np.ndarray, int]:
    response = page.request.get(url)
    assert response.ok, f"{url}: HTTP {response.status}"
    audio, rate = sf.read(io.BytesIO(response.body()), dtype="float32")
    return audio, rate


def wav_urls(seen: list[str], name: str) -> list[str]:
    return [u for u in seen if "/file=" in u and u.split("?")[0].endswith(name)]


def test_render_example_through_the_page(page, screenshot):
    seen: list[str] = []
    page.on("response", lambda r: seen.append(r.url))
    pick_option(page, "audio-example", "twinkle_chords.mid")
    page.get_by_text("chords", exact=True).first.wait_for()           # the track table follows the example
    page.click("#audio-render")
    summary = page.locator("#audio-summary")
    summary.get_by_text(re.compile(r"\d+ notes")).wait_for(timeout=60_000)
    page.locator("#audio-download a").first.wait_for()
    page.wait_for_function("() => document.querySelector('#audio-spectrogram img') !== null")
    screenshot(page, "rendered")

    expected = pretty_midi.PrettyMIDI(str(example_midis()["twinkle_chords.mid"])).get_end_time() + RELEASE_S
    href = page.locator("#audio-download a").first.get_attribute("href")
    assert href and "twinkle_chords.wav" in href
    page.wait_for_timeout(500)
    played = wav_urls(seen, "audio.wav") or wav_urls(seen, ".wav")
    assert played, "the audio player fetched no audio"
    for url in {played[-1], page.url.rstrip("/") + href if href.startswith("/") else href}:
        audio, rate = fetch_audio(page, url)
        assert rate == 16000
        assert abs(len(audio) / rate - expected) < 0.1, (len(audio) / rate, expected)
        assert np.sqrt(np.mean(audio ** 2)) > 0.01 and np.abs(audio).max() > 0.3      # not silence


def test_note_explorer_plays_one_note(page, screenshot):
    seen: list[str] = []
    page.on("response", lambda r: seen.append(r.url))
    page.click("#explorer-play")
    page.locator("#explorer-info").get_by_text("generated in").wait_for()
    page.wait_for_timeout(500)
    screenshot(page, "note")
    urls = wav_urls(seen, ".wav")
    assert urls
    audio, rate = fetch_audio(page, urls[-1])
    assert len(audio) == 4 * rate
    assert np.abs(audio).max() > 0.3


def test_fitted_recording_becomes_the_explorers_timbre(page, screenshot, tmp_path):
    t = np.arange(2 * 16000) / 16000
    k = np.arange(1, 9)[:, None]
    note = (np.sin(2 * np.pi * 220.0 * k * t) / k).sum(0) * np.exp(-t / 1.5)        # A3 = MIDI 57
    sf.write(str(tmp_path / "tone.wav"), (0.3 * note / np.abs(note).max()).astype(np.float32), 16000)
    page.get_by_text("Timbre from a recording").click()
    page.locator("#fit-button").wait_for()                     # the accordion's content is drawn when it opens
    page.set_input_files("#fit-upload input[type=file]", str(tmp_path / "tone.wav"))
    page.fill("#fit-pitch textarea", "57")
    page.fill("#fit-name textarea", "page-tone")
    page.locator("#fit-upload").get_by_text(re.compile(r"\d\s*KB")).first.wait_for()      # uploaded
    page.click("#fit-button")
    page.locator("#fit-info").get_by_text("MIDI 57 (given)").wait_for(timeout=60_000)
    screenshot(page, "fitted")
    assert page.locator("#explorer-timbre input").input_value() == "page-tone"
    page.click("#explorer-play")
    page.locator("#explorer-info").get_by_text("as page-tone").wait_for()
    other = page.context.browser.new_context().new_page()       # another visitor has a session of its own
    try:
        other.set_default_timeout(60_000)
        other.goto(page.url)
        other.fill("#explorer-timbre input", "page-tone")           # typed by name: still not this visitor's
        other.keyboard.press("Enter")
        other.click("#explorer-play")
        visible_error(other, "unknown timbre 'page-tone'")
        assert other.locator("#explorer-info").get_by_text("as page-tone").count() == 0
    finally:
        other.context.close()


def test_fake_midi_upload_shows_an_error_and_the_app_keeps_working(page, screenshot, tmp_path):
    fake = tmp_path / "not_really.mid"
    fake.write_text("this is a text file with a .mid name\n")
    page.set_input_files("#audio-upload input[type=file]", str(fake))
    visible_error(page, "is not a MIDI file")
    screenshot(page, "bad-upload")
    page.click("#explorer-play")                                        # the app still answers
    page.locator("#explorer-info").get_by_text("generated in").wait_for()
