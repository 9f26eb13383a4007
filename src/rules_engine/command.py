"""The ``rules-engine`` command's entry point: ``history`` straight to :mod:`rules_engine.cli_history`,
which needs neither the evaluation nor the rest of the command line (their import is most of a small
command's time); everything else to :func:`rules_engine.cli.main`."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["history"]:
        from .cli_history import main as history_main

        return history_main(args)
    from .cli import main as cli_main

    return cli_main(args)
