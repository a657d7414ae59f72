"""Evaluation of note generators: model-free metrics, a classifier embedding, figures beside a real reference."""
