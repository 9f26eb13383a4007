"""What an input folder holds. Every entry is read (the roster, record files, workbooks), or left out
with the reason (files that cannot hold records: hidden and lock files, documentation, scripts, YAML
other than the roster, sub-folders), or refused: a file of a format nothing reads, or a workbook
without a records or organisations sheet, may be a file of records, and a check must not pass
without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..texts import Arg, text
from .inputs import RECORD_SUFFIXES, WORKBOOK_SUFFIXES
from .xlsx import sheet_kinds

ROSTER_NAMES = ("roster.yaml", "roster.yml", "roster.json")

_DOCUMENTS = (".md", ".markdown", ".rst", ".pdf", ".html", ".htm")
_SCRIPTS = (".py", ".sh", ".bat", ".cmd", ".ps1")
_SYSTEM = ("thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Entry:
    """A folder entry that is not read, and why (Chinese, English; `code`: the reason's ``folder.*`` code)."""

    path: Path
    zh: str
    en: str
    code: str = ""

    @classmethod
    def of(cls, path: Path, code: str, /, **values: Arg) -> Entry:
        """The entry `path`, not read for the reason `code` (its texts in :mod:`rules_engine.texts`)."""
        return cls(path, *text(code, **values), code)

    def __str__(self) -> str:
        return f"{self.path}: {self.zh} / {self.en}"


@dataclass
class FolderInputs:
    """The entries of one input folder, sorted by name within each list."""

    rosters: list[Path] = field(default_factory=list)  # roster files, then workbooks with an organisations sheet
    records: list[Path] = field(default_factory=list)  # record files and workbooks with a records sheet
    left_out: list[Entry] = field(default_factory=list)  # not read: cannot hold records
    refused: list[Entry] = field(default_factory=list)  # not read, and might hold records


def _left_out(path: Path) -> str | None:
    """The code of why an entry is left out without harm, or None when it must be read or refused."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name.startswith("~$"):
        return "folder.lock_file"
    if name.startswith("."):
        return "folder.hidden"
    if path.is_dir():
        return "folder.sub_folder"
    if name in _SYSTEM:
        return "folder.system_file"
    if suffix in _DOCUMENTS:
        return "folder.documentation"
    if suffix in _SCRIPTS:
        return "folder.script"
    if suffix in (".yaml", ".yml"):
        return "folder.yaml"
    return None


def scan_folder(folder: Path) -> FolderInputs:
    """Sort the entries of an input folder into roster, records, left out and refused."""
    found = FolderInputs()
    workbooks: list[Path] = []
    for path in sorted(folder.iterdir()):
        reason = None if path.name.lower() in ROSTER_NAMES else _left_out(path)
        if reason is not None:
            found.left_out.append(Entry.of(path, reason))
        elif path.name.lower() in ROSTER_NAMES:
            found.rosters.append(path)
        elif path.suffix.lower() in WORKBOOK_SUFFIXES:
            workbooks.append(path)
        elif path.suffix.lower() in RECORD_SUFFIXES:
            found.records.append(path)
        else:
            found.refused.append(Entry.of(path, "folder.unsupported"))
    found.rosters.sort(key=lambda p: ROSTER_NAMES.index(p.name.lower()))
    for book in workbooks:
        kinds = sheet_kinds(book)  # a workbook can hold the roster, the records, or both
        if "roster" in kinds:
            found.rosters.append(book)
        if "records" in kinds:
            found.records.append(book)
        if not kinds:
            found.refused.append(Entry.of(book, "folder.no_sheets"))
    found.records.sort()
    return found
