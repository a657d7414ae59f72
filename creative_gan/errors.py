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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (raised by the CLI's signal handlers, never by library code).

    A ``KeyboardInterrupt`` subclass, so every ``except KeyboardInterrupt`` / ``except BaseException``
    cleanup path (resume state, temp files) runs for it exactly as for Ctrl-C.
    """

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + signal number (143 for SIGTERM, 129 for SIGHUP)."""
        return 128 + self.signum
