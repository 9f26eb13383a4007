"""Lint problems in the formats a CI shows: SARIF 2.1.0 (code scanning) and GitHub workflow annotations.

Both name rule files relative to the repository root, `base` (default: the working folder), so that the
same problems give the same bytes on every machine; a file outside `base` keeps its absolute path. Lines
and columns are 1-based and count characters (Unicode code points), as the YAML reader does. Messages are
in Chinese, then English, followed by the hint.

SARIF has no place for advice that is not an edit (a ``fix`` must carry the replacement text), so the hint
is in the result's ``message.markdown`` and ``properties.hint``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..errors import Problem

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _relative(file: str, base: str | Path | None) -> tuple[str, bool] | None:
    """(path, relative to base) of a problem's file; None when the problem is not in a file."""
    if not file or file.startswith("<"):
        return None
    root = Path(base if base is not None else os.getcwd()).resolve()
    path = Path(os.path.abspath(file))  # not resolve(): keep the name the user sees, links and all
    try:
        return path.relative_to(root).as_posix(), True
    except ValueError:
        try:
            return path.resolve().relative_to(root).as_posix(), True
        except ValueError:
            return path.as_posix(), False


def _text(problem: Problem) -> str:
    text = f"{problem.message} ({problem.message_en})" if problem.message_en else problem.message
    return f"{text} {problem.hint}" if problem.hint else text


def sarif_log(problems: Sequence[Problem], *, base: str | Path | None = None) -> dict[str, object]:
    """The SARIF 2.1.0 log of `problems` (a dict ready for ``json.dumps``)."""
    codes = sorted({p.code for p in problems})
    index = {code: i for i, code in enumerate(codes)}
    results: list[dict[str, object]] = []
    for p in problems:
        message: dict[str, str] = {"text": _text(p)}
        if p.hint:
            plain = f"{p.message} ({p.message_en})" if p.message_en else p.message
            message["markdown"] = f"{plain}\n\n**提示 hint:** {p.hint}"
        result: dict[str, object] = {"ruleId": p.code, "ruleIndex": index[p.code], "level": "error", "message": message}
        where = _relative(p.location.file, base)
        if where is not None:
            path, inside = where
            artifact: dict[str, object] = (
                {"uri": quote(path), "uriBaseId": SRCROOT} if inside else {"uri": Path(path).as_uri()}
            )
            physical: dict[str, object] = {"artifactLocation": artifact}
            if p.location.line > 0:
                region: dict[str, int] = {"startLine": p.location.line}
                if p.location.column > 0:
                    region["startColumn"] = p.location.column
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        properties: dict[str, str] = {}
        if p.location.path:
            properties["path"] = p.location.path
        if p.hint:
            properties["hint"] = p.hint
        if properties:
            result["properties"] = properties
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rules-engine",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "rules": [
                            {
                                "id": code,
                                "shortDescription": {"text": code},
                                "defaultConfiguration": {"level": "error"},
                            }
                            for code in codes
                        ],
                    }
                },
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "仓库根目录 the repository root (the working folder, or --base)"}}
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render_sarif(problems: Sequence[Problem], *, base: str | Path | None = None) -> str:
    """`problems` as a SARIF 2.1.0 document (UTF-8 text, two-space indent, trailing newline)."""
    return json.dumps(sarif_log(problems, base=base), ensure_ascii=False, indent=2) + "\n"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_annotations(problems: Sequence[Problem], *, base: str | Path | None = None) -> str:
    """`problems` as GitHub workflow commands, one ``::error file=…,line=…,col=…,title=…::message`` a line."""
    lines: list[str] = []
    for p in problems:
        props: list[str] = []
        where = _relative(p.location.file, base)
        if where is not None:
            props.append(f"file={_property(where[0])}")
            if p.location.line > 0:
                props.append(f"line={p.location.line}")
                if p.location.column > 0:
                    props.append(f"col={p.location.column}")
        props.append(f"title={_property(p.code)}")
        lines.append(f"::error {','.join(props)}::{_data(_text(p))}")
    return "".join(line + "\n" for line in lines)
