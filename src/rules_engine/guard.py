"""Checks of API arguments and handed-over data, made before anything is evaluated or written.

Everything a report holds must be encodable as UTF-8 JSON: a string with a lone surrogate (``"\\ud800"``,
from ``json.loads``, a YAML escape or an undecodable file name) is refused here, with where it is, rather
than breaking the writer half-way. Data nested deeper than any roster or parameter needs is refused
too, instead of exhausting Python's recursion limit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from .errors import InputError

MAX_EVIDENCE_LIMIT = 1_000_000  # evidence ids listed per finding; its count has them all anyway
MAX_DEPTH = 64  # nesting of a handed-over roster, record or parameter value

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """True if `text` holds a lone surrogate, which no UTF-8 file can carry."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def shown(value: object, limit: int = 80) -> str:
    """`value` as printable text for a message: lone surrogates escaped (``\\ud800``), long text cut."""
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, (dict, list)) else "..."
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_max_evidence(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_EVIDENCE_LIMIT:
        raise InputError.of("arg.max_evidence.invalid", limit=MAX_EVIDENCE_LIMIT, value=shown(value))
    return value


def check_path(value: str | os.PathLike[str], what: str) -> None:
    """Refuse a file name that is not valid Unicode (it could not be written into the report)."""
    if has_surrogate(os.fspath(value)):
        raise InputError.of("input.path.not_utf8", what=(what, what_en(what)), path=shown(os.fspath(value), 200))


def what_en(what: str) -> str:
    return {"名册": "roster", "记录": "records", "豁免": "waiver", "参数": "params"}.get(what, what)


def check_data(data: Any, what: str) -> None:
    """Walk `data` (mappings, lists, tuples, strings) without recursion; raise :class:`InputError` at the
    first string with a lone surrogate or the first container nested deeper than :data:`MAX_DEPTH`."""
    if isinstance(data, str):
        _check_text(data, what, ())
        return
    stack: list[tuple[Any, tuple[object, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, (Mapping, list, tuple)):
            continue
        if len(path) >= MAX_DEPTH:
            raise InputError.of(
                "input.data.too_deep", what=(what, what_en(what)), limit=MAX_DEPTH, path=_path(path[:8])
            )
        for key, value in node.items() if isinstance(node, Mapping) else enumerate(node):
            if type(key) is str:
                _check_text(key, what, (*path, key))
            if type(value) is str:
                _check_text(value, what, (*path, key))
            elif isinstance(value, (Mapping, list, tuple)):
                stack.append((value, (*path, key)))


def _check_text(text: str, what: str, path: tuple[object, ...]) -> None:
    if not text.isascii() and _SURROGATE.search(text) is not None:
        raise InputError.of("input.data.bad_unicode", what=(what, what_en(what)), path=_path(path), text=shown(text))


def _path(path: tuple[object, ...]) -> str:
    return "/" + "/".join(shown(p if isinstance(p, str) else repr(p), 40) for p in path)
