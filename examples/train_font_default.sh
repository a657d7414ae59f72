#!/usr/bin/env bash
# Rebuild the shipped font-default: a glyph corpus from the system's fonts (install the packages on
# .ci/run's apt line first), then the `gpu` preset (about 7 minutes on one H200; many hours on a CPU —
# `--preset cpu` trains a 32-px model in about an hour), then the evaluator's glyph classifier is attached.
set -euo pipefail
out=${1:-runs/font-default}
creative-gan data font --out corpora/fonts --size 64
creative-gan train font --data corpora/fonts --preset gpu --out "$out" ${DEVICE:+--device "$DEVICE"}
python - "$out/model" corpora/fonts <<'PY'
import json
import sys
from pathlib import Path

import creative_gan
from creative_gan.pipelines.font.classifier import train_classifier
from creative_gan.pipelines.font.corpus import GlyphCorpus

model, corpus = sys.argv[1], sys.argv[2]
pipe = creative_gan.load(model)
pipe.classifier_tensors = train_classifier(GlyphCorpus(corpus).glyphs).state_dict()
pipe.classifier_config = {"trained_on": "the training corpus", "epochs": 4, "input_size": 32}
provenance = json.loads((Path(model) / "config.json").read_text()).get("provenance")
creative_gan.save(pipe, model, provenance=provenance)
PY
creative-gan evaluate font --model "$out/model" --data corpora/fonts --json "$out/metrics.json"
echo "model: $out/model (copy it to creative_gan/assets/font-default)"
