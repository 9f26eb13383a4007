"""The terminal: the findings table laid out by ``rich`` (status colours, columns measured by display width so
that Chinese names line up), and a progress display on standard error for runs longer than a second.

Both need the ``terminal`` extra (``pip install 'duty-rules-engine[terminal]'``). Without it the command line
prints the plain table of :func:`rules_engine.render_table` and shows no progress. The plain table stays the
output to a pipe or a file (its bytes are stable: scripts read it); the rich layout is for a person at a
terminal (see :func:`use_rich`).
"""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections.abc import Mapping
from types import ModuleType
from typing import Any, TextIO

from ..model.findings import Finding, Report, Status
from ..trace import STAGES, Tracer
from .table import _subject, render_table

STYLES = {
    Status.fulfilled: "green",
    Status.violated: "bold red",
    Status.pending: "yellow",
    Status.not_applicable: "dim",
    Status.undeterminable: "magenta",
    Status.waived: "cyan",
}

COLUMNS = ("对象 subject", "状态 status", "规则 rule", "区间 window", "实际/应为 found/expected", "备注 notes")

#: a run shorter than this shows no progress at all
PROGRESS_DELAY = 1.0


def rich_module() -> ModuleType | None:
    """``rich``, or None when the ``terminal`` extra is not installed."""
    try:
        import rich
    except ImportError:
        return None
    return rich


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def use_rich(color: str, to_file: bool, stdout: Any) -> bool:
    """Whether the table is laid out by rich: only with rich installed, never into a file (``-o``), and only
    when standard output is a terminal or ``--color always`` asks for it (a pipe gets the plain table, the
    same bytes as before; ``--color never`` at a terminal keeps the rich layout, without colour)."""
    if to_file or rich_module() is None:
        return False
    return color == "always" or is_tty(stdout)


def render_terminal(report: Report, *, colour: bool, show: set[Status] | None, width: int | None = None) -> str:
    """The findings table as rich lays it out: one table per organisation (subject, status, rule, window,
    found/expected, notes), the header and the closing summary as in :func:`render_table`."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or shutil.get_terminal_size((100, 24)).columns,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    plain = render_table(report, colour=False, show=show).splitlines()
    for line in plain[:2]:
        console.print(Text(line), soft_wrap=True)
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in report.findings:
        if show is None or f.status in show:
            groups.setdefault((f.organisation.id, f.organisation.name), []).append(f)
    for (org_id, org_name), findings in groups.items():
        table = Table(
            title=Text(f"{org_name}（{org_id}）", style="bold"),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        for header in COLUMNS:
            table.add_column(header, overflow="fold")
        rank = {"组织 organisation": 0}
        ordered = sorted(findings, key=lambda f: rank.get(_subject(f), 2 if f.subject.kind == "record" else 1))
        for f in ordered:
            table.add_row(
                _subject(f),
                Text(f"{f.status.zh} {f.status.value}", style=STYLES[f.status]),
                f.rule_id,
                f.window.label or f.period.label,
                f"{f.actual.zh}/{f.expected.zh}",
                _notes(f),
            )
        console.print()
        console.print(table)
    tail = next((i for i, line in enumerate(plain) if line.startswith("合计 summary:")), len(plain))
    console.print()
    for line in plain[tail:]:
        console.print(Text(line), soft_wrap=True)
    return buffer.getvalue()


def _notes(f: Finding) -> str:
    notes = []
    if f.subject.portfolio:
        notes.append(f"[{f.subject.portfolio}]")
    if f.subject.second:
        notes.append(f"与 with {f.subject.second.name}")
    if f.waiver is not None:
        notes.append(f"豁免 {f.waiver.id} 已过期 expired" if f.waiver.expired else f"豁免 waiver {f.waiver.id}")
    return " ".join(notes)


class ProgressTracer(Tracer):
    """A tracer that shows the stage being run on `stream` (a terminal), from `delay` seconds after the
    first stage starts until :meth:`close`; it passes every start and end on to `inner` (a profile). A run
    that ends within `delay` shows nothing; the display is erased when it closes."""

    def __init__(self, inner: Tracer, stream: TextIO, delay: float = PROGRESS_DELAY) -> None:
        self.inner = inner
        self.stream = stream
        self.delay = delay
        self._open: list[str] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._progress: Any = None
        self._task: Any = None
        self._closed = False
        self._began = time.monotonic()

    def start(self, name: str) -> None:
        self.inner.start(name)
        with self._lock:
            self._open.append(name)
            if self._timer is None and self._progress is None and not self._closed:
                if self.delay <= 0:
                    self._show_locked()
                else:
                    self._timer = threading.Timer(self.delay, self._show)
                    self._timer.daemon = True
                    self._timer.start()
            self._update_locked()

    def end(self, name: str, counts: Mapping[str, int]) -> None:
        self.inner.end(name, counts)
        with self._lock:
            if self._open and self._open[-1] == name:
                self._open.pop()
            self._update_locked()

    def close(self) -> None:
        """Stop and erase the display (call once the run is over, before anything else is printed)."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    def _show(self) -> None:
        with self._lock:
            if not self._closed and self._progress is None:
                self._show_locked()

    def _show_locked(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=self.stream, highlight=False, emoji=False, markup=False)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task(self._label(), total=None)
        self._progress.start()
        self._update_locked()

    def _label(self) -> str:
        if not self._open:
            return "rules-engine"
        name = self._open[-1]
        return f"{STAGES.get(name, name)} {name}"

    def _update_locked(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=self._label())


def progress_tracer(inner: Tracer, stream: Any, delay: float = PROGRESS_DELAY) -> Tracer:
    """`inner` wrapped in a :class:`ProgressTracer` when `stream` is a terminal and rich is installed; else
    `inner` itself (nothing is ever written to a pipe, a file or a CI log)."""
    if not is_tty(stream) or rich_module() is None:
        return inner
    return ProgressTracer(inner, stream, delay)
