"""The anime pipeline's command-line verbs: ``data`` (build / inspect corpora), ``sample`` and ``evaluate``."""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from creative_gan import fileio
from creative_gan.cli import parse_seeds
from creative_gan.errors import UsageError
from creative_gan.images import save_grid, save_images

from .data.corpus import read_corpus, to_tensor, write_corpus
from .media import WALK_SUFFIXES, write_walk
from .pipeline import check_truncation
from .data.procedural import ATTRIBUTES, render_corpus


def add_arguments(verb: str, parser: argparse.ArgumentParser) -> None:
    """The anime options of ``verb`` (the CLI adds --model, --seeds, -o, --json … itself)."""
    if verb == "train":
        parser.add_argument("--image-size", type=int, choices=(32, 64, 128),
                            help="training resolution (default: the preset's)")
    elif verb == "sample":
        parser.add_argument("--truncation", type=float, default=1.0,
                            help="scale latents by ψ in (0, 2]; below 1 trades variety for typical faces")
        parser.add_argument("--walk", help="seeds to walk through, e.g. 3,17,42 (writes a .gif or .mp4)")
        parser.add_argument("--frames", type=int, default=60, help="frames of a --walk (default 60)")
        parser.add_argument("--fps", type=float, default=20.0, help="frames per second of a --walk (default 20)")
        parser.add_argument("--upscale", type=int, default=4,
                            help="nearest-neighbour enlargement of each face (default 4: 64 px -> 256 px)")
        parser.add_argument("--nrow", type=int, help="faces per grid row (default: square)")
    elif verb == "evaluate":
        parser.add_argument("--data", help="the real corpus (default: procedural faces for procedural models)")
        parser.add_argument("--num-samples", type=int, default=1000, help="generated faces to score (default 1000)")
        parser.add_argument("--truncation", type=float, default=1.0)
    elif verb == "data":
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--images", help="folder of JPG/PNG/WebP images (searched recursively)")
        source.add_argument("--procedural", type=int, metavar="N", help="draw N synthetic anime faces")
        source.add_argument("--inspect", metavar="DIR", help="summarise a corpus and write a contact sheet PNG")
        parser.add_argument("--out", help="corpus folder to write (with --images / --procedural); "
                                          "the contact sheet path with --inspect")
        parser.add_argument("--size", type=int, default=64, choices=(64, 128), help="image side in pixels")
        parser.add_argument("--crop-faces", action="store_true",
                            help="crop the largest anime face (needs the `animeface` package)")
        parser.add_argument("--margin", type=float, default=0.3, help="face margin, × the face box side")
        parser.add_argument("--min-size", type=int, default=32, help="skip images whose shorter side is smaller")
        parser.add_argument("--near-duplicate-tolerance", type=float, default=0.03,
                            help="RMS difference of 16×16 thumbnails (0–1) up to which similar-looking images "
                                 "count as duplicates (default 0.03; 0: drop exact duplicates only)")
        parser.add_argument("--seed", type=int, default=0, help="corpus seed of --procedural")
        parser.add_argument("--overwrite", action="store_true", help="replace a corpus already in --out")
        parser.add_argument("--no-progress", action="store_true")


# ----------------------------------------------------------------------------------------- data
def _check_out(out: str | None, overwrite: bool) -> Path:
    if not out:
        raise UsageError("--out is required: the corpus folder to write")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    if (path / "index.json").exists() and not overwrite:
        raise UsageError(f"{out}: already holds a corpus (add --overwrite to replace it, or choose another --out)")
    return path


def data(args: argparse.Namespace) -> int:
    progress = not args.no_progress
    if args.inspect:
        print(inspect(args.inspect, args.out))
        return 0
    out = _check_out(args.out, args.overwrite)
    fileio.check_outputs(folders={"--out": out}, inputs={"--images": args.images})
    if args.procedural is not None:
        if args.procedural < 1:
            raise UsageError(f"--procedural must be at least 1 (got {args.procedural})")
        images, labels = render_corpus(args.procedural, args.seed, args.size, progress)
        names = list(ATTRIBUTES)
        items = [{"source": f"procedural:{args.seed}:{i}", **dict(zip(names, map(int, row)))}
                 for i, row in enumerate(labels)]
        write_corpus(out, images, {"source": "procedural", "procedural_seed": args.seed,
                                   "attributes": {k: list(v) for k, v in ATTRIBUTES.items()}, "items": items,
                                   "note": "synthetic anime faces (creative_gan.pipelines.anime.data.procedural)"})
        print(f"drew {len(images)} procedural faces at {args.size} px into {out}")
        return 0
    from .data.folder import build_folder_corpus

    index = build_folder_corpus(args.images, out, size=args.size, crop_faces=args.crop_faces, margin=args.margin,
                                min_size=args.min_size, near_duplicate_tolerance=args.near_duplicate_tolerance,
                                progress=progress)
    skipped = ", ".join(f"{k} {v}" for k, v in index["skipped"].items()) or "none"
    print(f"kept {len(index['items'])} of {index['files_seen']} files at {args.size} px into {out} "
          f"(skipped: {skipped})")
    return 0


def inspect(folder: str, sheet: str | None = None, count: int = 64) -> str:
    """A text summary of a corpus; writes a contact sheet of its first ``count`` images (PNG)."""
    images, index = read_corpus(folder)
    lines = [f"corpus {folder}: {len(images)} images of {index['size']}×{index['size']} px "
             f"(source: {index.get('source', '?')})"]
    if index.get("skipped") is not None:
        skipped = ", ".join(f"{k} {v}" for k, v in index["skipped"].items()) or "none"
        lines.append(f"  files seen {index.get('files_seen', '?')}, skipped: {skipped}")
    for name, values in (index.get("attributes") or {}).items():
        counts = Counter(int(item[name]) for item in index["items"])
        lines.append(f"  {name}: " + ", ".join(f"{values[k]} {counts.get(k, 0)}" for k in range(len(values))))
    mean = np.asarray(images[: min(len(images), 2000)], dtype=np.float64).mean(axis=(0, 1, 2))
    lines.append(f"  mean RGB {mean[0]:.0f} {mean[1]:.0f} {mean[2]:.0f}")
    target = Path(sheet) if sheet else Path(folder) / "contact_sheet.png"
    if target.suffix.lower() != ".png":
        raise UsageError(f"{target}: the contact sheet is a .png file")
    save_grid(to_tensor(images[:count]), target, nrow=8, upscale=2 if index["size"] <= 64 else 1)
    lines.append(f"  contact sheet: {target}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- sample
def sample(pipe, seeds: list[int], out: str, args: argparse.Namespace) -> list[str]:
    """A grid (``out`` ends in .png), a walk (``--walk``; .gif/.mp4), or a folder of single faces + grid."""
    truncation = check_truncation(getattr(args, "truncation", 1.0))
    upscale = int(getattr(args, "upscale", 4) or 4)
    if not 1 <= upscale <= 16:
        raise UsageError(f"--upscale must be in [1, 16] (got {upscale})")
    target = Path(out)
    walk = getattr(args, "walk", None)
    if walk:
        if target.suffix.lower() not in WALK_SUFFIXES:
            raise UsageError(f"{out}: a --walk is written as .gif or .mp4")
        try:
            walk_seeds = parse_seeds(walk)
        except UsageError:
            raise UsageError(f"bad --walk {walk!r} (give seeds, e.g. 3,17,42)") from None
        frames = pipe.walk(walk_seeds, int(getattr(args, "frames", 60)), truncation=truncation)
        return [str(write_walk(frames, target, float(getattr(args, "fps", 20.0)), upscale))]
    images = pipe.generate(seeds=seeds, truncation=truncation, as_tensor=True)
    nrow = getattr(args, "nrow", None)
    if target.suffix.lower() == ".png":
        return [str(save_grid(images, target, nrow=nrow, upscale=upscale))]
    if target.suffix:
        raise UsageError(f"{out}: give a .png grid path or a folder for single images")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    written = save_images(images, target, [f"seed_{s:05d}" for s in seeds], upscale=upscale)
    written.append(save_grid(images, target / "grid.png", nrow=nrow, upscale=upscale))
    return [str(p) for p in written]


# ------------------------------------------------------------------------------------ evaluate
def evaluate(pipe, args: argparse.Namespace) -> dict:
    from .evaluate.evaluation import evaluate_pipeline

    metrics = evaluate_pipeline(pipe, data=getattr(args, "data", None),
                                num_samples=int(getattr(args, "num_samples", 1000) or 1000),
                                first_seed=int(getattr(args, "seed", 0) or 0),
                                truncation=check_truncation(getattr(args, "truncation", 1.0)))
    return {"image_size": pipe.image_size, **metrics}
