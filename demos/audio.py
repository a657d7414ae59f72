"""The audio tab, a musician's desk: render MIDI through learned timbres, and a note explorer.

``build_audio_demo(pipe)`` only lays out components inside the current ``gr.Tab``; the work is done by the
plain functions of :mod:`creative_gan.demos.audio_callbacks` (unit-tested without a server).
"""
from __future__ import annotations

import re

import gradio as gr

from . import audio_callbacks as calls
from .common import AUDIO_BUTTONS, IMAGE_BUTTONS, example_midis, heavy_event, light_event, output_path, ui

DEFAULT_EXAMPLE = "ode_to_joy.mid"
TRACK_HEADERS = ["track", "name", "notes", "timbre (blank: the piece's)"]


def build_audio_demo(pipe) -> None:
    """Components and events of the audio tab for an AudioPipeline ``pipe``."""
    choices = calls.timbre_choices(pipe)
    default = calls.default_timbre(pipe)
    examples = list(example_midis())
    first = DEFAULT_EXAMPLE if DEFAULT_EXAMPLE in examples else (examples[0] if examples else None)
    lo, hi = pipe.pitch_range
    presets = sorted(pipe.presets)
    second = presets[1] if len(presets) > 1 else "seed:1"
    # a morph that is easy to hear (bowed to blown) when the model has such presets
    morph_rows = [[0, "violin"], [15, "flute"]] if {"violin", "flute"} <= set(presets) else [[0, default],
                                                                                             [15, second]]

    gr.Markdown("Render a MIDI file through the model's learned instrument timbres. Pick an example or "
                "upload a file, choose a timbre for the whole piece (a preset, `seed:N`, or a random one), or morph "
                "between timbres over time, or give single tracks their own.")
    with gr.Row():
        with gr.Column(scale=1):
            example = gr.Dropdown(examples, value=first, label="Example MIDI", elem_id="audio-example")
            upload = gr.File(label="…or upload a MIDI file (.mid, .midi)", file_types=[".mid", ".midi"],
                             type="filepath", elem_id="audio-upload")
            with gr.Row():
                timbre = gr.Dropdown(choices, value=default, allow_custom_value=True, scale=3,
                                     label="Timbre of the whole piece (preset or seed:N)", elem_id="audio-timbre")
                dice = gr.Button("Random timbre", scale=1, elem_id="audio-random")
            use_morph = gr.Checkbox(False, label="Morph over time (the timeline below replaces the piece timbre)",
                                    elem_id="audio-use-morph")
            morph = gr.Dataframe(morph_rows, headers=["time (s)", "timbre"], type="array",
                                 datatype=["number", "str"], row_count=2, column_count=2, interactive=True,
                                 label="Morph timeline: rows of time → timbre (slerp between rows)",
                                 elem_id="audio-morph")
            tracks = gr.Dataframe(calls.track_rows(first, None) if first else None, headers=TRACK_HEADERS,
                                  type="array", datatype=["number", "str", "number", "str"], interactive=True,
                                  label="Tracks (type a timbre or a morph like 0:violin,10:flute to override)",
                                  elem_id="audio-tracks")
            file_format = gr.Radio(list(calls.FORMATS), value="WAV", label="Download format",
                                   elem_id="audio-format")
            render = gr.Button("Render", variant="primary", elem_id="audio-render")
        with gr.Column(scale=1):
            player = gr.Audio(label="Rendered piece", type="numpy", interactive=False,
                              buttons=AUDIO_BUTTONS, elem_id="audio-player")
            summary = gr.Markdown(elem_id="audio-summary")
            roll = gr.Image(label="Piano roll", type="filepath", interactive=False,
                            buttons=IMAGE_BUTTONS, elem_id="audio-roll")
            spectrum = gr.Image(label="Spectrogram (log-mel)", type="filepath", interactive=False,
                                buttons=IMAGE_BUTTONS, elem_id="audio-spectrogram")
            download = gr.File(label="Download", interactive=False, elem_id="audio-download")

    with gr.Accordion("Note explorer", open=True):
        with gr.Row():
            pitch = gr.Slider(lo, hi, value=min(max(60, lo), hi), step=1, label="Pitch (MIDI note)",
                              elem_id="explorer-pitch")
            note_timbre = gr.Dropdown(choices, value=default, allow_custom_value=True, label="Timbre",
                                      elem_id="explorer-timbre")
            note_dice = gr.Button("Random timbre", elem_id="explorer-random")
            velocity = gr.Slider(1, 127, value=100, step=1, label=calls.velocity_label(pipe),
                                 elem_id="explorer-velocity")
            play = gr.Button("Play note", variant="primary", elem_id="explorer-play")
        with gr.Row():
            note_audio = gr.Audio(label="Note", type="numpy", interactive=False,
                                  buttons=AUDIO_BUTTONS, elem_id="explorer-audio")
            note_info = gr.Markdown(elem_id="explorer-info")
        with gr.Row():
            timbre_a = gr.Dropdown(choices, value=default, allow_custom_value=True, label="From timbre",
                                   elem_id="explorer-a")
            timbre_b = gr.Dropdown(choices, value=second, allow_custom_value=True, label="To timbre",
                                   elem_id="explorer-b")
            count = gr.Slider(2, 16, value=8, step=1, label="Notes in the row", elem_id="explorer-count")
            morph_button = gr.Button("Play morph row", elem_id="explorer-morph")
        with gr.Row():
            row_audio = gr.Audio(label="Timbre morph (one note per second)", type="numpy",
                                 interactive=False, buttons=AUDIO_BUTTONS, elem_id="explorer-row-audio")
            row_info = gr.Markdown(elem_id="explorer-row-info")

    with gr.Accordion("Export instrument (SFZ, for any sampler or DAW)", open=False):
        with gr.Row():
            sfz_timbre = gr.Dropdown(choices, value=default, allow_custom_value=True, label="Timbre",
                                     elem_id="sfz-timbre")
            sfz_morph = gr.Dropdown([""] + choices, value="", allow_custom_value=True, elem_id="sfz-morph",
                                    label="Morph to (optional: CC 1 sweeps timbre → this)")
            sfz_every = gr.Slider(1, 12, value=3, step=1, label="Keys per sample", elem_id="sfz-every")
            sfz_button = gr.Button("Export instrument", elem_id="sfz-export")
        with gr.Row():
            sfz_file = gr.File(label="Instrument (.zip: .sfz + samples)", interactive=False, elem_id="sfz-file")
            sfz_info = gr.Markdown(elem_id="sfz-info")

    with gr.Accordion("Timbre from a recording", open=False):
        gr.Markdown("Upload one note of an instrument (WAV, FLAC or OGG). The model's timbre closest to it is "
                    "found by fitting, kept as a preset under the name you give, and offered in every timbre "
                    "list of this tab for this browser session (others do not see it). Leave the pitch empty to "
                    "detect it.")
        with gr.Row():
            recording = gr.File(label="Recording of one note", file_types=calls.RECORDING_TYPES, type="filepath",
                                elem_id="fit-upload")
            with gr.Column():
                fit_pitch = gr.Textbox("", label="Pitch (MIDI number or name like A3; empty: detect)",
                                       elem_id="fit-pitch")
                fit_name = gr.Textbox("my-timbre", label="Preset name", elem_id="fit-name")
                fit_button = gr.Button("Fit timbre", variant="primary", elem_id="fit-button")
        with gr.Row():
            fit_audio = gr.Audio(label="The model's note in the fitted timbre", type="numpy", interactive=False,
                                 buttons=AUDIO_BUTTONS, elem_id="fit-audio")
            fit_original = gr.Audio(label="Your recording", type="numpy", interactive=False,
                                    buttons=AUDIO_BUTTONS, elem_id="fit-original")
        fit_info = gr.Markdown(elem_id="fit-info")

    mine = gr.State({})     # this browser session's fitted timbres {name: z}; the shared model never changes

    def do_render(example, upload, timbre, use_morph, morph, tracks, file_format, own,
                  progress=gr.Progress(track_tqdm=True)):
        return calls.render_piece(calls.session_pipe(pipe, own), example, upload, timbre, use_morph, morph,
                                  tracks, file_format, progress=True)

    def with_own(callback):
        """``callback(pipe, *values)`` called with the session's view of the model (its last input: ``mine``)."""
        def run(*values):
            *values, own = values
            return callback(calls.session_pipe(pipe, own), *values)
        return run

    refresh_tracks = ui(calls.track_rows)
    example.change(refresh_tracks, [example, upload], tracks, api_name="audio_tracks", **light_event())
    upload.change(refresh_tracks, [example, upload], tracks, api_name="audio_upload_tracks", **light_event())
    dice.click(lambda: calls.random_timbre(), None, timbre, api_name=False, queue=False)
    note_dice.click(lambda: calls.random_timbre(), None, note_timbre, api_name=False, queue=False)
    render.click(ui(do_render), [example, upload, timbre, use_morph, morph, tracks, file_format, mine],
                 [player, roll, spectrum, download, summary], api_name="audio_render", **heavy_event())
    play.click(ui(with_own(calls.play_note)), [pitch, note_timbre, velocity, mine],
               [note_audio, note_info], api_name="audio_note", **light_event())
    morph_button.click(ui(with_own(calls.morph_row)), [pitch, timbre_a, timbre_b, count, velocity, mine],
                       [row_audio, row_info], api_name="audio_morph_row", **light_event())
    shipped = frozenset(pipe.presets)

    def do_fit(path, pitch_text, name, own, progress=gr.Progress(track_tqdm=True)):
        return fit_timbre_outputs(pipe, path, pitch_text, name, own, protected=shipped, progress=True)

    fit_button.click(ui(do_fit), [recording, fit_pitch, fit_name, mine],
                     [fit_audio, fit_original, fit_info, note_timbre, timbre, timbre_a, timbre_b, sfz_timbre,
                      sfz_morph, mine], api_name="audio_fit_timbre", **heavy_event())
    sfz_button.click(ui(with_own(export_instrument_zip)), [sfz_timbre, sfz_morph, sfz_every, mine],
                     [sfz_file, sfz_info], api_name="audio_export_instrument", **heavy_event())


def fit_timbre_outputs(pipe, path, pitch_text, name, mine=None, protected=(), progress: bool = False) -> tuple:
    """The "Fit timbre" button: fit the recording's timbre, keep it among this session's own timbres ``mine``
    (``{name: z}``; ``pipe``, the shared model, is not changed), then refresh every timbre dropdown.

    Returns ``(fitted note, recording, info line, note-explorer timbre update (choices, value: the new
    preset), piece / morph-from / morph-to / SFZ timbre updates (choices), SFZ morph-to update (choices with ""),
    the session's timbres with the new one)``.
    """
    view = calls.session_pipe(pipe, mine)
    fitted, original, info, chosen = calls.fit_recording(view, path, pitch_text, name, protected=protected,
                                                         progress=progress)
    choices = calls.timbre_choices(view)
    own = {**(mine or {}), chosen: view.presets[chosen]}
    return (fitted, original, info, gr.update(choices=choices, value=chosen),
            *(gr.update(choices=choices) for _ in range(4)), gr.update(choices=[""] + choices), own)


def export_instrument_zip(pipe, timbre: str, morph_to: str = "", every=3) -> tuple[str, str]:
    """The instrument of ``timbre`` (or a morph to ``morph_to``) as a zip: ``(zip path, summary line)``."""
    from creative_gan.pipelines.audio.export.archive import instrument_zip

    spec = calls.check_timbre(pipe, timbre)
    morph = (spec, calls.check_timbre(pipe, morph_to, "morph target")) if str(morph_to or "").strip() else None
    options = {"morph": morph} if morph else {"timbre": spec}
    name = "-to-".join(morph) if morph else spec
    stem = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "instrument"
    summary = instrument_zip(pipe, output_path(stem, ".zip"), every=every, progress=False, **options)
    return str(summary["zip"]), (f"{summary['name']}: {summary['regions']} regions, {summary['files']} files; "
                                 f"open {summary['name']}.sfz in an SFZ player such as sfizz")
