"""Benchmark: the web app under load — 8 concurrent renders of an example MIDI beside one render alone.

    python benchmarks/app_load.py                      # starts the app in this process on a free port
    python benchmarks/app_load.py --requests 16 --concurrency 2

Starts the app (audio tab only, ``--concurrency`` heavy slots), then through ``gradio_client`` (analytics
off) times: one render alone (median of 3, after a warm-up), then ``--requests`` renders submitted at once
from as many threads. Every result is fetched and checked (expected duration, not silent). Prints p50 / p95
latency of the concurrent batch beside the lone render, their ratio, and throughput. It also times the note
explorer's call — one 4-s note, the target is <= 100 ms on CPU — directly (the callback alone) and through
the server (HTTP, queue and the WAV the player fetches written; not downloaded), each the median of 20 calls.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXAMPLE = "twinkle_chords.mid"
NO_TRACKS = {"headers": ["track", "name", "notes", "timbre"], "data": [[0, "", 0, ""]]}
NO_MORPH = {"headers": ["time (s)", "timbre"], "data": [[0, ""]]}


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8, help="concurrent renders (default 8)")
    parser.add_argument("--concurrency", type=int, default=2, help="the app's heavy slots (default 2)")
    parser.add_argument("--example", default=EXAMPLE, help=f"packaged example to render (default {EXAMPLE})")
    args = parser.parse_args()

    from creative_gan.threads import configure_threads

    threads = configure_threads(inference=True)
    import pretty_midi
    import soundfile as sf
    from gradio_client import Client

    import creative_gan
    from creative_gan.demos.app import build_app, launch_options
    from creative_gan.demos.audio_callbacks import play_note
    from creative_gan.demos.common import example_midis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = build_app(concurrency=args.concurrency, tabs=["audio"])
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **launch_options(port=port))
    client = Client(url, analytics_enabled=False, verbose=False)
    expected_s = pretty_midi.PrettyMIDI(str(example_midis()[args.example])).get_end_time() + 0.3

    def render(i: int) -> float:
        started = time.perf_counter()
        path = client.predict(args.example, None, f"seed:{i}", False, NO_MORPH, NO_TRACKS, "WAV",
                              api_name="/audio_render")[0]
        elapsed = time.perf_counter() - started
        audio, rate = sf.read(path, dtype="float32")
        if abs(len(audio) / rate - expected_s) > 0.1 or np.sqrt(np.mean(audio ** 2)) < 0.01:
            raise SystemExit(f"render {i}: wrong audio ({len(audio) / rate:.2f} s, expected {expected_s:.2f} s)")
        return elapsed

    try:
        render(0)                                                   # warm-up (first request compiles caches)
        alone = statistics.median(render(i) for i in range(1, 4))
        with ThreadPoolExecutor(args.requests) as pool:
            started = time.perf_counter()
            latencies = list(pool.map(render, range(100, 100 + args.requests)))
            wall = time.perf_counter() - started
        pipe = creative_gan.load("audio-default")
        play_note(pipe, 60, "violin")
        direct = []
        for _ in range(20):
            started = time.perf_counter()
            play_note(pipe, 60, "violin")
            direct.append(time.perf_counter() - started)
        served = []
        answer_only = Client(url, analytics_enabled=False, verbose=False, download_files=False)
        for _ in range(20):
            started = time.perf_counter()
            answer_only.predict(60, "violin", api_name="/audio_note")   # until the answer (file URL) arrives
            served.append(time.perf_counter() - started)
        trivial = []                         # the server's own round trip: a call that does almost nothing
        for _ in range(20):
            started = time.perf_counter()
            answer_only.predict(args.example, None, api_name="/audio_tracks")
            trivial.append(time.perf_counter() - started)
    finally:
        demo.close()

    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"app load: {args.example} ({expected_s:.1f} s of audio), {args.requests} concurrent renders, "
          f"{args.concurrency} heavy slots, torch threads {threads}, {os.cpu_count()} CPUs")
    print(f"  one render alone          {alone * 1000:8.0f} ms (median of 3)")
    print(f"  concurrent p50            {p50 * 1000:8.0f} ms   ({p50 / alone:.1f}x alone)")
    print(f"  concurrent p95            {p95 * 1000:8.0f} ms   ({p95 / alone:.1f}x alone)")
    print(f"  batch wall time           {wall * 1000:8.0f} ms   ({args.requests / wall:.1f} renders/s; "
          f"alone, one after another: {1 / alone:.1f} renders/s)")
    print(f"  all {args.requests} renders complete with the expected duration and sound")
    print(f"  note explorer, one 4-s note: callback {statistics.median(direct) * 1000:.0f} ms, through the "
          f"server {statistics.median(served) * 1000:.0f} ms (median of 20; target <= 100 ms)")
    print(f"  server round trip of a trivial call (the track list): {statistics.median(trivial) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
