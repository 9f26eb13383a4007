"""The command line's argument parser, Chinese first like every other message of the command: ``用法 usage:``,
the section titles, the ``-h`` line, and argparse's own errors ("the following arguments are required",
"unrecognized arguments", "invalid choice", ...), each as ``中文 English``.

A subclass of :class:`argparse.ArgumentParser` (its subcommands' parsers are of the same class) and of its help
formatter: nothing global is changed, so another program's argparse in the same process keeps its texts.
argparse's errors reach :meth:`Parser.error` as English sentences; :func:`chinese_first` puts the Chinese
before each one it knows (:data:`ERRORS`) and leaves any other, and one already in Chinese, as it is.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

USAGE = "用法 usage: "
POSITIONALS = "位置参数 positional arguments"
OPTIONS = "选项 options"
HELP = "显示帮助并退出 show this help message and exit"
VERSION = "显示版本并退出 show the version and exit"
ERROR = "错误 error"

#: argparse's error sentences (Python 3.10 to 3.13), matched whole, and the Chinese put before each.
ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), zh)
    for pattern, zh in (
        (r"the following arguments are required: .*", "缺少必需的参数"),
        (r"unrecognized arguments: .*", "无法识别的参数"),
        (r"invalid choice: .*", "无效的选择"),
        (r"expected one argument", "需要一个值"),
        (r"expected at least one argument", "至少需要一个值"),
        (r"expected at most one argument", "至多一个值"),
        (r"expected \d+ arguments?", "值的个数不对"),
        (r"invalid \S+ value: .*", "无效的值"),
        (r"ambiguous option: .*", "有歧义的选项"),
        (r"not allowed with argument .*", "不能与此参数同时使用"),
        (r"one of the arguments .* is required", "须给出其中一个参数"),
        (r"ignored explicit argument .*", "多余的值"),
        (r"argument .* is not allowed", "不允许的参数"),
    )
)
_ARGUMENT = re.compile(r"argument (?P<name>.+?): (?P<rest>.*)", re.DOTALL)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_first(message: str) -> str:
    """argparse's error `message` with the Chinese first: ``argument --format: invalid choice: 'x' ...`` becomes
    ``参数 argument --format: 无效的选择 invalid choice: 'x' ...``. A message already in Chinese (the command's own,
    raised as :class:`argparse.ArgumentTypeError`) or not known keeps its words."""
    found = _ARGUMENT.fullmatch(message)
    if found:
        return f"参数 argument {found['name']}: {chinese_first(found['rest'])}"
    if _CJK.search(message):
        return message
    for pattern, zh in ERRORS:
        if pattern.fullmatch(message):
            return f"{zh} {message}"
    return message


class HelpFormatter(argparse.HelpFormatter):
    """``用法 usage:`` instead of ``usage:``."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """As :class:`argparse.RawDescriptionHelpFormatter` (description and epilog as written), Chinese first."""


def chinese_formatter(formatter_class: Any) -> Any:
    """`formatter_class`, or a subclass of it with the Chinese ``usage:`` when it is one of argparse's own."""
    if isinstance(formatter_class, type) and issubclass(formatter_class, HelpFormatter):
        return formatter_class
    if formatter_class is argparse.RawDescriptionHelpFormatter:
        return RawDescriptionHelpFormatter
    if isinstance(formatter_class, type) and issubclass(formatter_class, argparse.HelpFormatter):
        return type(f"Chinese{formatter_class.__name__}", (HelpFormatter, formatter_class), {})
    return formatter_class  # a factory of the caller's own: left as it is


class Parser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` with its texts Chinese first (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        add_help = bool(kwargs.pop("add_help", True))
        kwargs["formatter_class"] = chinese_formatter(kwargs.get("formatter_class", HelpFormatter))
        kwargs["add_help"] = False  # the -h line is added below, in Chinese first
        super().__init__(*args, **kwargs)
        self._positionals.title = POSITIONALS
        self._optionals.title = OPTIONS
        if add_help:
            prefix = self.prefix_chars[0]
            self.add_argument(f"{prefix}h", f"{prefix * 2}help", action="help", default=argparse.SUPPRESS, help=HELP)

    def error(self, message: str) -> NoReturn:
        """Usage, then ``PROG: 错误 error: 中文 English`` on standard error; exit 2 (as argparse's)."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {ERROR}: {chinese_first(message)}\n")
