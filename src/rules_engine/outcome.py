"""What an evaluation means for a CI gate: one exit code from the summary and the input account.

The command line returns :func:`exit_code`; a Python host gets the same answer from
``report.exit_code()`` (after :func:`~rules_engine.evaluate`) or ``summary.exit_code()`` (the
:class:`Summary` that :func:`~rules_engine.evaluate_to` returns).

- ``0``: every duty decided, none violated, every input row used or set aside without a data problem;
- ``1``: at least one ``violated`` finding (it takes precedence: a violation is real whatever else the
  input holds, since a damaged row can only make duties ``undeterminable``, never ``violated``);
- ``4``: no violation, but the check is incomplete: an ``undeterminable`` finding, or a rejected input
  row (a row with a data problem, or a roster problem);
- ``2`` (usage error, unreadable input) and ``3`` (internal error) come from the command line only.

`fail_on` chooses which conditions count: ``violated`` (exit 1), ``undeterminable``, ``rejected`` and
``pending`` (exit 4), and ``incomplete`` for ``undeterminable`` and ``rejected``. The default is
``violated,incomplete``; ``violated`` alone ignores incompleteness; adding ``pending`` also fails a
run in which some duty's window is not over yet (e.g. a year-end sign-off).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import InputError, did_you_mean

EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INCOMPLETE = 4

CONDITIONS = ("violated", "undeterminable", "rejected", "pending")
ALIASES = {"incomplete": ("undeterminable", "rejected")}
DEFAULT_FAIL_ON = "violated,incomplete"


def parse_fail_on(value: str | Iterable[str]) -> frozenset[str]:
    """The conditions named by `value` (``"violated,incomplete"`` or a list of words), aliases expanded.
    Raises :class:`InputError` for an unknown word or an empty choice."""
    words = value.split(",") if isinstance(value, str) else list(value)
    found: set[str] = set()
    choices = [*CONDITIONS, *ALIASES]
    for raw in words:
        word = raw.strip()
        if not word:
            continue
        if word in ALIASES:
            found.update(ALIASES[word])
        elif word in CONDITIONS:
            found.add(word)
        else:
            raise InputError.of("arg.fail_on.unknown", word=word, hint=did_you_mean(word, choices))
    if not found:
        raise InputError.of("arg.fail_on.empty", choices=", ".join(choices))
    return frozenset(found)


def exit_code(summary: Mapping[str, int], rejected: int = 0, fail_on: str | Iterable[str] = DEFAULT_FAIL_ON) -> int:
    """The exit code for a run: `summary` is the count per status (``report.summary``), `rejected` the
    number of entries in ``report.input.rejections``. 1 when ``violated`` is chosen and found, else 4 when
    another chosen condition holds, else 0."""
    conditions = parse_fail_on(fail_on)
    if "violated" in conditions and summary.get("violated", 0) > 0:
        return EXIT_VIOLATED
    statuses = ("undeterminable", "pending")
    if any(summary.get(s, 0) > 0 for s in statuses if s in conditions) or ("rejected" in conditions and rejected > 0):
        return EXIT_INCOMPLETE
    return EXIT_OK


class Summary(dict[str, int]):
    """The count per status (as in the report's ``summary``) that :func:`~rules_engine.evaluate_to`
    returns, with the input account's totals a gate needs: ``rejected`` (entries in
    ``input.rejections``) and ``excluded`` (entries in ``input.excluded``)."""

    def __init__(self, counts: Mapping[str, int], rejected: int = 0, excluded: int = 0) -> None:
        super().__init__(counts)
        self.rejected = rejected
        self.excluded = excluded

    def exit_code(self, fail_on: str | Iterable[str] = DEFAULT_FAIL_ON) -> int:
        """See :func:`exit_code`."""
        return exit_code(self, self.rejected, fail_on)

    def __repr__(self) -> str:
        return f"Summary({dict.__repr__(self)}, rejected={self.rejected}, excluded={self.excluded})"
