"""Standard streams for the command line: UTF-8 always, and a reader that went away (``... | head``).

Kept apart from ``cli`` so that a command that needs little (``rules-engine history ...``, see
``cli_history.main``) sets up its streams without importing the rest of the command line.
"""

from __future__ import annotations

import os
import sys

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
