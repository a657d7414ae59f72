"""SFZ text for an exported instrument: one ``<region>`` per (key zone, velocity layer[, morph layer]).

SFZ is a plain-text sampler format read by free players (sfizz, Sforzando, LinuxSampler, Carla, DecentSampler's
converters) and most DAWs' samplers. Every region line carries all its opcodes, so any single region can be
read on its own. Opcodes used (all SFZ v1 unless noted):

- ``sample`` (path below ``<control> default_path=samples/``), ``lokey``/``hikey``/``pitch_keycenter`` (MIDI
  numbers), ``lovel``/``hivel``;
- ``loop_mode=loop_continuous`` with ``loop_start``/``loop_end`` (sample frames, both inclusive);
- ``ampeg_attack``/``ampeg_release`` (seconds) and ``amp_veltrack=100`` (gain = (velocity/127)², the
  SFZ default velocity curve and the MIDI renderer's velocity gain);
- morph layers: ``xfin_loccN``/``xfin_hiccN``/``xfout_loccN``/``xfout_hiccN`` with ``xf_cccurve=power``
  (equal-power crossfade) and ``<control> set_ccN`` (the controller's starting value) and, SFZ v2, ``label_ccN``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SAMPLE_FOLDER = "samples"


@dataclass(frozen=True)
class CrossfadeRange:
    """A morph layer's controller window: it fades in over CC ``in_lo..in_hi`` and out over ``out_lo..out_hi``.

    ``None`` bounds mean "no fade on that side" (the first layer has no fade-in, the last no fade-out).
    """

    cc: int
    in_lo: int | None = None
    in_hi: int | None = None
    out_lo: int | None = None
    out_hi: int | None = None

    def opcodes(self) -> dict[str, int | str]:
        ops: dict[str, int | str] = {}
        if self.in_lo is not None:
            ops[f"xfin_locc{self.cc}"] = self.in_lo
            ops[f"xfin_hicc{self.cc}"] = self.in_hi
        if self.out_lo is not None:
            ops[f"xfout_locc{self.cc}"] = self.out_lo
            ops[f"xfout_hicc{self.cc}"] = self.out_hi
        if ops:
            ops["xf_cccurve"] = "power"
        return ops


def morph_crossfades(layers: int, cc: int) -> list[CrossfadeRange]:
    """Controller windows of ``layers`` morph layers spread over CC 0..127: layer i is alone at
    ``127·i/(layers-1)`` and crossfades with its neighbours in between (2 layers: A at 0, B at 127)."""
    if layers < 2:
        return [CrossfadeRange(cc)]
    points = [round(127 * i / (layers - 1)) for i in range(layers)]
    ranges = []
    for i, point in enumerate(points):
        in_lo = points[i - 1] if i > 0 else None
        out_hi = points[i + 1] if i < layers - 1 else None
        ranges.append(CrossfadeRange(cc, in_lo, point if in_lo is not None else None,
                                     point if out_hi is not None else None, out_hi))
    return ranges


@dataclass
class Region:
    """One ``<region>``: a sample file (name inside ``samples/``) mapped to keys and velocities, looped."""

    sample: str
    lokey: int
    hikey: int
    pitch_keycenter: int
    lovel: int
    hivel: int
    loop_start: int
    loop_end: int
    attack: float
    release: float
    crossfade: CrossfadeRange | None = None
    extra: dict = field(default_factory=dict)

    def opcodes(self) -> dict[str, int | float | str]:
        ops: dict[str, int | float | str] = {
            "sample": self.sample, "lokey": self.lokey, "hikey": self.hikey,
            "pitch_keycenter": self.pitch_keycenter, "lovel": self.lovel, "hivel": self.hivel,
            "loop_mode": "loop_continuous", "loop_start": self.loop_start, "loop_end": self.loop_end,
            "ampeg_attack": self.attack, "ampeg_release": self.release, "amp_veltrack": 100,
        }
        if self.crossfade is not None:
            ops.update(self.crossfade.opcodes())
        ops.update(self.extra)
        return ops


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def sfz_text(regions: list[Region], comments: list[str] = (), morph_cc: int | None = None,
             morph_label: str | None = None) -> str:
    """The whole ``.sfz`` file: comment header, ``<control>``, then one ``<region>`` line per region,
    grouped (one ``<group>`` per morph layer when regions carry crossfades)."""
    lines = [f"// {line}" for line in comments]
    lines += ["", "<control>", f"default_path={SAMPLE_FOLDER}/"]
    if morph_cc is not None:
        lines.append(f"set_cc{morph_cc}=0")
        if morph_label:
            lines.append(f"label_cc{morph_cc}={morph_label}")
    current = object()
    for region in regions:
        if region.crossfade is not None and region.crossfade != current:
            current = region.crossfade
            lines += ["", "<group>"]
        ops = region.opcodes()
        lines.append("<region> " + " ".join(f"{key}={_value(value)}" for key, value in ops.items()))
    return "\n".join(lines) + "\n"
