"""What an input folder holds. Every entry is read (the roster, record files, workbooks), or left out
with the reason (files that cannot hold records: hidden and lock files, documentation, scripts, YAML
other than the roster, sub-folders), or refused: a file of a format nothing reads, or a workbook
without a records or organisations sheet, may be a file of records, and a check must not pass
without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .inputs import RECORD_SUFFIXES, WORKBOOK_SUFFIXES
from .xlsx import sheet_kinds

ROSTER_NAMES = ("roster.yaml", "roster.yml", "roster.json")

_DOCUMENTS = (".md", ".markdown", ".rst", ".pdf", ".html", ".htm")
_SCRIPTS = (".py", ".sh", ".bat", ".cmd", ".ps1")
_SYSTEM = ("thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Entry:
    """A folder entry that is not read, and why (Chinese, English)."""

    path: Path
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.path}: {self.zh} / {self.en}"


@dataclass
class FolderInputs:
    """The entries of one input folder, sorted by name within each list."""

    rosters: list[Path] = field(default_factory=list)  # roster files, then workbooks with an organisations sheet
    records: list[Path] = field(default_factory=list)  # record files and workbooks with a records sheet
    left_out: list[Entry] = field(default_factory=list)  # not read: cannot hold records
    refused: list[Entry] = field(default_factory=list)  # not read, and might hold records


def _left_out(path: Path) -> tuple[str, str] | None:
    """Why an entry is left out without harm, or None when it must be read or refused."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name.startswith("~$"):
        return (
            "未读取：Office 锁定文件，对应工作簿正被打开，未保存的修改读不到",
            "not read: an Office lock file; its workbook is open, and changes not yet saved are not read",
        )
    if name.startswith("."):
        return "未读取：隐藏文件", "not read: a hidden file"
    if path.is_dir():
        return (
            "未读取：子目录不查找，需要时作为输入另行给出",
            "not read: sub-folders are not searched; give it as an input of its own",
        )
    if name in _SYSTEM:
        return "未读取：系统文件", "not read: a system file"
    if suffix in _DOCUMENTS:
        return "未读取：说明文档", "not read: documentation"
    if suffix in _SCRIPTS:
        return "未读取：脚本", "not read: a script"
    if suffix in (".yaml", ".yml"):
        return (
            "未读取：YAML 文件不是记录；名册须命名为 roster.yaml，豁免文件用 --waivers 给出",
            "not read: YAML is not records; the roster must be named roster.yaml, waivers are given with --waivers",
        )
    return None


def scan_folder(folder: Path) -> FolderInputs:
    """Sort the entries of an input folder into roster, records, left out and refused."""
    found = FolderInputs()
    workbooks: list[Path] = []
    for path in sorted(folder.iterdir()):
        reason = None if path.name.lower() in ROSTER_NAMES else _left_out(path)
        if reason is not None:
            found.left_out.append(Entry(path, *reason))
        elif path.name.lower() in ROSTER_NAMES:
            found.rosters.append(path)
        elif path.suffix.lower() in WORKBOOK_SUFFIXES:
            workbooks.append(path)
        elif path.suffix.lower() in RECORD_SUFFIXES:
            found.records.append(path)
        else:
            found.refused.append(Entry(path, "不支持的文件格式", "not a format that is read"))
    found.rosters.sort(key=lambda p: ROSTER_NAMES.index(p.name.lower()))
    for book in workbooks:
        kinds = sheet_kinds(book)  # a workbook can hold the roster, the records, or both
        if "roster" in kinds:
            found.rosters.append(book)
        if "records" in kinds:
            found.records.append(book)
        if not kinds:
            found.refused.append(
                Entry(
                    book,
                    "工作簿中没有 活动记录/records 或 组织/organisations 工作表",
                    "the workbook has no records or organisations sheet",
                )
            )
    found.records.sort()
    return found
