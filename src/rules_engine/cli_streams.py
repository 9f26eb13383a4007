"""Standard streams for the command line: UTF-8 always, and a reader that went away (``... | head``).

Kept apart from ``cli`` so that a command that needs little (``rules-engine history ...``, see
``cli_history.main``) sets up its streams without importing the rest of the command line.
"""

from __future__ import annotations

import os
import sys

from .errors import Error

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def prepare_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # messages quote the user's text: never fail on an odd character
            reconfigure(encoding="utf-8", errors="backslashreplace" if stream is sys.stderr else "strict")


def broken_pipe() -> int:
    """Point standard output at the null device, so that the interpreter's last flush does not fail too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


def exit_for(exc: BaseException) -> int:
    """The message and exit code of every command for what stopped it: the reader gone (quietly), Ctrl-C
    (130, no traceback; an output file being written is left as it was), bad input or arguments and files
    that cannot be read or written (2), anything else a bug (a traceback and 3: never 1, which means
    "violations found"). Exceptions that are not errors (SystemExit from argparse) are raised again."""
    if isinstance(exc, BrokenPipeError):
        return broken_pipe()
    if isinstance(exc, KeyboardInterrupt):
        print("rules-engine: 已中断 interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, Error):  # InputError, PeriodError, OutputError, UsageError ...
        print(f"rules-engine: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else "-"
        print(f"rules-engine: 无法读写文件 cannot read or write {name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not isinstance(exc, Exception):
        raise exc
    import traceback

    traceback.print_exception(type(exc), exc, exc.__traceback__)
    print(f"rules-engine: 内部错误（请报告） internal error, please report: {exc!r}", file=sys.stderr)
    return 3
