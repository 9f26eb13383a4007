"""Output files are written whole or not at all, and never over one of the run's own inputs.

:func:`atomic_write` opens a temporary file in the target's folder, hands it to the caller, then
flushes, fsyncs and renames it over the target. If anything goes wrong on the way (an exception, a
``KeyboardInterrupt``), the temporary file is removed and the previous target stays as it was. Two
writers of one target each rename a whole file: the last one wins, never a mix of both.

A process killed outright (``SIGKILL``, power loss) cannot remove its temporary file. Such orphans are
named ``.<target name>.<pid>.<random>.rules-engine-tmp`` (hidden, next to the target); the next write
of the same target removes those whose process is gone and that have not changed for
:data:`STALE_AFTER` seconds.

:func:`refuse_overwrite` raises :class:`~rules_engine.errors.OutputError` when the output path is the
same file as one of the inputs (symbolic links resolved, hard links compared with ``samefile``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError

TEMP_SUFFIX = ".rules-engine-tmp"
STALE_AFTER = 600.0  # seconds without change before an orphan of a dead process is removed


def refuse_overwrite(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Raise :class:`OutputError` if `output` is (or resolves to) one of `inputs`. Nothing is written."""
    target = os.path.realpath(output)
    exists = os.path.exists(target)
    for item in inputs:
        source = str(item)
        if source.startswith("<"):  # "<records>", "<roster>": not a file
            continue
        same = os.path.realpath(source) == target
        if not same and exists and os.path.exists(source):
            with contextlib.suppress(OSError):
                same = os.path.samefile(source, target)
        if same:
            raise OutputError.of("output.over_input", output=_shown(output), source=_shown(source))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> Iterator[IO[bytes]]:
    """A binary file object that becomes `path` when the ``with`` block ends without an error.

    `inputs`: files the output must not replace (see :func:`refuse_overwrite`). A symbolic link is
    written through (its target is replaced, the link stays). A target that exists and is not a regular
    file (``/dev/null``, a named pipe) is written directly: it cannot be replaced by renaming.
    """
    refuse_overwrite(path, inputs)
    try:
        mode: int | None = os.stat(path).st_mode  # through links: /dev/stdout is a link to a pipe or a terminal
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "wb") as direct:
            yield direct
        return
    target = Path(os.path.realpath(path))
    folder = target.parent
    _remove_stale(folder, target.name)
    temp, handle = _create_temp(folder, target.name)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, stat.S_IMODE(mode))  # keep the permissions of the file it replaces
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def write_bytes(path: str | os.PathLike[str], data: bytes, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write `data` to `path` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, inputs) as handle:
        handle.write(data)


def files_under(roots: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Every file in the given folders (for rule packs: their manifests and rule files), or the files."""
    out: list[str] = []
    for root in roots:
        path = Path(root)
        if path.is_file():
            out.append(str(path))
        elif path.is_dir():
            with contextlib.suppress(OSError):
                out += [str(p) for p in sorted(path.rglob("*")) if p.is_file()]
    return out


def _create_temp(folder: Path, name: str) -> tuple[Path, IO[bytes]]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(temp, flags, 0o666)  # the umask applies, as for any new file
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        except OSError as exc:  # name the file the user asked for, not the temporary one
            raise type(exc)(exc.errno, exc.strerror, str(folder / name)) from None
        return temp, os.fdopen(fd, "wb")


def _remove_stale(folder: Path, name: str) -> None:
    """Remove orphans of `name` left by processes that are gone (killed mid-write)."""
    prefix = f".{name}."
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        pid_text = entry.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit():
            continue
        with contextlib.suppress(OSError):
            if now - entry.stat(follow_symlinks=False).st_mtime >= STALE_AFTER and not _alive(int(pid_text)):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # (on Windows os.kill would end the process)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError, OSError):
        return True  # exists (another user's), or cannot tell: keep the file
    return True


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible (nor needed) on Windows."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _shown(path: str | os.PathLike[str]) -> str:
    return os.fspath(path).encode("utf-8", "backslashreplace").decode("utf-8")
