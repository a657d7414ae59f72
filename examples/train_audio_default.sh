#!/usr/bin/env bash
# Reproduce the shipped `audio-default` model on a CPU (about 30 minutes on 2 cores):
#   bash examples/train_audio_default.sh [RUN_DIR]
# Needs Debian's fluid-soundfont-gm + libfluidsynth3 and `pip install -e ".[fluidsynth]"`.
set -euo pipefail
RUN=${1:-runs/audio-default}
CORPUS=${CORPUS:-corpora/fluidr3_8x61}
# 8 General MIDI programs, one per family: piano, vibraphone, nylon guitar, violin, trumpet, alto sax,
# flute, saw lead; MIDI 24-84; velocity 100 (NSynth protocol: note-off at 3 s, 4 s at 16 kHz)
creative-gan data audio --out "$CORPUS" --programs 0,11,24,40,56,65,73,81 --pitches 24-84 --velocities 100
# one torch thread: on a shared 2-core machine it is faster than two
OMP_NUM_THREADS=1 creative-gan train audio --preset small --data "$CORPUS" --out "$RUN" --seed 0
OMP_NUM_THREADS=1 creative-gan evaluate audio --model "$RUN/model" --data "$CORPUS" --json "$RUN/metrics.json"
echo "model: $RUN/model (copy it to creative_gan/assets/audio-default to ship it)"
