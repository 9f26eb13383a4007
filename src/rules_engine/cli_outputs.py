"""Several outputs from one evaluation, the filters that apply to every format, and the summary view
(``evaluate -o report.json -o report.xlsx -o report.html``, ``--org``, ``--rule``, ``--show``,
``--format summary``); ``report`` writes several outputs the same way.

- **Formats.** Each ``-o`` takes its format from its extension (:data:`EXTENSIONS`). One ``-o`` without
  ``--format`` does too (an unknown extension keeps the table, as before); with several, ``--format`` is
  refused unless every ``-o`` whose extension names a format names that one, and an ``-o`` whose extension
  names none is refused unless ``--format`` is given. Two ``-o`` naming the same file (links resolved) are
  refused, and so is an ``-o`` that is one of the inputs: before anything is evaluated.
- **One evaluation, all or nothing.** The report is evaluated once and held; each output is rendered into
  a temporary file next to its target, and only when every one of them has been rendered are they renamed
  into place. If one fails, the message names it, and none of the outputs is written (an earlier file of the
  same name stays as it was): a set of reports that disagree, or a half set that looks whole, would be
  worse than none. Each file is renamed whole; only a failure between two renames (the disk removed) could
  leave some replaced and others not.
- **Filters.** ``--org`` and ``--rule`` choose the findings a report is about: every format holds only those
  findings, and its summary (and the exit code) counts them, every status; the input account is not
  filtered (every input row is still read, used or rejected, and a rejected row still makes the check
  incomplete). ``--show`` chooses the statuses listed: the table and the HTML page list the statuses that
  need attention unless it is given; the other formats list every finding unless it is given. The summary
  counts every status of the findings chosen, listed or not. A filtered report says so: the JSON header gains
  ``filter`` (what was kept, and the summary of the whole evaluation under ``all``), the table and the
  summary view a ``筛选 filter`` line, and standard error a note for the formats without a header (CSV,
  Parquet, JUnit, Excel, HTML). A filtered JSON report is not the evaluation of its inputs:
  ``rules-engine verify`` does not reproduce it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import Error, OutputError, RecordSource, Report, Status, evaluate
from .atomic import atomic_write, refuse_overwrite
from .cli_common import DEFAULT_REPORT_FORMAT, UsageError, shown_statuses
from .guard import check_path, shown
from .render.sections import ATTENTION

if TYPE_CHECKING:
    from . import RosterResult, Tracer, Vocabulary

#: output file extension -> format
EXTENSIONS = {
    ".json": "json",
    ".csv": "csv",
    ".xml": "junit",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}
#: the formats that list the statuses that need attention unless --show is given (the others list all)
HUMAN_FORMATS = frozenset({"table", "summary", "html"})


@dataclass(frozen=True)
class Output:
    """Where one output goes (None: standard output) and its format."""

    path: str | None
    format: str


@dataclass(frozen=True)
class Filters:
    """``--org``, ``--rule`` (which findings the report is about) and ``--show`` (None: not given)."""

    orgs: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    show: frozenset[Status] | None = None

    @property
    def scoped(self) -> bool:
        return bool(self.orgs or self.rules)

    def listed(self, format: str) -> set[Status] | None:
        """The statuses `format` lists (None: all)."""
        if self.show is not None:
            return set(self.show)
        return set(ATTENTION) if format in HUMAN_FORMATS else None

    def to_dict(self, report: Report) -> dict[str, Any]:
        return {
            "organisations": sorted(self.orgs),
            "rules": sorted(self.rules),
            "statuses": None if self.show is None else [s.value for s in Status if s in self.show],
            "summary": "the findings of the organisations and rules kept, every status (listed or not)",
            "input": "every input row: the input account is not filtered",
            "all": dict(report.summary),
        }

    def note(self) -> str:
        """The ``筛选 filter`` line of the text formats and of the note on standard error."""
        parts = []
        if self.orgs:
            parts.append(f"组织 organisations {', '.join(sorted(self.orgs))}")
        if self.rules:
            parts.append(f"规则 rules {', '.join(sorted(self.rules))}")
        if self.show is not None:
            parts.append(f"列出 listed {','.join(s.value for s in Status if s in self.show)}")
        return (
            f"筛选 filter: {'; '.join(parts)}（合计只计所选组织、规则的结论；输入账目不筛选"
            " the summary counts the findings of the organisations and rules chosen; the input account is whole）"
        )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--org`` and ``--rule`` (repeatable, or comma-separated) and ``--summary``, for evaluate and report."""
    parser.add_argument(
        "--org",
        action="append",
        default=[],
        metavar="ID",
        help="只要这些组织的结论 only the findings of these organisations (repeat or comma-separate); every "
        "format, the summary counts them; the input account is not filtered",
    )
    parser.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="ID",
        help="只要这些规则的结论 only the findings of these rules (repeat or comma-separate), as --org",
    )


def filters(args: argparse.Namespace) -> Filters:
    def split(items: list[str]) -> frozenset[str]:
        return frozenset(x.strip() for item in items for x in item.split(",") if x.strip())

    show = None
    raw = getattr(args, "show", None)
    if raw is not None and raw.strip() != "all":
        show = frozenset(shown_statuses(args) or ())
    return Filters(split(getattr(args, "org", [])), split(getattr(args, "rule", [])), show)


def plan_outputs(given: Sequence[str], format: str | None, *, summary: bool = False) -> list[Output]:
    """The outputs of ``-o`` (each with its format) and ``--format``; no ``-o``: standard output."""

    table = "summary" if summary else "table"
    if summary and format not in (None, "table", "summary"):
        raise UsageError.of("usage.summary.not_table", format=format)
    if format == "table":
        format = table
    if not given:
        return [Output(None, format or table)]
    if len(given) == 1:
        named = EXTENSIONS.get(Path(given[0]).suffix.lower())
        chosen = format or named or table
        return [Output(given[0], table if chosen == "table" else chosen)]
    outputs = []
    for path in given:
        named = EXTENSIONS.get(Path(path).suffix.lower())
        if named == "table":
            named = table
        if format is not None and named is not None and named != format:
            raise UsageError.of("usage.output.format_mismatch", format=format, path=shown(path, 200), named=named)
        picked = named or format
        if picked is None:
            raise UsageError.of(
                "usage.output.unknown_extension", name=shown(Path(path).name, 200), extensions=" ".join(EXTENSIONS)
            )
        outputs.append(Output(path, picked))
    seen: list[str] = []
    for out in outputs:
        assert out.path is not None
        try:
            refuse_overwrite(out.path, seen)
        except OutputError:
            raise UsageError.of("usage.output.same_file", path=shown(out.path, 200)) from None
        seen.append(out.path)
    return outputs


def require_extras(outputs: Sequence[Output]) -> None:
    """The optional libraries the formats need, before anything is evaluated (a missing one: exit 2)."""
    formats = {o.format for o in outputs}
    if "parquet" in formats:
        from .render.frames import require_parquet

        require_parquet()
    if "xlsx" in formats:
        from .render.xlsx import xlsxwriter_module

        xlsxwriter_module()
    if "html" in formats:
        from .render.html import jinja2_module

        jinja2_module()


def check_ids(report: Report, chosen: Filters, rule_ids: Sequence[str], roster_orgs: Sequence[str]) -> None:
    """Refuse an ``--org`` or ``--rule`` that names nothing the evaluation knows (a typo would give an empty
    report that looks like a clean one)."""
    from .errors import did_you_mean

    orgs = {f.organisation.id for f in report.findings} | set(roster_orgs)
    for org in sorted(chosen.orgs - orgs):
        raise UsageError.of("usage.org.unknown", org=shown(org), hint=did_you_mean(org, orgs))
    for rule in sorted(chosen.rules - set(rule_ids)):
        raise UsageError.of("usage.rule.unknown#filter", rule=shown(rule), hint=did_you_mean(rule, rule_ids))


def scoped(report: Report, chosen: Filters) -> Report:
    """`report` with only the findings of the organisations and rules chosen, its summary counting them."""
    if not chosen.scoped:
        return report
    kept = [
        f
        for f in report.findings
        if (not chosen.orgs or f.organisation.id in chosen.orgs) and (not chosen.rules or f.rule_id in chosen.rules)
    ]
    summary = dict.fromkeys(report.summary, 0)
    for f in kept:
        summary[f.status.value] = summary.get(f.status.value, 0) + 1
    return report.model_copy(update={"findings": kept, "summary": summary})


def listed(report: Report, statuses: set[Status] | None) -> Report:
    if statuses is None:
        return report
    return report.model_copy(update={"findings": [f for f in report.findings if f.status in statuses]})


@dataclass
class Context:
    """What the renderers need besides the report."""

    compiled: Any
    roster: RosterResult | str  # the roster read for the evaluation (its file: read again for the diagnosis)
    report_format: str
    colour: bool = False
    rich: bool = False  # the table to standard output laid out by rich (render.terminal.use_rich)
    scoring: Any = None
    whole: Report | None = None  # the report before the filters (its summary goes under filter.all)


def render(out: Output, report: Report, chosen: Filters, ctx: Context, handle: IO[bytes]) -> None:
    """Write `report` (scoped already) as `out.format` to `handle`."""
    from . import render_csv, render_junit, render_table
    from .render.json import render_json
    from .render.summary import render_summary

    shown_report = listed(report, chosen.listed(out.format))
    filtered = chosen.scoped or chosen.show is not None
    if out.format == "json":
        extra = {"filter": chosen.to_dict(ctx.whole or report)} if filtered else None
        handle.write(render_json(shown_report, report_format=ctx.report_format, rules=ctx.compiled, extra=extra))
    elif out.format == "csv":
        handle.write(render_csv(shown_report))
    elif out.format == "junit":
        handle.write(render_junit(shown_report))
    elif out.format == "parquet":
        from .render.frames import write_parquet

        write_parquet(shown_report.findings, handle)
    elif out.format == "xlsx":
        from .render.xlsx import render_xlsx

        render_xlsx(shown_report, handle, ctx.scoring, ctx.roster)
    elif out.format == "html":
        from .render.html import render_html

        handle.write(render_html(report, ctx.scoring, ctx.roster, statuses=chosen.listed("html")))
    elif out.format == "summary":
        handle.write(render_summary(report, notes=[chosen.note()] if filtered else None).encode())
    else:
        show = chosen.listed("table")
        if ctx.rich and out.path is None:
            from .render.terminal import render_terminal

            text = render_terminal(report, colour=ctx.colour, show=show)
        else:
            text = render_table(report, colour=ctx.colour and out.path is None, show=show)
        if filtered:
            text = _with_note(text, chosen.note())
        handle.write(text.encode())


def _with_note(text: str, note: str) -> str:
    """The table with the filter line after its two header lines."""
    head, _, rest = text.partition("\n")
    second, _, rest = rest.partition("\n")
    return f"{head}\n{second}\n{note}\n{rest}"


def write_all(outputs: Sequence[Output], report: Report, chosen: Filters, ctx: Context, inputs: Sequence[str]) -> None:
    """Render every output into a temporary file, then put them all in place; if one fails, none is written
    and the error names it. Standard output (path None) is written last, once every file is in place."""
    files = [o for o in outputs if o.path is not None]
    with contextlib.ExitStack() as stack:
        for out in files:
            assert out.path is not None
            try:
                handle = stack.enter_context(atomic_write(out.path, inputs))
                render(out, report, chosen, ctx, handle)
            except (Error, OSError) as exc:
                others = "" if len(files) == 1 else "；其余输出也未写出 none of the other outputs was written either"
                raise OutputError.of(
                    "output.not_written", path=shown(out.path, 200), format=out.format, error=str(exc), others=others
                ) from None
            except BaseException:
                print(f"rules-engine: 未写出任何输出 no output written (failed at {out.path})", file=sys.stderr)
                raise
    for out in outputs:
        if out.path is None:
            render(out, report, chosen, ctx, sys.stdout.buffer)
            sys.stdout.flush()


def evaluate_outputs(
    args: argparse.Namespace,
    outputs: Sequence[Output],
    compiled: Any,
    roster: Path,
    files: list[str | RecordSource],
    as_of: dt.date | None,
    extra: dict[str, Any],
    inputs: list[str],
) -> int:
    """``evaluate`` with several outputs, a filter or the summary view: one evaluation, every output."""
    from .render.terminal import is_tty, use_rich

    chosen = filters(args)
    if args.report_format is not None and not any(o.format == "json" for o in outputs):
        raise UsageError.of("usage.report_format.not_json")
    require_extras(outputs)
    if args.db is not None:
        from . import history

        history.resolve_db(args.db)
    the_roster = read_roster_once(roster, extra["tracer"], compiled.ruleset.vocabulary)
    report = evaluate(compiled, the_roster, files, period=args.period, as_of=as_of, **extra)
    check_ids(report, chosen, [r.rule.id for r in compiled.rules], roster_orgs(the_roster))
    if args.db is not None:
        run = history.record(report, args.db, recorded_by=args.recorded_by)
        print(f"rules-engine: 已记录运行 recorded run {run.id} ({history.shown_db(args.db)})", file=sys.stderr)
    kept = scoped(report, chosen)
    ctx = Context(
        compiled,
        the_roster,
        args.report_format or DEFAULT_REPORT_FORMAT,
        colour=args.color == "always" or (args.color == "auto" and is_tty(sys.stdout) and "NO_COLOR" not in os.environ),
        rich=use_rich(args.color, False, sys.stdout),
        whole=report,
    )
    with extra["tracer"].stage("render"):
        write_all(outputs, kept, chosen, ctx, inputs)
    note_filters(outputs, chosen)
    return kept.exit_code(args.fail_on)


def note_filters(outputs: Sequence[Output], chosen: Filters) -> None:
    """A note on standard error when a filtered report went to a format without a header that could say so."""
    if (chosen.scoped or chosen.show is not None) and any(
        o.format in ("csv", "parquet", "junit", "xlsx", "html") for o in outputs
    ):
        print(f"rules-engine: 注意 note: {chosen.note()}", file=sys.stderr)


def roster_orgs(roster: RosterResult) -> list[str]:
    return [o.id for o in roster.roster.organisations]


def read_roster_once(roster: Path, tracer: Tracer | None = None, vocabulary: Vocabulary | None = None) -> RosterResult:
    """The roster of the inputs, read once for the evaluation, the ``--org`` check and the reports' 三实三弱
    diagnosis (a province's roster takes a second to read); with `tracer`, as the ``roster`` stage (as the
    command line loads the rules before the evaluation). Its errors are the evaluation's."""
    from . import NullTracer, read_roster

    check_path(roster, "名册")
    with (tracer or NullTracer()).stage("roster"):
        return read_roster(roster, vocabulary)


def output_paths(outputs: Sequence[Output]) -> list[str]:
    return [o.path for o in outputs if o.path is not None]


def needs_outputs(args: argparse.Namespace, outputs: Sequence[Output]) -> bool:
    """Whether ``evaluate`` goes through :func:`evaluate_outputs` rather than its single-format paths (which
    stream json, csv, junit and parquet, and keep only the findings the table lists)."""
    from .render.terminal import use_rich

    chosen = filters(args)
    only = outputs[0]
    return (
        len(outputs) > 1
        or chosen.scoped
        or only.format == "summary"
        or (chosen.show is not None and only.format != "table")
        or (only.format == "table" and use_rich(args.color, only.path is not None, sys.stdout))
    )
