"""``rules-engine completion bash|zsh|fish``: the shell's completion script, made from the command line's own
parser by shtab (so it cannot fall behind the commands and options), with files and folders completed where an
argument names one. The script is static: pressing Tab does not start Python."""

from __future__ import annotations

import argparse
import sys
from typing import Any

SHELLS = ("bash", "zsh", "fish")

#: Arguments (by dest) that name files or folders, completed as such; every other value is left to the user.
FILES = frozenset(
    {"inputs", "report", "roster", "article", "paths", "rules", "output", "outputs", "waivers", "scoring", "events"}
)
FOLDERS = frozenset({"pack", "features", "base"})

COMPLETION_EPILOG = """\
安装 install (each shell reads its script at start):
  bash:  rules-engine completion bash > ~/.local/share/bash-completion/completions/rules-engine
  zsh:   rules-engine completion zsh > "${fpath[1]}/_rules-engine"   (then: compinit)
  fish:  rules-engine completion fish > ~/.config/fish/completions/rules-engine.fish"""


def add_command(sub: Any, root: argparse.ArgumentParser) -> None:
    co = sub.add_parser(
        "completion",
        help="命令补全脚本 print the shell completion script (bash, zsh, fish)",
        description="Print the completion script of rules-engine for SHELL: subcommands, options, choices, and "
        "files or folders where an argument names one.",
        epilog=COMPLETION_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    co.add_argument("shell", choices=SHELLS, help="bash, zsh or fish")
    co.set_defaults(func=lambda args: run(args, root))


def run(args: argparse.Namespace, root: argparse.ArgumentParser) -> int:
    sys.stdout.write(completion_script(root, args.shell))
    return 0


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of `parser` (and its subcommands) for `shell`."""
    import shtab

    _mark_paths(parser, shtab.FILE, shtab.DIRECTORY)
    script: str = shtab.complete(parser, shell=shell)
    return script if script.endswith("\n") else script + "\n"


def _mark_paths(parser: argparse.ArgumentParser, file: Any, folder: Any) -> None:
    """Tell shtab which arguments, in `parser` and every subcommand's parser, name files or folders."""
    for action in parser._actions:
        if action.dest in FILES and not action.choices:
            action.complete = file  # type: ignore[attr-defined]  # shtab reads this attribute
        elif action.dest in FOLDERS and not action.choices:
            action.complete = folder  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _mark_paths(sub, file, folder)
