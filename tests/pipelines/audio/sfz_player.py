"""A small SFZ reader and player, independent of the exporter, used to check what it wrote.

It reads the SFZ subset a sampler instrument of this project uses (and the header inheritance any SFZ file
uses): ``<control>`` (``default_path``, ``set_ccN``), ``<global>``/``<master>``/``<group>``/``<region>``;
``sample``, ``lokey``/``hikey``/``key``, ``pitch_keycenter``, ``pitch_keytrack``, ``tune``, ``lovel``/``hivel``,
``loop_mode`` (``no_loop``, ``one_shot``, ``loop_continuous``, ``loop_sustain``) with ``loop_start``/``loop_end``
(inclusive), ``ampeg_attack``/``ampeg_release`` (linear ramps), ``amp_veltrack`` (gain (v/127)² at 100 %),
``volume`` (dB) and CC crossfades ``xfin_loccN``/``xfin_hiccN``/``xfout_loccN``/``xfout_hiccN`` with
``xf_cccurve`` (``power``: equal-power, ``gain``: linear). It plays a MIDI file by sample lookup, pitch shift
(linear-interpolation resampling), looping and release, mixes, and peak-normalises like the renderer.
Also here: the comparison figures the tests use (chroma agreement, log-mel L1, loop-seam spectral flux).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

HEADERS = ("control", "global", "master", "group", "region")


@dataclass
class SfzInstrument:
    """Parsed regions (each a flat dict of inherited + own opcodes, values as strings) and control values."""

    folder: Path
    regions: list[dict]
    default_path: str = ""
    cc_defaults: dict[int, int] = field(default_factory=dict)

    def sample_path(self, region: dict) -> Path:
        return self.folder / (self.default_path + region["sample"].replace("\\", "/"))


def parse_sfz(path) -> SfzInstrument:
    """Read an .sfz file: comments removed, headers applied with SFZ inheritance (global > master > group)."""
    path = Path(path)
    text = re.sub(r"//[^\n]*", "", path.read_text(encoding="utf-8"))
    tokens = re.split(r"(<[a-z_]+>)", text)
    levels = {"global": {}, "master": {}, "group": {}}
    control: dict[str, str] = {}
    regions: list[dict] = []
    current: dict | None = None
    for token in tokens:
        header = re.fullmatch(r"<([a-z_]+)>", token.strip())
        if header:
            kind = header.group(1)
            if kind not in HEADERS:
                raise ValueError(f"unsupported header <{kind}>")
            if kind == "control":
                current = control
            elif kind == "region":
                current = {}
                regions.append(current)
            else:
                levels[kind] = {}
                if kind == "global":
                    levels["master"], levels["group"] = {}, {}
                elif kind == "master":
                    levels["group"] = {}
                current = levels[kind]
            if kind == "region":
                current.update({**levels["global"], **levels["master"], **levels["group"]})
            continue
        if current is None:
            if token.strip():
                raise ValueError(f"opcodes before any header: {token.strip()[:40]!r}")
            continue
        current.update(_opcodes(token))
    cc_defaults = {int(k[6:]): int(v) for k, v in control.items() if re.fullmatch(r"set_cc\d+", k)}
    return SfzInstrument(path.parent, regions, control.get("default_path", ""), cc_defaults)


def _opcodes(text: str) -> dict[str, str]:
    """``a=1 sample=My File.wav b=2`` -> dict; a value runs until the next ``name=`` (spaces allowed)."""
    ops: dict[str, str] = {}
    last = None
    for word in text.split():
        match = re.fullmatch(r"([A-Za-z0-9_]+)=(.*)", word)
        if match:
            last = match.group(1)
            ops[last] = match.group(2)
        elif last is not None:
            ops[last] += " " + word
        else:
            raise ValueError(f"not an opcode: {word!r}")
    return ops


def key_range(region: dict) -> tuple[int, int]:
    if "key" in region:
        return int(region["key"]), int(region["key"])
    return int(region.get("lokey", 0)), int(region.get("hikey", 127))


def vel_range(region: dict) -> tuple[int, int]:
    return int(region.get("lovel", 1)), int(region.get("hivel", 127))


def crossfade_gain(region: dict, cc: dict[int, int]) -> float:
    """Product of the region's CC fade-in and fade-out gains at controller values ``cc``."""
    gain = 1.0
    power = region.get("xf_cccurve", "power") == "power"
    for name, value in region.items():
        match = re.fullmatch(r"xf(in|out)_locc(\d+)", name)
        if not match:
            continue
        kind, number = match.group(1), int(match.group(2))
        lo, hi = int(value), int(region[f"xf{kind}_hicc{number}"])
        now = cc.get(number, 0)
        x = 1.0 if hi <= lo and now >= hi else float(np.clip((now - lo) / max(hi - lo, 1), 0.0, 1.0))
        x = x if kind == "in" else 1.0 - x
        gain *= np.sqrt(x) if power else x
    return float(gain)


class SfzPlayer:
    """Plays notes and MIDI files through a parsed SFZ instrument (mono, at the samples' rate)."""

    def __init__(self, sfz_path):
        self.instrument = parse_sfz(sfz_path)
        self._samples: dict[Path, tuple[np.ndarray, int]] = {}

    def sample(self, region: dict) -> tuple[np.ndarray, int]:
        path = self.instrument.sample_path(region)
        if path not in self._samples:
            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            self._samples[path] = (audio.mean(1), rate)
        return self._samples[path]

    @property
    def sample_rate(self) -> int:
        return self.sample(self.instrument.regions[0])[1]

    def regions_for(self, key: int, velocity: int, cc: dict[int, int] | None = None) -> list[tuple[dict, float]]:
        """[(region, crossfade gain > 0)] that sound for this key and velocity."""
        cc = {**self.instrument.cc_defaults, **(cc or {})}
        found = []
        for region in self.instrument.regions:
            lo, hi = key_range(region)
            vlo, vhi = vel_range(region)
            if lo <= key <= hi and vlo <= velocity <= vhi:
                gain = crossfade_gain(region, cc)
                if gain > 0:
                    found.append((region, gain))
        return found

    def render_region(self, region: dict, key: int, velocity: int, hold: int) -> np.ndarray:
        """One region's voice for a note held ``hold`` samples: float32 [hold + release samples]."""
        audio, rate = self.sample(region)
        release = int(round(float(region.get("ampeg_release", 0.001)) * rate))
        attack = int(round(float(region.get("ampeg_attack", 0.0)) * rate))
        length = hold + release
        keycenter = int(region.get("pitch_keycenter", 60))
        semitones = (key - keycenter) * float(region.get("pitch_keytrack", 100)) / 100 + \
            float(region.get("tune", 0)) / 100
        ratio = 2.0 ** (semitones / 12.0)
        pos = np.arange(length) * ratio
        mode = region.get("loop_mode", "no_loop")
        looping = mode in ("loop_continuous", "loop_sustain") and "loop_end" in region
        if looping:
            start, end = int(region.get("loop_start", 0)), int(region["loop_end"])
            period = end - start + 1
            beyond = pos > end
            pos[beyond] = start + np.mod(pos[beyond] - start, period)
        index = np.floor(pos).astype(np.int64)
        frac = (pos - index).astype(np.float32)
        nxt = index + 1
        if looping:
            nxt[nxt > end] = start
        valid = nxt < len(audio)
        out = np.zeros(length, np.float32)
        out[valid] = audio[index[valid]] * (1 - frac[valid]) + audio[nxt[valid]] * frac[valid]
        env = np.ones(length, np.float32)
        if attack > 0:
            env[:attack] = np.minimum(1.0, (np.arange(min(attack, length)) + 1.0) / attack)
        if release > 0:
            level = env[min(hold, length) - 1]
            env[hold:] = level * (1.0 - (np.arange(length - hold) + 1.0) / release)
        veltrack = float(region.get("amp_veltrack", 100)) / 100
        gain = (1 - veltrack) + veltrack * (velocity / 127.0) ** 2
        gain *= 10 ** (float(region.get("volume", 0.0)) / 20)
        return out * env * np.float32(gain)

    def play_note(self, key: int, velocity: int, hold: int, cc: dict[int, int] | None = None) -> np.ndarray:
        """Every sounding region of a note, mixed: float32 [hold + longest release]."""
        voices = [self.render_region(region, key, velocity, hold) * np.float32(g)
                  for region, g in self.regions_for(key, velocity, cc)]
        if not voices:
            return np.zeros(hold, np.float32)
        out = np.zeros(max(len(v) for v in voices), np.float32)
        for voice in voices:
            out[:len(voice)] += voice
        return out

    def play_midi(self, midi_path, cc: dict[int, int] | None = None, headroom_db: float = 1.0) -> np.ndarray:
        """All pitched notes of a MIDI file, mixed and peak-normalised to -headroom_db dBFS: float32 [T]."""
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(str(midi_path))
        sr = self.sample_rate
        parts = []
        for inst in pm.instruments:
            if inst.is_drum:
                continue
            for note in inst.notes:
                start = int(round(note.start * sr))
                hold = max(1, int(round((note.end - note.start) * sr)))
                parts.append((start, self.play_note(note.pitch, note.velocity, hold, cc)))
        total = max(start + len(a) for start, a in parts)
        mix = np.zeros(total, np.float32)
        for start, audio in parts:
            mix[start:start + len(audio)] += audio
        peak = float(np.max(np.abs(mix)))
        return mix * np.float32(10 ** (-headroom_db / 20) / peak) if peak > 0 else mix


# ------------------------------------------------------------------ comparison figures
def _same_length(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = max(len(a), len(b))
    return np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b)))


def _frames(a: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Hann-windowed frames [F, n_fft] of a (zero-padded to whole frames)."""
    a = np.pad(a.astype(np.float64), (0, max(0, n_fft - len(a)) + (-max(len(a) - n_fft, 0)) % hop))
    return np.lib.stride_tricks.sliding_window_view(a, n_fft)[::hop] * np.hanning(n_fft)


def chroma(a: np.ndarray, sr: int, n_fft: int = 2048, hop: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(12-bin chroma [12, F]: STFT power of bins 55 Hz-5 kHz summed per pitch class (A440), frame power [F])."""
    power = np.abs(np.fft.rfft(_frames(a, n_fft, hop), axis=1)) ** 2          # [F, bins]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    use = (freqs >= 55.0) & (freqs <= 5000.0)
    pitch_class = np.round(12 * np.log2(freqs[use] / 440.0) + 69).astype(int) % 12
    out = np.zeros((12, power.shape[0]))
    for pc in range(12):
        out[pc] = power[:, use][:, pitch_class == pc].sum(1)
    return out, power.sum(1)


def chroma_agreement(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Mean cosine similarity of the 12-bin chroma of a and b over frames where both sound (>-20 dB of
    their loudest frame)."""
    a, b = _same_length(a, b)
    ca, pa = chroma(a, sr)
    cb, pb = chroma(b, sr)
    sounding = (pa > pa.max() * 0.01) & (pb > pb.max() * 0.01)
    cos = (ca * cb).sum(0) / np.maximum(np.linalg.norm(ca, axis=0) * np.linalg.norm(cb, axis=0), 1e-30)
    return float(cos[sounding].mean())


def log_mel(a: np.ndarray, sr: int, n_mels: int = 64) -> np.ndarray:
    """Log-mel spectrogram [n_mels, frames] in dB (absolute, floor -80 dB), n_fft 1024, hop 256 (Slaney mels)."""
    import librosa

    power = np.abs(np.fft.rfft(_frames(a, 1024, 256), axis=1)) ** 2           # [F, 513]
    mel = librosa.filters.mel(sr=sr, n_fft=1024, n_mels=n_mels) @ power.T      # [n_mels, F]
    return np.maximum(10 * np.log10(np.maximum(mel, 1e-12)), -80.0)


def log_mel_l1(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Mean absolute difference (dB) of the log-mel spectrograms of a and b (the shorter padded with silence)."""
    a, b = _same_length(a, b)
    return float(np.mean(np.abs(log_mel(a, sr) - log_mel(b, sr))))


def spectral_flux(audio: np.ndarray, n_fft: int = 512, hop: int = 64, floor_db: float = 80.0) -> np.ndarray:
    """Frame-to-frame spectral flux [frames - 1]: L2 norm over bins of the rise of the log magnitude (dB).

    The DC bin is left out (an offset is inaudible) and magnitudes are floored ``floor_db`` below the loudest
    bin, so bins far below hearing do not dominate."""
    window = np.hanning(n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float64), n_fft)[::hop] * window
    mag = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1))[:, 1:] + 1e-12)
    mag = np.maximum(mag, mag.max() - floor_db)
    rise = np.maximum(np.diff(mag, axis=0), 0.0)
    return np.sqrt((rise ** 2).sum(1))


def seam_flux(audio: np.ndarray, loop_start: int, loop_end: int, sustain_start: int | None = None,
              n_fft: int = 512, hop: int = 64) -> tuple[float, float]:
    """(largest flux of frames spanning the loop seam, largest flux of the sustain played straight through).

    The seam is heard as ``audio[..loop_end]`` followed by ``audio[loop_start..]``. The sustain is
    ``audio[sustain_start:loop_end + 1]`` (default: the loop period alone), which holds no seam."""
    period = audio[loop_start:loop_end + 1]
    sustain = audio[loop_start if sustain_start is None else sustain_start:loop_end + 1]
    inside = spectral_flux(sustain, n_fft, hop)
    half = 4 * n_fft
    joined = np.concatenate([period[-half:], period[:half]])
    flux = spectral_flux(joined, n_fft, hop)
    starts = np.arange(len(flux) + 1) * hop
    spans = (starts < half) & (starts + n_fft > half)          # frames containing the jump
    involved = spans[:-1] | spans[1:]                          # flux values touching such a frame
    return float(flux[involved].max()), float(inside.max())
