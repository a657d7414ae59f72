#!/usr/bin/env bash
# Rebuild the shipped `anime-default` model on a CPU (the `cpu` preset, 7,500 steps; 40–90 minutes on 2 cores):
#   bash examples/train_anime_default.sh [RUN_DIR] [STEPS]
# The shipped model was trained on PROCEDURAL (synthetic) anime faces drawn by the package itself
# (6,000 faces, corpus seed 0): no dataset is downloaded. To train on your own pictures instead:
#   creative-gan data anime --images ~/my_faces --crop-faces --out corpora/my_faces   # needs `pip install animeface`
#   OMP_NUM_THREADS=1 creative-gan train anime --preset cpu --data corpora/my_faces --out runs/my_faces
set -euo pipefail
RUN=${1:-runs/anime-default}
STEPS=${2:-7500}
# optional: look at the training faces first (writes corpora/anime-procedural/contact_sheet.png)
creative-gan data anime --procedural 6000 --seed 0 --out corpora/anime-procedural --overwrite --no-progress
creative-gan data anime --inspect corpora/anime-procedural
# one torch thread: on a shared 2-core machine it is faster than two; without --data the task draws the
# same 6,000 procedural faces in memory
OMP_NUM_THREADS=1 creative-gan train anime --preset cpu --steps "$STEPS" --out "$RUN" --seed 0
OMP_NUM_THREADS=1 creative-gan evaluate anime --model "$RUN/model" --json "$RUN/metrics.json"
creative-gan sample anime --model "$RUN/model" --seeds 0-15 -o "$RUN/grid.png"
creative-gan sample anime --model "$RUN/model" --walk 3,17,42 --frames 60 -o "$RUN/walk.gif"
echo "model: $RUN/model (copy it to creative_gan/assets/anime-default to ship it)"
