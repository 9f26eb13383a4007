"""``rules-engine``: a thin command-line shell over the public API.

Exit codes: 0 no violation (or lint clean), 1 violations found (or lint problems), 2 usage error or
input that cannot be read at all (any :class:`rules_engine.Error`), 3 internal error (a bug). A closed
output pipe (``... | head``) ends quietly with 141, as a process ended by SIGPIPE.

Every file written with ``-o`` is written whole or not at all (see :mod:`rules_engine.atomic`) and never
over one of the run's inputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .atomic import files_under, refuse_overwrite, write_bytes
from .compile import compile_rules
from .engine import EngineError
from .errors import Error, RulesError
from .evaluate import evaluate, evaluate_to
from .load.rules import lint, load_rules
from .load.xlsx import sheet_kinds
from .model.findings import Status
from .render import render_table
from .schema import rule_schema

ROSTER_NAMES = ("roster.yaml", "roster.yml", "roster.json")
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".csv")


class UsageError(Error):
    """A command-line argument that cannot be used. Exit 2."""


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # messages quote the user's text: never fail on an odd character
            reconfigure(encoding="utf-8", errors="backslashreplace" if stream is sys.stderr else "strict")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        result: int = args.func(args)
        return result
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        return _broken_pipe()
    except KeyboardInterrupt:  # Ctrl-C: no traceback; an output file being written was left as it was
        print("rules-engine: 已中断 interrupted", file=sys.stderr)
        return 130
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        n = len(exc.problems)
        if exc.problems and all(p.code.startswith("param.") for p in exc.problems):
            print(f"参数覆盖有 {n} 处问题 {n} problem(s) in the parameter overrides", file=sys.stderr)
        else:
            print(f"规则有 {n} 处问题 {n} problem(s) in the rules", file=sys.stderr)
        return 2
    except Error as exc:  # InputError, PeriodError, OutputError, UsageError ...
        print(f"rules-engine: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        name = exc.filename if exc.filename is not None else "-"
        print(f"rules-engine: 无法读写文件 cannot read or write {name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"rules-engine: 内部错误（请报告） internal engine error, please report: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:  # a bug: never exit 1, which means "violations found"
        import traceback

        traceback.print_exc()
        print(f"rules-engine: 内部错误（请报告） internal error, please report: {exc!r}", file=sys.stderr)
        return 3


def _broken_pipe() -> int:
    """Point standard output at the null device, so that the interpreter's last flush does not fail too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


_WHOLE = "(written whole or not at all; refused if it is one of the inputs)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rules-engine",
        description="检查党委（党组）落实全面从严治党主体责任的履责情况 / check primary-responsibility duties",
    )
    parser.add_argument("--version", action="version", version=f"rules-engine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="评价 evaluate records against the rules")
    ev.add_argument(
        "inputs", nargs="+", help="a folder with roster.yaml and *.jsonl/*.csv/*.xlsx records, or the files"
    )
    ev.add_argument("--rules", action="append", help="rule pack folder(s) (default: ./rules)")
    ev.add_argument("--period", required=True, help="2024, 2024-H1, 2024-Q3, 2024-05 or 2024-01-01..2024-06-30")
    ev.add_argument("--as-of", help="评价日期 evaluation date YYYY-MM-DD (default: today)")
    ev.add_argument("--format", choices=("table", "json", "csv"), default="table")
    ev.add_argument("--output", "-o", help="write the report to this file instead of standard output " + _WHOLE)
    ev.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="RULE.NAME=VALUE",
        help="override a rule parameter, e.g. ZZ-DW-01.at_least=2",
    )
    ev.add_argument("--waivers", action="append", default=[], metavar="FILE", help="豁免文件 waiver file (YAML)")
    ev.add_argument(
        "--max-evidence",
        type=int,
        default=20,
        metavar="N",
        help="evidence ids listed per finding (0 to 1000000, default 20)",
    )
    ev.add_argument(
        "--show",
        default="violated,undeterminable,pending,waived",
        help="statuses the table lists (default: violated,undeterminable,pending,waived; 'all' for every "
        "finding); the summary always counts all",
    )
    ev.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    ev.set_defaults(func=_evaluate)

    li = sub.add_parser("lint", help="检查规则文件 check rule files; exit 1 on problems")
    li.add_argument("paths", nargs="*", default=["rules"])
    li.add_argument("--format", choices=("text", "json"), default="text")
    li.set_defaults(func=_lint)

    sc = sub.add_parser("schema", help="输出 JSON Schema print the JSON Schema of rule files")
    sc.add_argument("--kind", choices=("rules", "pack"), default="rules")
    sc.add_argument("--output", "-o", help="write here instead of standard output " + _WHOLE)
    sc.set_defaults(func=_schema)

    nr = sub.add_parser("new-rule", help="新建规则模板 scaffold a rule file and its feature file")
    nr.add_argument("rule_id")
    nr.add_argument("--pack", required=True, help="the pack folder (with pack.yaml) to add the rule to")
    nr.add_argument(
        "--subject", default="organisation", choices=("organisation", "person", "portfolio", "pair", "trigger")
    )
    nr.add_argument("--features", help="folder for the skeleton .feature file (e.g. tests/features)")
    nr.set_defaults(func=_new_rule)

    co = sub.add_parser("coverage", help="覆盖情况 write the coverage table (rules/COVERAGE.md)")
    co.add_argument("--rules", action="append", help="rule pack folder(s) (default: ./rules)")
    co.add_argument("--features", default="tests/features", help="folder of .feature files (default tests/features)")
    co.add_argument("--output", "-o", help="write here (e.g. rules/COVERAGE.md) instead of standard output " + _WHOLE)
    co.set_defaults(func=_coverage)

    ve = sub.add_parser("verify", help="复核报告 re-check a saved JSON report against its inputs")
    ve.add_argument("report")
    ve.set_defaults(func=_verify)

    ex = sub.add_parser("explain", help="说明规则 explain what a rule checks")
    ex.add_argument("rule_id")
    ex.add_argument("--rules", action="append", help="rule pack folder(s) (default: ./rules)")
    ex.add_argument("--param", action="append", default=[], metavar="RULE.NAME=VALUE")
    ex.add_argument("--format", choices=("text", "json"), default="text")
    ex.set_defaults(func=_explain)
    return parser


def _rules_paths(given: list[str] | None) -> list[str]:
    if given:
        return given
    if Path("rules").is_dir():
        return ["rules"]
    raise UsageError("找不到规则包，请用 --rules 指定 no rule packs found: pass --rules PATH")


def _params(items: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        rule_id, dot, name = key.rpartition(".")
        if not sep or not dot or not rule_id or not name:
            raise UsageError(f"--param 应为 RULE.NAME=VALUE expected RULE.NAME=VALUE, got '{item}'")
        try:
            value = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:  # e.g. !!python/object: refused, never run
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(
                f"--param {key}: 值无法解析 cannot read the value '{raw}' ({reason}); "
                "写作数字、文字或 YAML 映射 write a number, text or a YAML mapping such as {from: 01-01, to: 06-30}"
            ) from None
        out.setdefault(rule_id, {})[name] = value
    return out


def _split_inputs(inputs: list[str]) -> tuple[Path, list[Path]]:
    roster: Path | None = None
    records: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            for name in ROSTER_NAMES:
                if (path / name).is_file():
                    roster = roster or path / name
            records += sorted(p for p in path.iterdir() if p.suffix.lower() in RECORD_SUFFIXES)
            for book in sorted(
                p for p in path.iterdir() if p.suffix.lower() == ".xlsx" and not p.name.startswith("~$")
            ):
                kinds = sheet_kinds(book)  # a workbook can hold the roster, the records, or both
                if "roster" in kinds:
                    roster = roster or book
                if "records" in kinds:
                    records.append(book)
        elif path.is_file():
            if path.suffix.lower() == ".xlsx":
                kinds = sheet_kinds(path)
                if not kinds:
                    raise UsageError(
                        f"{raw}: 工作簿中没有 活动记录/records 或 组织/organisations 工作表"
                        " / the workbook has no records or organisations sheet"
                    )
                if "roster" in kinds:
                    roster = roster or path
                if "records" in kinds:
                    records.append(path)
            elif path.name in ROSTER_NAMES or path.suffix.lower() in (".yaml", ".yml"):
                roster = path
            else:
                records.append(path)
        else:
            raise UsageError(f"文件或目录不存在 no such file or folder: {raw}")
    if roster is None:
        raise UsageError(
            "没有名册 no roster: give roster.yaml, a workbook with a 组织/organisations sheet, or a folder with one"
        )
    if not records:
        raise UsageError("没有活动记录 no record files (*.jsonl, *.csv, *.xlsx)")
    return roster, records


def _evaluate(args: argparse.Namespace) -> int:
    roster, records = _split_inputs(args.inputs)
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError(f"--as-of 日期无效 invalid date '{args.as_of}' (YYYY-MM-DD)") from None
    compiled = compile_rules(load_rules(*_rules_paths(args.rules)), _params(args.param))
    files = [str(p) for p in records]
    # refused before anything is evaluated or written: -o onto a record, roster, waiver or rule file
    inputs = [str(roster), *files, *args.waivers, *files_under(p.root for p in compiled.ruleset.packs)]
    if args.output:
        refuse_overwrite(args.output, inputs)
    extra: dict[str, Any] = {"waivers": list(args.waivers), "max_evidence": args.max_evidence}
    if args.format in ("json", "csv"):  # streamed: findings are written as they are produced, never all held
        extra["format"] = args.format
        if args.output:
            summary = evaluate_to(args.output, compiled, roster, files, period=args.period, as_of=as_of, **extra)
        else:
            summary = evaluate_to(sys.stdout.buffer, compiled, roster, files, period=args.period, as_of=as_of, **extra)
            sys.stdout.flush()
        return 1 if summary.get("violated") else 0
    show = None if args.show.strip() == "all" else {_status(s) for s in args.show.split(",") if s.strip()}
    # only the findings the table lists are kept as models (the summary counts all of them)
    report = evaluate(compiled, roster, files, period=args.period, as_of=as_of, statuses=show, **extra)
    colour = args.color == "always" or (
        args.color == "auto" and not args.output and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    data = render_table(report, colour=colour, show=show).encode()
    if args.output:
        write_bytes(args.output, data, inputs)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 1 if report.summary.get("violated") else 0


def _status(word: str) -> Status:
    try:
        return Status(word.strip())
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise UsageError(f"--show: 未知状态 unknown status '{word.strip()}' (choose from {choices}, or all)") from None


def _lint(args: argparse.Namespace) -> int:
    problems = lint(*args.paths)
    if args.format == "json":
        print(json.dumps([p.to_dict() for p in problems], ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            print(problem)
        if not problems:
            ruleset = load_rules(*args.paths)
            print(f"OK: {len(ruleset.packs)} 个规则包 packs, {len(ruleset.rules)} 条规则 rules")
        else:
            print(f"{len(problems)} 处问题 problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _schema(args: argparse.Namespace) -> int:
    text = json.dumps(rule_schema(args.kind), ensure_ascii=False, indent=2) + "\n"
    if args.output:
        write_bytes(args.output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from .coverage import coverage_markdown

    ruleset = load_rules(*_rules_paths(args.rules))
    text = coverage_markdown(ruleset, Path(args.features))
    if args.output:
        write_bytes(args.output, text.encode("utf-8"), files_under([*(p.root for p in ruleset.packs), args.features]))
    else:
        sys.stdout.write(text)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify_report

    problems = verify_report(args.report)
    for problem in problems:
        print(problem)
    if not problems:
        print("OK: 输入未变，报告逐字节复现 inputs unchanged, report reproduced byte for byte")
    return 1 if problems else 0


def _new_rule(args: argparse.Namespace) -> int:
    from .scaffold import new_rule

    for path in new_rule(args.rule_id, args.pack, args.subject, args.features):
        print(f"已写入 wrote {path}")
    print(f"下一步 next: 编辑规则后运行 edit the rule, then run: rules-engine lint {args.pack}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    ruleset = load_rules(*_rules_paths(args.rules))
    compiled = compile_rules(ruleset, _params(args.param))
    variants = [r for r in compiled.rules if r.rule.id == args.rule_id]
    rule = next((r for r in variants if r.scope is None), variants[0] if variants else None)
    if rule is None:
        from .errors import did_you_mean

        raise UsageError(
            f"未知规则 unknown rule '{args.rule_id}'. {did_you_mean(args.rule_id, [r.rule.id for r in compiled.rules])}"
        )
    spec = rule.rule
    data: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title.model_dump(),
        "pack": f"{rule.loaded.pack.id}@{rule.loaded.pack.version}",
        "defined_at": str(rule.loaded.location),
        "severity": spec.severity.value,
        "citation": {**spec.citation.model_dump(exclude_none=True), "label": spec.citation.label()},
        "provenance": spec.provenance.model_dump(mode="json", exclude_none=True),
        "effective": rule.effective.model_dump(mode="json", by_alias=True),
        "organisation_kinds": [k.value for k in spec.org_kinds],
        "for_each": _for_each(rule),
        "counts": spec.match.model_dump(mode="json", exclude_defaults=True) if spec.match else None,
        "escalate": spec.escalate.model_dump(mode="json", exclude_defaults=True) if spec.escalate else None,
        "trigger": spec.trigger.model_dump(mode="json", exclude_defaults=True) if spec.trigger else None,
        "attendance": spec.attendance,
        "params": rule.params_dump(),
        "variants": [
            {"organisations": list(v.scope or ()), "retired_by": v.retired_by, "params": v.params_dump()}
            for v in variants
            if v is not rule and v.scope is not None
        ],
        "versions": [
            {
                "effective": v.effective.model_dump(mode="json", by_alias=True),
                "params": v.params_dump(),
                "defined_at": str(v.loaded.location),
            }
            for v in variants
            if v.scope is None
        ],
        "decisions": [
            {
                "status": d.status.value,
                "when": " and ".join(f"{a} {op} {v}" for a, op, v in d.conditions),
                "closed_world": d.after_close,
            }
            for d in compiled.decisions
            if d.rule_index == rule.index
        ],
    }
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return 0
    lines = [
        f"{spec.id}  {spec.title.zh}",
        f"          {spec.title.en}",
        f"规则包 pack: {data['pack']}   定义于 defined at: {data['defined_at']}",
        f"严重程度 severity: {spec.severity.value}",
        f"依据 citation: {spec.citation.label()}" + (f" — {spec.citation.text}" if spec.citation.text else ""),
        f"来源 provenance: {spec.provenance.basis.value} (confidence {spec.provenance.confidence})"
        + (f" — {spec.provenance.note}" if spec.provenance.note else ""),
        f"施行 effective: {rule.effective.from_}..{rule.effective.to or ''}",
        f"适用组织 organisations: {', '.join(data['organisation_kinds'])}",
        f"对象 for each: {data['for_each']}",
        f"计数 counts records: {json.dumps(data['counts'], ensure_ascii=False)}",
    ]
    if spec.trigger:
        lines.append(f"触发 triggered by: {json.dumps(data['trigger'], ensure_ascii=False)}")
    if spec.attendance:
        lines.append(f"到会比例 attendance: at least {rule.share} of the leading team in post on the day")
    lines.append("参数 parameters:")
    for name, info in data["params"].items():
        lines.append(f"  {name} = {json.dumps(info['value'], ensure_ascii=False)}   (set by {info['set_by']})")
    if len(data["versions"]) > 1:
        lines.append("版本 versions (each part of a period is judged under the version in force):")
        for version in data["versions"]:
            eff = version["effective"]
            values = ", ".join(
                f"{k} = {json.dumps(v['value'], ensure_ascii=False)}" for k, v in version["params"].items()
            )
            lines.append(f"  {eff['from']}..{eff['to'] or ''}: {values}   ({version['defined_at']})")
    for variant in data["variants"]:
        where = ", ".join(variant["organisations"])
        if variant["retired_by"]:
            lines.append(f"  在 {where} 及其下级停用 retired in {where} and below by {variant['retired_by']}")
        else:
            changed = ", ".join(
                f"{k} = {json.dumps(v['value'], ensure_ascii=False)} (set by {v['set_by']})"
                for k, v in variant["params"].items()
                if v["set_by"] != data["params"].get(k, {}).get("set_by")
            )
            lines.append(f"  在 {where} 及其下级 in {where} and below: {changed or '同上 as above'}")
    lines.append("判定 decisions (evaluated on durable_rules; n = matching records, due = window over):")
    for d in data["decisions"]:
        lines.append(f"  {d['status']:<15} when {d['when']}" + ("   [closed-world step]" if d["closed_world"] else ""))
    print("\n".join(lines))
    return 0


def _for_each(rule: Any) -> str:
    spec = rule.rule
    kind = spec.subject.value
    if spec.escalate is not None:
        who = "each organisation" if kind == "organisation" else "each " + "/".join(r.value for r in spec.roles)
        return f"{who}, over the evaluation period, reading the findings of {', '.join(spec.escalate.rules)}"
    if kind in ("person", "portfolio"):
        roles = "/".join(r.value for r in spec.roles)
        return (
            f"each {roles}"
            + (" x each portfolio area" if kind == "portfolio" else "")
            + f", per {rule.params.period.value}"
        )
    if kind == "pair":
        first = "/".join(r.value for r in spec.pair.first)
        second = "/".join(r.value for r in spec.pair.second)
        return f"each pair ({first} x {second}), per {rule.params.period.value}"
    if kind == "trigger":
        return f"each trigger record, within {rule.params.within_days} days"
    return f"each organisation, per {rule.params.period.value}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
