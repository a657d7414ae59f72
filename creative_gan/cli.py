"""The ``creative-gan`` command: ``creative-gan <verb> <pipeline> …``.

Pipelines come from the plugin registry; each may add its own options per verb and its own verbs
(``data``, ``render``, ``export`` …). Every user error ends as one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import warnings
from pathlib import Path

from . import __version__, fileio
from .errors import CreativeGANError, Terminated, UsageError
from .stop_signals import stop_signals_raise

CORE_VERBS = ("train", "sample", "evaluate")
ALL_VERBS = ("list", "train", "sample", "evaluate", "data", "render", "export", "timbre", "demo")
#: verbs that only run trained models: one torch thread (see creative_gan.threads)
INFERENCE_VERBS = ("sample", "evaluate", "render", "export", "timbre", "demo")
#: OSErrors that describe the user's files or disk, not a bug: one line, exit code 2
USER_OS_ERRORS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST,
                  errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG, errno.EDQUOT, errno.ELOOP, errno.EFBIG,
                  errno.ENOTEMPTY, errno.EXDEV}


def parse_seeds(text: str) -> list[int]:
    """``"0-15"``, ``"1,5,9"``, ``"3"``, or a mix (``"0-3,10"``) → list of ints."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise UsageError(f"bad --seeds {text!r} (use e.g. 0-15 or 1,5,9)") from None
    if not seeds:
        raise UsageError("--seeds names no seed")
    if len(seeds) > 100_000:
        raise UsageError("--seeds names more than 100,000 seeds")
    return seeds


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def write_json(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as JSON atomically (:mod:`creative_gan.fileio`); the folder must exist."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"{path}: folder {path.parent} does not exist")
    return fileio.write_json(path, data)


def check_device(text: str | None) -> None:
    """Refuse, before any work, a ``--device`` this machine cannot run (one line naming it)."""
    if text in (None, "", "auto"):
        return
    import torch

    from .device import select_device

    try:
        device = select_device(text)
        torch.empty(1, device=device)  # probes driver, index and build (CUDA/MPS compiled in)
    except CreativeGANError:
        raise
    except (RuntimeError, AssertionError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--device {text}: not usable on this machine ({reason[:160]}); "
                         "use cpu or auto") from None


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors stay one clear line."""

    def error(self, message):  # noqa: D401
        raise UsageError(f"{self.prog.removeprefix('creative-gan').strip() or 'arguments'}: {message}")


def _base_parser() -> argparse.ArgumentParser:
    from .registry import pipeline_names

    names = ", ".join(pipeline_names()) or "none registered"
    parser = _Parser(prog="creative-gan", description=(
        "GANs for creative work. Verbs: list, train, sample, evaluate, data, render, export, timbre, demo.\n"
        f"Pipelines: {names}.\nRun `creative-gan <verb> <pipeline> --help` for a verb's options."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"creative-gan {__version__}")
    return parser


def _verb_parser(verb: str, pipeline: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"creative-gan {verb} {pipeline}")
    if verb == "train":
        parser.add_argument("--preset", help="named set of options (see the pipeline's presets)")
        parser.add_argument("--data", help="training data folder (pipelines that read files)")
        parser.add_argument("--steps", type=int, help="generator updates")
        parser.add_argument("--loss", help="minimax, non_saturating, hinge, wgan, wgan_gp, lsgan")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--seed", type=int)
        parser.add_argument("--device", help="auto (cuda > mps > cpu), cpu, cuda, cuda:1 …")
        parser.add_argument("--out", help="run directory (default runs/<pipeline>-<preset>)")
        parser.add_argument("--resume", action="store_true", help="continue the run in --out")
        parser.add_argument("--init-from", metavar="RUN", help="start a new run from another run's weights (its "
                            "folder or checkpoints/state.pt): G and EMA, D where it matches; step 0")
        parser.add_argument("--compile", action="store_true", help="torch.compile G and D")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="any training option, e.g. --set lr_g=1e-4 --set model.width=64")
        parser.add_argument("--no-progress", action="store_true")
    elif verb == "sample":
        parser.add_argument("--model", required=True, help="release folder, .zip or shipped name")
        parser.add_argument("--seeds", default="0-15", help="e.g. 0-15 or 1,5,9")
        parser.add_argument("-o", "--out", required=True, help="output file or folder")
        parser.add_argument("--device")
    elif verb == "evaluate":
        parser.add_argument("--model", required=True, help="release folder, .zip or shipped name")
        parser.add_argument("--json", help="also write the metrics to this JSON file")
        parser.add_argument("--device")
        parser.add_argument("--seed", type=int, default=0)
    return parser


def _train_options(plugin, args):
    from .options import TrainOptions

    preset_name = args.preset or plugin.default_preset
    if preset_name not in plugin.presets:
        raise UsageError(f"unknown preset {preset_name!r} for {plugin.name} "
                         f"(choose from {', '.join(sorted(plugin.presets))})")
    values = json.loads(json.dumps(plugin.presets[preset_name]))  # deep copy of plain data
    values.setdefault("out_dir", f"runs/{plugin.name}-{preset_name}")
    saved = Path(args.out or values["out_dir"]) / "options.json"
    if args.resume and saved.is_file():
        # a resumed run keeps its own options (its --set values and model options included), not the preset's;
        # flags and --set given now change them on top
        try:
            values = json.loads(saved.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{saved}: unreadable run options ({exc.__class__.__name__}); "
                             "start a new run with another --out") from None
        if not isinstance(values, dict):
            raise UsageError(f"{saved}: run options must be a JSON object")
        values["out_dir"] = str(saved.parent)
        values["progress"] = not args.no_progress       # how the run is shown is this call's choice
        if args.preset and values.get("preset") and args.preset != values["preset"]:
            raise UsageError(f"--preset {args.preset}: {saved.parent} was trained with preset "
                             f"{values['preset']!r}; --resume continues it with its own options")
        preset_name = values.get("preset") or preset_name
    else:
        values["preset"] = preset_name
    for flag, key in (("steps", "steps"), ("loss", "loss"), ("batch_size", "batch_size"),
                      ("seed", "seed"), ("device", "device"), ("out", "out_dir")):
        if getattr(args, flag) is not None:
            values[key] = getattr(args, flag)
    if args.compile:
        values["compile"] = True
    if args.no_progress:
        values["progress"] = False
    for item in args.set:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        if key.startswith("model."):
            # dotted keys reach into the preset's nested model options: model.discriminator.num_mels=40
            *parents, leaf = key[6:].split(".")
            target = values.setdefault("model", {})
            for depth, part in enumerate(parents):
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    raise UsageError(f"--set {key}: model.{'.'.join(parents[:depth + 1])} is a value, not a "
                                     "group of options")
            target[leaf] = _parse_value(raw)
        else:
            values[key] = _parse_value(raw)
    return TrainOptions.from_dict(values), preset_name


def _extra_verbs(name: str) -> tuple[str, ...]:
    """A pipeline's own verbs; a plugin that fails to load owns none (it must not break the others)."""
    from .registry import get_plugin

    try:
        return tuple(get_plugin(name).extra_verbs)
    except CreativeGANError:
        return ()


def _export_targets(name: str) -> tuple[str, ...]:
    """What ``creative-gan export <target>`` words a pipeline answers (its ``export_targets``)."""
    from .registry import get_plugin

    try:
        return tuple(getattr(get_plugin(name), "export_targets", ()))
    except CreativeGANError:
        return ()


def _run(argv: list[str]) -> int:
    from .registry import get_plugin, pipeline_names

    if not argv or argv[0] in ("-h", "--help"):
        _base_parser().print_help()
        return 0
    if argv[0] not in ALL_VERBS:
        if argv[0] == "--version":
            _base_parser().parse_args(argv[:1])
        raise UsageError(f"unknown verb {argv[0]!r} (choose from {', '.join(ALL_VERBS)})")
    verb, rest = argv[0], argv[1:]
    from .threads import configure_threads

    configure_threads(inference=verb in INFERENCE_VERBS)
    if verb == "demo":  # the Gradio app (creative_gan.demos) finds its tabs through the registry
        from creative_gan.demos.app import main as demo_main

        return int(demo_main(rest) or 0)
    if verb == "list":
        for name in pipeline_names():
            print(name)
        return 0
    names = pipeline_names()
    export_target = None
    if rest and rest[0] in names:
        pipeline, rest = rest[0], rest[1:]
    elif verb == "export" and rest and [n for n in names if rest[0] in _export_targets(n)]:
        # `export <target>`: the one pipeline that writes that target (audio: instrument)
        owners = [n for n in names if rest[0] in _export_targets(n)]
        if len(owners) != 1:
            raise UsageError(f"export {rest[0]!r} is offered by {', '.join(owners)}: "
                             f"name one, e.g. creative-gan export {owners[0]} …")
        pipeline, export_target, rest = owners[0], rest[0], rest[1:]
    else:
        owners = [] if verb in CORE_VERBS else [n for n in names if verb in _extra_verbs(n)]
        if len(owners) != 1:
            given = rest[0] if rest and not rest[0].startswith("-") else None
            if given:
                raise UsageError(f"unknown pipeline {given!r} (registered: {', '.join(names)})")
            if any(a in ("-h", "--help") for a in rest):
                return _verb_help(verb, owners or names)
            raise UsageError(f"{verb} needs a pipeline: creative-gan {verb} <{'|'.join(names)}> …")
        pipeline = owners[0]
    plugin = get_plugin(pipeline)
    if verb not in CORE_VERBS and verb not in plugin.extra_verbs:
        raise UsageError(f"pipeline {pipeline!r} has no verb {verb!r}")
    parser = _verb_parser(verb, export_target or pipeline)
    plugin.add_arguments(verb, parser)
    args = parser.parse_args(rest)
    args.pipeline = pipeline
    args.export_target = export_target
    if verb == "train":
        return _train(plugin, args)
    check_device(getattr(args, "device", None))  # before any model is read or file written
    if verb in ("sample", "evaluate"):
        from .release import load

        if verb == "sample":
            seeds = parse_seeds(args.seeds)
            out = Path(args.out)
            # a pipeline writes either one file (a suffix: grid.png) or a folder of files
            fileio.check_outputs(files={"-o": out} if out.suffix else None,
                                 folders=None if out.suffix else {"-o": out},
                                 inputs={"--model": args.model})
        else:
            fileio.check_outputs(files={"--json": args.json}, inputs={"--model": args.model})
        pipe = load(args.model, device=args.device)
        if pipe.pipeline_name != pipeline:
            raise UsageError(f"{args.model} is a {pipe.pipeline_name!r} model, not {pipeline!r}")
        if verb == "sample":
            written = plugin.sample(pipe, seeds, args.out, args)
            for path in written:
                print(path)
            return 0
        metrics = plugin.evaluate(pipe, args)
        width = max(len(k) for k in metrics) if metrics else 0
        for key, value in metrics.items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"{key:<{width}}  {shown}")
        if args.json:
            write_json(metrics, args.json)
        return 0
    return int(plugin.run_verb(verb, args) or 0)


def _verb_help(verb: str, pipelines: list[str]) -> int:
    """``creative-gan train --help``: the verb's shared options and the pipelines that answer it."""
    parser = _verb_parser(verb, "<pipeline>")
    parser.description = (f"Pipelines: {', '.join(pipelines) or 'none registered'}. "
                          f"`creative-gan {verb} <pipeline> --help` adds that pipeline's options.")
    parser.print_help()
    return 0


def _previous_run(out_dir: Path) -> bool:
    """True when ``out_dir`` already holds a training run (its files would be overwritten)."""
    return any((out_dir / name).exists() for name in ("options.json", "metrics.jsonl", "checkpoints", "model"))


def _model_error(plugin, args, exc: BaseException) -> UsageError | None:
    """A one-line error naming the ``--set model.*`` options when they are what broke the networks."""
    given = [item.split("=", 1)[0] for item in args.set if item.startswith("model.")]
    if not given or isinstance(exc, CreativeGANError):
        return None
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UsageError(f"--set {', '.join(given)}: the {plugin.name} networks cannot be built or run "
                      f"with these model options ({type(exc).__name__}: {reason[:160]})")


class _HeldWarnings:
    """Record warnings from now on; :meth:`release` stops recording and shows them (or drops them)."""

    def __init__(self):
        self._context = warnings.catch_warnings(record=True)
        self._records = self._context.__enter__()
        self.released = False

    def release(self, show: bool = True) -> None:
        if self.released:
            return
        self.released = True
        self._context.__exit__(None, None, None)
        for record in self._records if show else ():
            warnings.showwarning(record.message, record.category, record.filename, record.lineno)


def _train(plugin, args) -> int:
    import shutil

    from .device import seed_everything
    from .trainer import Trainer

    if args.resume and args.init_from:
        raise UsageError("--init-from starts a new run from another run's weights; it cannot be combined with "
                         "--resume")
    options, preset = _train_options(plugin, args)
    check_device(options.device)
    out_dir = Path(options.out_dir)
    fileio.check_outputs(folders={"--out": out_dir}, inputs={"--data": getattr(args, "data", None),
                                                             "--init-from": args.init_from})
    if not args.resume and _previous_run(out_dir):
        raise UsageError(f"--out {out_dir} already holds a training run; add --resume to continue it "
                         "or choose another --out")
    new_folder = not out_dir.exists()
    seed_everything(options.seed)  # network initialisation is part of a seeded run
    start = _HeldWarnings()  # until the first step: a failed start is one line, not warnings + error
    try:
        task = plugin.make_task(options, plugin.presets[preset], args)
        trainer = Trainer(task, options, resume=args.resume, on_step=lambda _: start.release(),
                          init_from=args.init_from)
        result = trainer.train()
    except (ValueError, TypeError, RuntimeError, KeyError, IndexError) as exc:
        # only before the first step can user model options be the cause; later errors are bugs
        error = None if start.released else _model_error(plugin, args, exc)
        if error is None:
            raise
        start.release(show=False)
        if new_folder:
            shutil.rmtree(out_dir, ignore_errors=True)  # nothing of this failed start is worth keeping
        raise error from None
    finally:
        start.release()
    if result.model_dir is not None:
        added = result.step - int(getattr(result, "start_step", 0) or 0)
        total = f" (now at step {result.step})" if added != result.step else ""
        print(f"trained {added} steps{total} in {result.seconds:.1f} s; model: {result.model_dir}")
    return 0


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"creative-gan: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.formatwarning = _one_line_warning
    try:
        with stop_signals_raise():
            code = _run(argv)
        if "torch" in sys.modules:  # under torchrun every rank leaves the process group before exit
            from .device import close_distributed
            close_distributed()
        return code
    except CreativeGANError as exc:
        print(f"creative-gan: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in USER_OS_ERRORS:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"creative-gan: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # a size the user asked for (e.g. an enormous upscale) that cannot exist
        print(f"creative-gan: error: out of memory: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Terminated as exc:
        print(f"creative-gan: stopped by {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("creative-gan: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())  # a message never spans lines
    return text or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
