"""Pipelines shipped with creative_gan: one sub-package per modality."""
