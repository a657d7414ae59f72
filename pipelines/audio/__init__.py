"""The audio pipeline: a pitch-conditioned note GAN and a MIDI renderer that plays its learned timbres.

Sub-packages, in dependency order (each imports only those above it, never one below):

- ``constants``, ``presets`` — fixed facts of the note format; named training recipes (plain data)
- ``data/``      — NSynth-format corpus reader/writer, SoundFont corpus builder, General MIDI names, MIDI input
- ``dsp/``       — differentiable additive synth, mag+IF spectral layouts and their inverse
- ``networks/``  — generators and discriminators (harmonic, spectral, wave) and the family table
- ``evaluate/``  — model-free note metrics, the classifier embedding, evaluation against a real reference
- ``render/``    — timbre specs and morphs, per-note shaping and mixing, the MIDI renderer, the preset bank
- ``pipeline``   — :class:`AudioPipeline`, the release model (``creative_gan.load("audio-default")``)
- ``training/``  — the trainer's view of a corpus, the objective, :class:`AudioTask` (imported only to train)
- ``plugin``, ``commands``, ``pictures`` — what the CLI and the registry see

Loading a release model imports ``pipeline``, ``networks``, ``dsp`` and ``render``, never ``training``.
"""
