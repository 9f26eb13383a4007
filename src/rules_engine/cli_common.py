"""What the command-line shells share: the usage error, reading ``--rules``, ``--param``, ``--show`` and
``--fail-on``, and sorting the inputs into the roster and the record files.

Every ``cli*.py`` module imports these from here, so the arrows run one way: ``cli.py`` (the parser and
the main commands) and the other shells above, this module below, the public API under it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import Error, Status, parse_fail_on
from .load.folder import ROSTER_NAMES, Entry, scan_folder
from .load.inputs import RECORD_SUFFIXES, WORKBOOK_SUFFIXES
from .load.xlsx import sheet_kinds
from .texts import message

if TYPE_CHECKING:
    from .cluster import ClusterSpec


class UsageError(Error):
    """A command-line argument that cannot be used. Exit 2."""


WORKERS_HELP = (
    "工作进程数 worker processes the organisations are split over (the same report for any N); default "
    "auto: the machine's cores, but 1 below 500 organisations"
)

#: The JSON layout ``evaluate --format json`` writes unless --report-format says otherwise (the API's is v1).
DEFAULT_REPORT_FORMAT = "v2"


CLUSTER_HELP = (
    "在 Dask 集群上评价 evaluate on a Dask cluster (the same report): local:N (N worker processes on this machine) "
    "or dask://HOST:PORT (a running scheduler); needs the [dask] extra; --workers is then not used; see "
    "docs/cluster.md"
)


def cluster_argument(text: str) -> ClusterSpec:
    from .cluster import parse_cluster

    try:
        return parse_cluster(text)
    except Error:
        raise argparse.ArgumentTypeError(message("usage.cluster.invalid", value=text)) from None


def workers_argument(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(message("usage.workers.invalid", value=text))
    return value


def fail_on_argument(text: str) -> str:
    try:
        parse_fail_on(text)
    except Error as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--fail-on: ")) from None
    return text


def rules_paths(given: list[str] | None) -> list[str]:
    """The --rules given; else ./rules when it holds rule files (a pack repository); else none: the installed
    packs. A ./rules folder without any YAML file (empty, or something else's) cannot hide a pack, so it
    does not stand in the way of the installed packs."""
    if given:
        return given
    return ["rules"] if local_rules() else []


def local_rules() -> bool:
    folder = Path("rules")
    return folder.is_dir() and any(p.suffix.lower() in (".yaml", ".yml") for p in folder.rglob("*"))


def parse_params(items: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        rule_id, dot, name = key.rpartition(".")
        if not sep or not dot or not rule_id or not name:
            raise UsageError.of("usage.param.syntax", item=item)
        try:
            value = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:  # e.g. !!python/object: refused, never run
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError.of("usage.param.value", key=key, raw=raw, reason=reason) from None
        out.setdefault(rule_id, {})[name] = value
    return out


def split_inputs(inputs: list[str], waivers: Sequence[str] = ()) -> tuple[Path, list[Path]]:
    """The roster and the record files among the inputs. Every file of an input folder is read, or left
    out with a note on standard error (files that cannot hold records), or refused (exit 2)."""
    chosen: Path | None = None  # a roster file given by name wins over one found in a folder or workbook
    rosters: list[Path] = []
    records: list[Path] = []
    left_out: list[Entry] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = scan_folder(path)
            if found.refused:
                listed = "".join(f"\n  {entry}" for entry in found.refused)
                raise UsageError.of(
                    "usage.folder.unreadable_files", folder=raw, suffixes=" ".join(RECORD_SUFFIXES), listed=listed
                )
            rosters += found.rosters
            records += found.records
            left_out += found.left_out
        elif path.is_file():
            if path.suffix.lower() in WORKBOOK_SUFFIXES:
                kinds = sheet_kinds(path)
                if not kinds:
                    raise UsageError(str(Entry.of(path, "folder.no_sheets")))
                if "roster" in kinds:
                    rosters.append(path)
                if "records" in kinds:
                    records.append(path)
            elif path.name.lower() in ROSTER_NAMES or path.suffix.lower() in (".yaml", ".yml"):
                if chosen is not None:
                    rosters.insert(0, chosen)
                chosen = path
            else:
                records.append(path)
        else:
            raise UsageError.of("usage.path.not_found", path=raw)
    roster = chosen or (rosters[0] if rosters else None)
    if roster is None:
        raise UsageError.of("usage.roster.missing")
    for other in rosters:
        if other != roster:
            left_out.append(Entry.of(other, "folder.other_roster", roster=str(roster)))
    given = {Path(w).resolve() for w in waivers}
    _note_left_out([entry for entry in left_out if entry.path.resolve() not in given])
    if not records:
        raise UsageError.of("usage.records.missing", suffixes=" ".join(RECORD_SUFFIXES))
    return roster, records


def _note_left_out(entries: list[Entry]) -> None:
    """Notes on standard error for the files of input folders that are not read: one line per folder and
    reason, ``rules-engine: 注意 note: FOLDER: NAME, NAME: 中文 / English``."""
    groups: dict[tuple[Path, str, str], list[str]] = {}
    for entry in entries:
        groups.setdefault((entry.path.parent, entry.zh, entry.en), []).append(entry.path.name)
    for (folder, zh, en), names in groups.items():
        print(f"rules-engine: 注意 note: {folder}: {', '.join(names)}: {zh} / {en}", file=sys.stderr)


def shown_statuses(args: argparse.Namespace) -> set[Status] | None:
    """The statuses the table lists (None: all); --show not given: those that need attention."""
    if args.show is None:
        from .render.sections import ATTENTION

        return set(ATTENTION)
    return None if args.show.strip() == "all" else {_status(s) for s in args.show.split(",") if s.strip()}


def _status(word: str) -> Status:
    try:
        return Status(word.strip())
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise UsageError.of("usage.show.unknown_status", word=word.strip(), choices=choices) from None
