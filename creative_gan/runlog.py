"""Run logging: ``metrics.jsonl`` (the mirror tests read), TensorBoard events, a loss-curve PNG."""
from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image, ImageDraw

_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
            (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


class RunLogger:
    """Appends one JSON object per logged step; mirrors scalars to TensorBoard when available."""

    def __init__(self, run_dir: Path, tensorboard: bool = True, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.jsonl"
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
            except ImportError:  # tensorboard is a dependency, but a trimmed env still trains
                self.writer = None

    def log(self, step: int, values: dict) -> None:
        if not self.enabled:
            return
        row = {"step": int(step), **{k: float(v) for k, v in values.items()}}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if math.isfinite(float(value)):
                    self.writer.add_scalar(key, float(value), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None


def read_metrics(path: Path) -> list[dict]:
    """Rows of a ``metrics.jsonl`` file (a torn last line from a kill is ignored)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def loss_curve_png(rows: list[dict], path: Path, keys: list[str] | None = None,
                   size: tuple[int, int] = (900, 420)) -> Path | None:
    """Plot the ``D/*`` and ``G/*`` series of ``rows`` against step as a PNG (Pillow only)."""
    if not rows:
        return None
    keys = keys or sorted({k for r in rows for k in r if k.startswith(("D/", "G/"))})
    series = {k: [(r["step"], r[k]) for r in rows if k in r and math.isfinite(r[k])] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    width, height = size
    left, right, top, bottom = 60, 170, 20, 40
    steps = [s for v in series.values() for s, _ in v]
    vals = [y for v in series.values() for _, y in v]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(vals), max(vals)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1, y1 + 1
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    sx = lambda s: left + (s - x0) / (x1 - x0) * (width - right - left)  # noqa: E731
    sy = lambda y: height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)  # noqa: E731
    for i, (key, pts) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        if len(pts) > 1:
            draw.line([(sx(s), sy(y)) for s, y in pts], fill=colour, width=2)
        draw.text((width - right + 10, top + 16 * i), key, fill=colour)
    draw.text((left, height - bottom + 8), f"step {x0}", fill=(0, 0, 0))
    draw.text((width - right - 80, height - bottom + 8), f"step {x1}", fill=(0, 0, 0))
    draw.text((4, top), f"{y1:.3g}", fill=(0, 0, 0))
    draw.text((4, height - bottom - 12), f"{y0:.3g}", fill=(0, 0, 0))
    path = Path(path)
    img.save(path)
    return path


def _portable(value):
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_portable(v) for v in value]
    if isinstance(value, str) and (PurePosixPath(value).is_absolute() or PureWindowsPath(value).drive):
        return PureWindowsPath(value).name if PureWindowsPath(value).drive else PurePosixPath(value).name
    return value


def portable_options(options: dict) -> dict:
    """``options`` for a release's provenance: no machine paths.

    ``out_dir`` keeps only the run's folder name; any other absolute path (a corpus folder in the
    model options, say) keeps only its last component.
    """
    out = _portable(dict(options))
    if "out_dir" in out and isinstance(out["out_dir"], str):
        out["out_dir"] = Path(out["out_dir"]).name
    return out
