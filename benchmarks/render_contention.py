"""Benchmark: render speed when the CPU is shared — quiet, then beside busy processes, in one run.

    python benchmarks/render_contention.py                     # audio-default, the 2,000-note 150-s piece
    python benchmarks/render_contention.py --busy matmul --busy-count 3

Renders the render_midi benchmark's 2,000-note, 4-track, 150-s piece with a 4-anchor timbre morph through a
release model, first on a quiet machine and then beside ``--busy-count`` busy processes (pure-Python spin loops,
or numpy matmul loops that use every BLAS thread), and prints real-time factors (audio seconds per wall second)
and the loaded ÷ quiet ratio. It does this under two thread policies, in this order:

- ``cli``: what ``creative-gan render`` / ``sample`` and the app use — ``creative_gan.threads.configure_threads(
  inference=True)`` (one intra-op thread unless ``$CREATIVE_GAN_THREADS`` / ``$OMP_NUM_THREADS`` say otherwise);
- ``torch-default``: torch's own choice (one intra-op thread per core), the reference the policy is judged by.

The target is loaded ≥ 0.5 × quiet under the CLI policy. Other work on the machine counts as load too: the
1-minute load average is printed beside each phase, so read "quiet" as "without our busy processes".

The busy processes run in their own sessions, as other programs (a DAW, a browser) do. On Linux with
``kernel.sched_autogroup_enabled = 1`` the scheduler shares the CPU between sessions first: busy children
left in the benchmark's own session would split *its* share three ways and measure that, not contention
between programs (``--same-session`` shows it).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_midi import DEFAULT_MORPH, build_midi  # noqa: E402

BUSY_CODE = {
    "spin": "while True: pass",
    "matmul": "import numpy as np\na = np.random.rand(512, 512)\nwhile True: a = (a @ a) / 512.0",
}


def start_busy(kind: str, count: int, own_session: bool = True) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY_CODE[kind]], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=own_session) for _ in range(count)]


def autogroup() -> str:
    try:
        return "on" if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1" else "off"
    except OSError:
        return "n/a"


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for proc in procs:              # only the processes this benchmark started, by their own handles
        proc.kill()
    for proc in procs:
        proc.wait()


def render_rtf(pipe, midi: Path, out: Path, morph: str, repeats: int) -> tuple[float, list[float]]:
    """Median real-time factor of ``repeats`` renders (each writes the WAV), and all of them."""
    from creative_gan.pipelines.audio.render.render import render_midi

    factors = []
    for _ in range(repeats):
        summary = render_midi(pipe, midi, out, morph=morph, progress=False).summary
        factors.append(summary["duration_s"] / summary["render_s"])
    return statistics.median(factors), factors


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="audio-default", help="release model name or path")
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--morph", default=DEFAULT_MORPH)
    parser.add_argument("--busy", choices=sorted(BUSY_CODE), default="spin", help="kind of busy process")
    parser.add_argument("--busy-count", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="renders per phase (median reported)")
    parser.add_argument("--policies", default="cli,torch-default")
    parser.add_argument("--same-session", action="store_true",
                        help="keep the busy processes in this session (see the module docstring)")
    args = parser.parse_args(argv)

    import warnings

    import torch

    import creative_gan
    from creative_gan.pipelines.audio.data.midi_notes import RenderWarning

    warnings.simplefilter("ignore", RenderWarning)          # the piece's bass is transposed: said once is enough
    from creative_gan.threads import configure_threads

    default_threads = torch.get_num_threads()
    folder = Path(tempfile.mkdtemp(prefix="render_contention_"))
    midi = build_midi(folder / "piece.mid", args.notes, args.seconds)
    pipe = creative_gan.load(args.model)
    out = folder / "piece.wav"
    print(f"{args.notes} notes, 4 tracks, {args.seconds:g} s, morph {args.morph}; model {args.model}; "
          f"{os.cpu_count()} CPUs; load: {args.busy_count} x {args.busy} "
          f"({'same session' if args.same_session else 'own sessions'}; autogroup {autogroup()}); "
          f"median of {args.repeats} renders")
    print(f"{'policy':15s} {'threads':>7s} {'quiet x rt':>10s} {'loadavg':>7s} {'loaded x rt':>11s} "
          f"{'loadavg':>7s} {'loaded/quiet':>12s}")
    results = {}
    for policy in args.policies.split(","):
        if policy == "cli":
            threads = configure_threads(inference=True)
        elif policy == "torch-default":
            torch.set_num_threads(default_threads)
            threads = torch.get_num_threads()
        else:
            parser.error(f"unknown policy {policy!r}")
        render_rtf(pipe, midi, out, args.morph, 1)                          # warm-up: caches, allocator
        load_quiet = load_average()
        quiet, quiet_all = render_rtf(pipe, midi, out, args.morph, args.repeats)
        busy = start_busy(args.busy, args.busy_count, own_session=not args.same_session)
        try:
            time.sleep(1.0)                                                  # let them reach full speed
            load_busy = load_average()
            loaded, loaded_all = render_rtf(pipe, midi, out, args.morph, args.repeats)
        finally:
            stop_busy(busy)
        results[policy] = (quiet, loaded)
        print(f"{policy:15s} {threads:7d} {quiet:10.1f} {load_quiet:>7s} {loaded:11.1f} {load_busy:>7s} "
              f"{loaded / quiet:12.2f}    (quiet {', '.join(f'{f:.0f}' for f in quiet_all)}; "
              f"loaded {', '.join(f'{f:.0f}' for f in loaded_all)})")
    if "cli" in results and "torch-default" in results:
        cli_loaded, ref_loaded = results["cli"][1], results["torch-default"][1]
        print(f"loaded speed, CLI policy / torch default: {cli_loaded / ref_loaded:.2f}x")
    if "cli" in results:
        ratio = results["cli"][1] / results["cli"][0]
        print(f"target loaded >= 0.5 x quiet under the CLI policy: {'met' if ratio >= 0.5 else 'NOT met'} "
              f"({ratio:.2f})")
    out.unlink(missing_ok=True)
    midi.unlink(missing_ok=True)
    folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
