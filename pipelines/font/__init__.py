"""Fonts from attributes: a glyph corpus from real font files, an attribute-conditioned glyph GAN,
and installable font export (OTF / TTF / UFO)."""
