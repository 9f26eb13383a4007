"""Re-check a saved JSON report against its inputs, from any folder.

The receipt names the rule packs (id, version, sha256), the input and waiver files (path as given, sha256),
the period, evaluation date, parameters and library version. ``verify_report`` finds each of them again,
says which one changed, and, when none did, evaluates again and compares the result byte for byte.

Where it looks:

- input and waiver files: a path recorded as given relative to the folder the report was made in (the
  run's working folder). That folder is `base` when given; otherwise the first of the working folder, the
  report's folder and the folders above it in which every recorded file exists with its recorded hash (or,
  when no folder has them all, the one that has the most of them, so that the problems name real files);
  absolute paths are used as they are;
- rule packs, by id and hash: in the folders given as `rules`, then in ``rules/`` of that base folder (the
  command line's default), then among the installed packs (``load_rules()`` without a path). Where a pack
  came from (``origin``) is recorded for information and is not compared.

The evaluation runs with the base folder as the working folder (recorded paths are written into the report
as they were given), so ``verify_report`` changes the process's working folder for its duration when the
base is another folder: do not call it from several threads at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from . import __version__
from .errors import RulesError
from .evaluate import evaluate_to
from .load.inputs import file_digest
from .load.rules import RulePack, RuleSet, load_rules
from .model.findings import Receipt
from .model.layout import LAYOUTS

_KIND = {"roster": "名册 roster", "records": "记录文件 records file", "waivers": "豁免文件 waiver file"}


def verify_report(
    report_path: str | Path, *, rules: Sequence[str | Path] = (), base: str | Path | None = None
) -> list[str]:
    """Problems found (empty: the inputs are unchanged and the report is reproduced exactly).

    `rules`: pack folders to look in first (needed when the run used packs that are neither in ``rules/``
    of its folder nor installed). `base`: the folder the report was made in (default: found, see above).
    Raises :class:`RulesError` when a folder given in `rules` does not load.
    """
    report = Path(report_path)
    raw = report.read_bytes()
    receipt, problem, layout = _receipt(raw)
    if receipt is None:
        return [problem]
    problems: list[str] = []
    items = [i.model_dump() for i in receipt.inputs]
    items += [{"source": w["source"], "kind": "waivers", "sha256": w["sha256"]} for w in receipt.waivers]
    for item in items:
        if item["sha256"] is None:
            problems.append(
                f"{_KIND.get(item['kind'], item['kind'])} {item['source']}: "
                "输入不是文件，无法复核 input was not a file and cannot be re-checked"
            )
    items = [i for i in items if i["sha256"] is not None]
    folder, looked = _base(items, report, base)
    missing = False
    for item in items:
        problem, gone = _check_file(item, folder)
        if problem:
            problems.append(problem)
            missing = missing or (gone and not Path(item["source"]).is_absolute())
    if missing:
        places = ", ".join(str(p) for p in looked)
        problems.append(
            "相对路径按生成报告时的工作目录解释，已查找 relative paths are read from the folder the report was made "
            f"in; looked in: {places}（可用 --base 指定 pass --base DIR）"
        )
    packs, pack_problems = _find_packs(receipt.packs, rules, folder)
    problems += pack_problems
    version = _version_note(receipt)
    if problems:
        return problems + ([version] if version else [])
    out = io.BytesIO()
    with _working_folder(folder):
        evaluate_to(
            out,
            RuleSet(tuple(packs)),
            next(i["source"] for i in items if i["kind"] == "roster"),
            [i["source"] for i in items if i["kind"] == "records"],
            period=receipt.period,
            as_of=receipt.as_of,
            params=receipt.params or None,
            max_evidence=receipt.max_evidence,
            waivers=[i["source"] for i in items if i["kind"] == "waivers"],
            report_format=layout,
        )
    if out.getvalue() != raw and out.getvalue().startswith(raw):
        problems.append(
            f"报告不完整 truncated report: 报告只有重新评价结果的前 {len(raw)} 字节（共 {len(out.getvalue())} 字节） "
            f"/ the report holds only the first {len(raw)} bytes of the {len(out.getvalue())} the re-evaluation gives"
        )
    elif out.getvalue() != raw:
        mine, theirs = out.getvalue().splitlines(), raw.splitlines()
        line = next(
            (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), min(len(mine), len(theirs))
        )
        problems.append(
            f"重新评价的结果与报告不同（第 {line + 1} 行起） re-evaluation differs from the report from line {line + 1}"
        )
        if version:
            problems.append(version)
        elif any("root" in p for p in receipt.packs):
            problems.append(
                "报告的回执来自较早的版本（记录了规则包目录），请重新生成报告 "
                "the receipt is from an earlier version of the library (it records pack folders): make the report again"
            )
    return problems


def _receipt(raw: bytes) -> tuple[Receipt | None, str, str]:
    """The receipt, or why there is none, and the report's layout (``v1`` or ``v2``): a truncated report is told
    apart from a document that is no report."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        if _looks_like_report(raw):
            last = raw.rstrip(b"\n").count(b"\n") + 1  # a cut report ends early: at its last line
            return (
                None,
                (
                    f"报告不完整 truncated report: 文件（{len(raw)} 字节）在第 {last} 行处中断，"
                    "生成它的运行可能被中止，请重新生成 / "
                    f"the file ({len(raw)} bytes) ends early at line {last}: the run that wrote it was probably "
                    "interrupted; make the report again"
                ),
                "",
            )
        return None, _NO_RECEIPT, ""
    if not isinstance(doc, dict) or "receipt" not in doc:
        return None, _NO_RECEIPT, ""
    if "findings" not in doc:
        return None, "报告不完整 truncated report: 没有 findings the report has no findings list", ""
    layout = next((name for name, text in LAYOUTS.items() if doc.get("format") == text), "v1")
    try:
        return Receipt.model_validate(doc["receipt"]), "", layout
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)[:3])
        return None, f"回执不完整或无效 the receipt is incomplete or invalid: {detail}", ""


_NO_RECEIPT = "报告中没有回执 the report has no receipt (not a rules-engine/report/v1 or v2 document?)"


def _looks_like_report(raw: bytes) -> bool:
    head = raw.lstrip()[:200]
    return not head or (head.startswith(b"{") and any(f'"format": "{f}"'.encode() in head for f in LAYOUTS.values()))


def _base(items: list[dict[str, Any]], report: Path, given: str | Path | None) -> tuple[Path, list[Path]]:
    """The folder relative paths are read from, and the folders considered."""
    if given is not None:
        return Path(given).resolve(), [Path(given).resolve()]
    candidates: list[Path] = []
    for folder in [Path.cwd(), *report.resolve().parents]:
        folder = folder.resolve()
        if folder not in candidates:
            candidates.append(folder)
    relative = [i for i in items if not Path(i["source"]).is_absolute()]
    if not relative:
        return candidates[0], candidates
    present = [sum((folder / i["source"]).is_file() for i in relative) for folder in candidates]
    for folder, count in zip(candidates, present, strict=True):
        if count == len(relative) and all(
            file_digest(str(folder / i["source"]), i["kind"])["sha256"] == i["sha256"] for i in relative
        ):
            return folder, candidates
    return candidates[present.index(max(present))], candidates


def _check_file(item: dict[str, Any], folder: Path) -> tuple[str, bool]:
    """(the problem with one recorded file or "", whether it is missing)."""
    source = item["source"]
    now = file_digest(str(folder / source), item["kind"])  # an absolute source stays itself
    label = f"{_KIND.get(item['kind'], item['kind'])} {source}"
    if now["sha256"] is None:
        return f"{label}: 文件不存在 file is missing", True
    if now["sha256"] != item["sha256"]:
        return f"{label}: 文件已改变 file has changed (sha256 {now['sha256'][:12]} != {item['sha256'][:12]})", False
    return "", False


def _find_packs(
    recorded: list[dict[str, str]], rules: Sequence[str | Path], folder: Path
) -> tuple[list[RulePack], list[str]]:
    """The packs of the receipt, in its order, each found by id with its recorded hash."""
    sources: list[tuple[str, RuleSet]] = []
    notes: list[str] = []
    if rules:
        sources.append((", ".join(map(str, rules)), load_rules(*rules)))  # the user's own: errors are theirs
    if (folder / "rules").is_dir():
        _try_load(sources, notes, str(folder / "rules"), lambda: load_rules(folder / "rules"))
    legacy = [folder / p["root"] for p in recorded if p.get("root") and (folder / p["root"]).is_dir()]
    if legacy:  # a receipt of an earlier version names pack folders
        _try_load(sources, notes, ", ".join(map(str, legacy)), lambda: load_rules(*legacy))
    _try_load(sources, notes, "已安装的规则包 the installed packs", _installed_packs)
    found: list[RulePack] = []
    problems: list[str] = []
    for want in recorded:
        candidates = [(where, p) for where, ruleset in sources for p in ruleset.packs if p.id == want["id"]]
        match = next((p for _where, p in candidates if p.sha256 == want["sha256"]), None)
        if match is not None:
            if "origin" in want and any(f.name == "origin" for f in dataclasses.fields(match)):
                changes: dict[str, Any] = {"origin": want["origin"]}  # not compared: as recorded
                match = dataclasses.replace(match, **changes)
            found.append(match)
            continue
        label = f"规则包 pack {want['id']}@{want.get('version', '?')}"
        if candidates:
            where, pack = candidates[0]
            problems.append(
                f"{label}: 内容已改变 has changed (在 found in {where}: version {pack.manifest.pack.version}, "
                f"sha256 {pack.sha256[:12]} != {want['sha256'][:12]})"
            )
        else:
            places = "; ".join(where for where, _ in sources) or "-"
            problems.append(
                f"{label}: 找不到 not found (已查找 looked in: {places}；用 --rules 指定其目录 pass --rules PATH)"
            )
    if problems:
        problems += notes
    return found, problems


def _installed_packs() -> RuleSet:
    """The installed packs: those bundled with the library and published through entry points."""
    return load_rules()


def _try_load(sources: list[tuple[str, RuleSet]], notes: list[str], where: str, load: Callable[[], RuleSet]) -> None:
    try:
        sources.append((where, load()))
    except RulesError as exc:
        notes.append(
            f"{where}: 规则包无法加载 packs do not load ({len(exc.problems)} 处问题 problem(s)): {exc.problems[0]}"
        )


def _version_note(receipt: Receipt) -> str:
    if receipt.version == __version__:
        return ""
    return (
        f"库版本不同 library version differs: 报告由 the report was made by {receipt.library} {receipt.version}，"
        f"当前为 this is {__version__}"
    )


@contextlib.contextmanager
def _working_folder(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    if Path(before).resolve() == folder:
        yield
        return
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
