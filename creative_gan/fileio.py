"""One temp-file discipline for every file creative_gan writes.

A writer never touches its target until the new content is complete: it writes a hidden temp file
in the same folder (``.<name>.<pid>-<token>.tmp<suffix>``), flushes it to disk, gives it the mode a
plain ``open()`` would (``0o666 & ~umask``; ``mkstemp`` alone makes 0600) and renames it over the
target with ``os.replace``. On any exception, ``KeyboardInterrupt`` and
:class:`~creative_gan.errors.Terminated` included, the temp file is removed and the target is left
as it was. Temp files of a process that was killed outright (SIGKILL, power loss) carry its pid;
:func:`remove_stale_temps` deletes those of dead processes and writers call it before each save.

    >>> with atomic_write("out/summary.json", "w") as fh:       # a file object
    ...     fh.write("{}")
    >>> with atomic_path("out/take.wav") as tmp:                # a path, for libraries that want one
    ...     soundfile.write(tmp, audio, 16000)
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import IO, Iterator

TEMP_MARK = ".tmp"


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic swap (not thread-safe, but brief)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new plain file under the current umask (``0o644`` under umask 022)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode of a new folder under the current umask (``0o755`` under umask 022)."""
    return 0o777 & ~current_umask()


def temp_name(target: Path) -> Path:
    """A hidden, unique sibling of ``target`` that keeps its suffix (format detection by extension)."""
    token = secrets.token_hex(4)
    return target.with_name(f".{target.name}.{os.getpid()}-{token}{TEMP_MARK}{target.suffix}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process (or unknowable): leave its file alone
    return True


def remove_stale_temps(target: str | os.PathLike) -> list[Path]:
    """Delete temp files of ``target`` left by processes that no longer run; returns what was removed."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-[0-9a-f]+{re.escape(TEMP_MARK)}")
    removed = []
    for entry in target.parent.iterdir():
        match = pattern.match(entry.name)
        if match and not _pid_alive(int(match.group(1))):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = True, clean_stale: bool = True) -> Iterator[Path]:
    """Yield a temp path beside ``path``; when the block succeeds it becomes ``path`` atomically.

    The folder must exist (a missing folder is the caller's error to report, before any work).
    ``clean_stale`` scans the folder for dead processes' temp files of ``path`` first; a writer of
    thousands of files into one folder passes False and calls :func:`remove_stale_temps` itself.
    """
    path = Path(path)
    if clean_stale:
        remove_stale_temps(path)
    tmp = temp_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(2, "the writer produced no file", str(tmp))
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None,
                 clean_stale: bool = True) -> Iterator[IO]:
    """``open(path, mode)`` that replaces ``path`` only when the block succeeds (``"w"`` or ``"wb"``)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    with atomic_path(path, clean_stale=clean_stale) as tmp:
        kwargs = {"encoding": encoding or "utf-8"} if mode == "w" else {}
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, data) -> Path:
    """Write ``data`` as indented, key-sorted JSON to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(directory: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temp folder beside ``directory``; on success it replaces ``directory`` whole.

    An existing ``directory`` is moved aside, the new one renamed in, then the old one deleted, so
    a reader sees either the complete old folder or the complete new one. Files and the folder get
    the umask's modes.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(directory)
    tmp = temp_name(directory)
    tmp.mkdir()
    old = None
    try:
        yield tmp
        for entry in tmp.rglob("*"):
            os.chmod(entry, dir_mode() if entry.is_dir() else file_mode())
            if entry.is_file():
                with open(entry, "rb+") as handle:
                    os.fsync(handle.fileno())
        os.chmod(tmp, dir_mode())
        if directory.exists():
            old = temp_name(directory)
            directory.rename(old)
        tmp.rename(directory)
        _fsync_dir(directory.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not directory.exists():
            old.rename(directory)  # put the previous release back
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_outputs(files: dict | None = None, folders: dict | None = None, inputs: dict | None = None) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy something.

    ``files`` / ``folders`` / ``inputs`` map an option name (``"--json"``) to a path or ``None``
    (option not given). A file output must not be an existing folder and its folder must exist and
    be writable; a folder output must not be an existing file and must be creatable; no two
    outputs, and no output and input, may be the same file. Raises :class:`UsageError` (one line).
    """
    from .errors import UsageError

    files = {k: Path(v) for k, v in (files or {}).items() if v not in (None, "")}
    folders = {k: Path(v) for k, v in (folders or {}).items() if v not in (None, "")}
    inputs = {k: Path(v) for k, v in (inputs or {}).items() if v not in (None, "")}
    for option, path in files.items():
        if path.is_dir():
            raise UsageError(f"{option} {path}: is a folder; give a file name")
        parent = path.parent
        if not parent.is_dir():
            raise UsageError(f"{option} {path}: folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path}: folder {parent} is not writable")
    for option, path in folders.items():
        if path.exists() and not path.is_dir():
            raise UsageError(f"{option} {path}: exists and is not a folder")
        base = _nearest_existing(path)
        if not base.is_dir():
            raise UsageError(f"{option} {path}: {base} is a file, so the folder cannot be made")
        if not os.access(base, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path}: folder {base} is not writable")
    seen: dict[str, str] = {}
    for option, path in [*inputs.items(), *files.items(), *folders.items()]:
        key = os.path.realpath(path)
        if key in seen:
            verb = "reads" if seen[key] in inputs else "writes"
            raise UsageError(f"{option} {path}: {seen[key]} already {verb} that file; give another path")
        seen[key] = option
