"""The terminal: the rich table (status colours, Chinese names aligned by display width) only for a person at a
terminal, the plain table byte for byte in pipes and files, and a progress display on standard error only when
it is a terminal."""

from __future__ import annotations

import io
import re
import sys
import unicodedata

import pytest

import rules_engine.render.terminal as terminal
from rules_engine import evaluate, load_rules, render_table
from rules_engine.cli import main
from rules_engine.trace import NullTracer, RecordingTracer

from .conftest import EXAMPLE, RULES

rich = pytest.importorskip("rich")

STATUS = re.compile(r"(未履行 violated|已履行 fulfilled|不适用 not_applicable|期限未到 pending)")
ARGS = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class TtyBytes(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.fixture(scope="module")
def report():
    return evaluate(
        load_rules(RULES), EXAMPLE / "roster.yaml", [EXAMPLE / "records.jsonl"], period="2024", as_of="2025-01-15"
    )


def test_rich_table_aligns_chinese_names_and_colours_statuses(report) -> None:
    text = terminal.render_terminal(report, colour=False, show=None, width=160)
    tables = text.split("\n\n")[1:-1]  # one per organisation, between the header and the summary
    assert len(tables) == len(report.by_org())
    for table in tables:
        found = [(line, STATUS.search(line)) for line in table.splitlines()]
        rows = [(line, m.start()) for line, m in found if m]
        assert len(rows) > 1
        starts = {_width(line[:at]) for line, at in rows}
        assert len(starts) == 1, (starts, table)  # the status column starts at one display width
        assert any(not line[:at].isascii() for line, at in rows)  # Chinese names before it
    assert "\x1b[" not in text
    coloured = terminal.render_terminal(report, colour=True, show=None, width=160)
    assert "\x1b[1;31m未履行 violated" in coloured or "\x1b[31;1m未履行 violated" in coloured
    plain = render_table(report, show=None)
    assert text.splitlines()[:2] == plain.splitlines()[:2]  # header and summary as the plain table
    assert plain.splitlines()[-1] in text


def test_plain_table_in_a_pipe_is_unchanged_and_rich_only_at_a_terminal(report, capsys, monkeypatch) -> None:
    assert main(ARGS) == 1
    piped = capsys.readouterr().out
    assert piped == render_table(report, show={s for s in report.summary if s not in ("fulfilled", "not_applicable")})
    assert not terminal.use_rich("auto", False, io.StringIO())
    assert not terminal.use_rich("always", True, Tty())  # -o: a file, never rich
    assert terminal.use_rich("auto", False, Tty())
    assert terminal.use_rich("always", False, io.StringIO())
    monkeypatch.setattr(terminal, "rich_module", lambda: None)  # without the extra: the plain table
    assert not terminal.use_rich("always", False, Tty())


def test_color_always_to_a_pipe_gives_the_rich_layout(capsys) -> None:
    main([*ARGS, "--color", "always"])
    out = capsys.readouterr().out
    assert "\x1b[" in out and "对象 subject" in out  # rich's column header


def test_progress_writes_nothing_to_a_stderr_that_is_not_a_terminal(capsys, monkeypatch) -> None:
    monkeypatch.setattr(terminal, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(terminal.progress_tracer, "__defaults__", (0.0,))
    assert main([*ARGS, "--format", "json", "-o", "/dev/null"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err
    assert err == "" or all(line.startswith("rules-engine: 注意 note") for line in err.splitlines())
    tracer = NullTracer()
    assert terminal.progress_tracer(tracer, io.StringIO(), 0.0) is tracer


def test_progress_on_a_terminal_shows_the_stage_and_passes_stages_on() -> None:
    stream = Tty()
    inner = RecordingTracer()
    tracer = terminal.progress_tracer(inner, stream, 0.0)
    assert isinstance(tracer, terminal.ProgressTracer)
    with tracer.stage("evaluate"), tracer.stage("intake"):
        tracer._progress.refresh()
        shown = stream.getvalue()
    tracer.close()
    assert "记录读入 intake" in shown
    assert [s.name for s in inner.stages()] == ["evaluate", "intake"]  # the profile still sees every stage


def test_progress_waits_before_it_shows_anything() -> None:
    stream = Tty()
    tracer = terminal.progress_tracer(NullTracer(), stream, 3600.0)
    with tracer.stage("evaluate"):
        pass
    tracer.close()
    assert stream.getvalue() == ""


def test_stderr_is_not_a_terminal_under_pytest() -> None:
    assert not terminal.is_tty(sys.stderr) or pytest.skip("stderr is a terminal here")
