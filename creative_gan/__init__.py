"""creative_gan: generative adversarial networks for creative work.

    >>> import creative_gan
    >>> pipe = creative_gan.load("digits-default")
    >>> images = pipe.generate(seeds=range(16))
"""
__version__ = "0.1.0"

from .errors import CheckpointError, CreativeGANError, ReleaseError, UsageError  # noqa: E402


def load(path_or_name, device=None):
    """Load a release model (folder, .zip, or the name of a shipped model) as its pipeline."""
    from .release import load as _load

    return _load(path_or_name, device=device)


def save(pipe, directory, provenance=None):
    """Save a pipeline as a release folder: ``config.json`` + ``model.safetensors``."""
    from .release import save as _save

    return _save(pipe, directory, provenance=provenance)


__all__ = ["load", "save", "CreativeGANError", "ReleaseError", "CheckpointError", "UsageError",
           "__version__"]
