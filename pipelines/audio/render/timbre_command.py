"""``creative-gan timbre add`` and ``render --timbre-from``: a user's recorded notes as a timbre.

    creative-gan timbre add my-cello cello.wav cello_low.wav:36 --model audio-default -o models/with-cello
    creative-gan render song.mid -o song.wav --model models/with-cello --timbre my-cello
    creative-gan render song.mid -o song.wav --timbre-from cello.wav:48          # fit once, no model written

``timbre add`` writes a new release folder: the model's files as they were plus the preset (its tensor, its
name in config.json's preset list, a line in the model card). Every check (name, output folder, notes,
model, pitches) runs before the fit, and the folder is written atomically, so a refused or failed command
writes nothing.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from creative_gan import fileio
from creative_gan.errors import UsageError

#: the release files rewritten here; everything else in a release folder is copied as it is
_REWRITTEN = ("config.json", "model.safetensors")
CARD = "MODEL_CARD.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``timbre add``."""
    parser.prog = "creative-gan timbre"
    parser.description = ("Fit a timbre to recorded notes of one instrument (WAV/FLAC/OGG, any rate; give the "
                          "pitch as note.wav:60 or let it be detected) and save it as a named preset in a copy "
                          "of the model.")
    parser.add_argument("action", choices=["add"], help="add: fit and save a preset")
    parser.add_argument("name", help="preset name: lowercase letters, digits and dashes, e.g. my-cello")
    parser.add_argument("notes", nargs="+", metavar="NOTE", help="recorded note(s), e.g. cello.wav or cello.wav:48")
    parser.add_argument("--model", default="audio-default", help="release folder, .zip or shipped name")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="the new release folder")
    parser.add_argument("--force", action="store_true", help="replace an existing release folder at --out")
    parser.add_argument("--replace", action="store_true", help="replace a preset of the same name")
    add_fit_arguments(parser)
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: auto)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """The fit's options (shared with ``render --timbre-from``)."""
    parser.add_argument("--fit-steps", type=int, default=150, metavar="N",
                        help="gradient steps of the timbre fit (default: 150)")
    parser.add_argument("--fit-seed", type=int, default=0, metavar="SEED",
                        help="seed of the fit's random starts (default: 0)")


def check_fit_arguments(args) -> None:
    if not 0 <= args.fit_steps <= 10_000:
        raise UsageError(f"--fit-steps must be between 0 and 10000, got {args.fit_steps}")
    if args.fit_seed < 0:
        raise UsageError(f"--fit-seed must be >= 0, got {args.fit_seed}")


def read_notes(specs: list[str]):
    """[(path, given pitch or None, audio [T] at 16 kHz)] for ``NOTE`` arguments; bad files fail here, early."""
    from .recording import parse_note_spec, read_note

    return [(path, pitch, read_note(path)) for path, pitch in map(parse_note_spec, specs)]


def fit_notes(pipe, notes, steps: int, seed: int, progress: bool):
    """(z [D], loss dB, pitches) of one timbre fitted to the read ``notes`` (see :func:`read_notes`)."""
    from .invert import ANCHOR_WEIGHT, fit_timbre_loss
    from .recording import load_notes

    audio, pitches = load_notes(pipe, [samples for _, _, samples in notes], [pitch for _, pitch, _ in notes],
                                names=[path for path, _, _ in notes])
    fit = fit_timbre_loss(pipe, audio, pitches, "auto", steps=steps, seed=seed, progress=progress, level="nearest",
                          anchor=ANCHOR_WEIGHT)
    return fit.z, fit.loss_db, pitches


def run(args) -> int:
    """``timbre add``: check everything, fit, write the new release folder."""
    from creative_gan.device import select_device
    from creative_gan.release import ASSETS, load, load_parts, resolve

    from ..pipeline import check_preset_name

    name = check_preset_name(args.name)
    check_fit_arguments(args)
    out = Path(args.out)
    source = resolve(args.model)
    fileio.check_outputs(folders={"-o": out})
    if _inside(out, ASSETS):
        raise UsageError(f"-o {out}: is inside the package's shipped models; give a folder of your own")
    if out.exists():
        if not (out / "config.json").is_file():
            raise UsageError(f"-o {out}: exists and is not a release folder; give a new folder name")
        if not args.force:
            what = "is the model itself" if _same(out, source) else "a release folder already exists there"
            raise UsageError(f"-o {out}: {what}; add --force to replace it")
    notes = read_notes(args.notes)
    pipe = load(args.model, device=select_device(args.device))
    if getattr(pipe, "pipeline_name", "") != "audio":
        raise UsageError(f"{args.model} is not an audio model")
    if name in pipe.presets and not args.replace:
        raise UsageError(f"{args.model} already has a preset {name!r}; add --replace to replace it, "
                         "or choose another name")
    z, loss_db, pitches = fit_notes(pipe, notes, args.fit_steps, args.fit_seed, not args.no_progress)
    pipe.add_preset(name, z, replace=True)
    config, tensors = load_parts(args.model)
    described = [f"{Path(path).name}:{pitch}" for (path, _, _), pitch in zip(notes, pitches)]
    write_release_with_preset(source, config, tensors, out, name, pipe.presets[name],
                              {"notes": described, "fit_loss_db": round(loss_db, 3)})
    print(f"preset              {name} (from {', '.join(described)})")
    print(f"fit log-mel L1      {loss_db:.2f} dB")
    print(f"wrote {out}")
    return 0


def write_release_with_preset(source: Path, config: dict, tensors: dict, out: Path, name: str, z: torch.Tensor,
                              about: dict) -> Path:
    """Release folder ``out`` = the release at ``source`` (its files copied, or a .zip's config and tensors)
    plus preset ``name`` = ``z`` [D]; written atomically (a temp folder renamed into place)."""
    from safetensors.torch import save_file

    from creative_gan.release import FORMAT

    config = dict(config)
    config["presets"] = sorted(set(config.get("presets", [])) | {name})
    config["added_presets"] = {**config.get("added_presets", {}), name: about}
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    tensors[f"preset.{name}"] = z.detach().float().cpu().reshape(-1).contiguous()
    with fileio.atomic_dir(out) as tmp:
        if source.is_dir():
            for entry in source.iterdir():
                if entry.name in _REWRITTEN or entry.name.startswith("."):
                    continue
                (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, tmp / entry.name)
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": FORMAT, "pipeline": "audio"})
        card = tmp / CARD
        if card.is_file():
            text = card.read_text(encoding="utf-8").rstrip("\n")
            heading = "## Presets added with `creative-gan timbre add`"
            if heading not in text:
                text += f"\n\n{heading}\n"
            text += (f"\n- `{name}`: fitted to {', '.join(about['notes'])} "
                     f"(log-mel L1 {about['fit_loss_db']:.2f} dB)")
            card.write_text(text + "\n", encoding="utf-8")
    return out


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
