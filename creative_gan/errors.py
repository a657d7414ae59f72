"""Errors a user can cause: the CLI prints them as one line, never a traceback."""


class CreativeGANError(Exception):
    """Base class of every error caused by user input (files, arguments, checkpoints)."""


class UsageError(CreativeGANError, ValueError):
    """A command-line argument or API argument that cannot be honoured."""


class ReleaseError(CreativeGANError, ValueError):
    """A release model (folder or .zip) that is missing, corrupt, truncated or foreign."""


class CheckpointError(CreativeGANError, ValueError):
    """A resume checkpoint that is missing, corrupt, truncated or unsafe to load."""


class TrainingDiverged(CreativeGANError, RuntimeError):
    """Training produced non-finite losses repeatedly; the last good state was saved."""
