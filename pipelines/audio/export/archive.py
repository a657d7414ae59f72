"""An exported SFZ instrument as one ``.zip`` (for downloads): ``NAME/NAME.sfz`` and ``NAME/samples/*.wav``.

    >>> summary = instrument_zip(pipe, "violin.zip", timbre="violin", every=3)
"""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from creative_gan import fileio
from creative_gan.errors import UsageError

from .instrument import export_instrument


def instrument_zip(source, zip_path, timbre=None, **options) -> dict:
    """Export an instrument (``export_instrument`` options) into a temp folder and pack it into ``zip_path``
    atomically (a failure leaves no zip). Returns a summary: name, zip path, regions, files, worst seam ratio."""
    zip_path = Path(zip_path)
    if zip_path.suffix.lower() != ".zip":
        raise UsageError(f"{zip_path.name}: an instrument archive is a .zip file")
    fileio.check_outputs(files={"zip": zip_path})
    with tempfile.TemporaryDirectory(prefix="creative-gan-sfz-") as tmp:
        result = export_instrument(source, Path(tmp) / "instrument", timbre=timbre, **options)
        folder, name = result.sfz.parent, result.sfz.stem
        with fileio.atomic_path(zip_path) as partial:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    archive.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
    return {"name": name, "zip": zip_path, "regions": result.regions, "files": len(result.samples) + 1,
            "zones": result.zones, "velocity_layers": result.velocity_layers, "morph_layers": result.morph_layers,
            "max_shift": result.max_shift, "seam_ratio_max": result.seam_ratio_max}
