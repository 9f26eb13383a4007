"""Safe YAML loading that keeps the position of every node and refuses duplicate keys.

Only YAML's safe constructors are used: no tags that build Python objects, no code.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import Location, Problem
from ..texts import fixed_hint

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """Parsed YAML data plus the (line, column) of every key and value, by path."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]]

    def locate(self, path: Path_) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe not in self.positions and probe:
            probe = probe[:-1]
        line, col = self.positions.get(probe, (1, 1))
        return Location(self.file, line, col, "/".join(str(p) for p in path))


MAX_BYTES = 5_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000  # after alias expansion: refuses "billion laughs" documents
_SAFE_TAGS = frozenset({"str", "int", "float", "bool", "null", "timestamp", "map", "seq"})


def load_yaml(path: Path, display: str | None = None, *, kept: bool = False) -> tuple[Document | None, list[Problem]]:
    """Read one YAML file; return the document or the problems that stopped it (never raises on bad text).

    `kept`: a small file read before with the same bytes under the same name gives the document parsed then (see
    :data:`KEPT_FILES`; the rule packs' files, read again by every evaluation of a process): the document is
    shared, and read only by its users."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        hint = None if isinstance(exc, PermissionError) else ""  # "check the read permission" where it helps
        error = str(exc.strerror)
        return None, [Problem.of("file.unreadable", Location(name), hint, what=("文件", "file"), error=error)]
    if len(raw) > MAX_BYTES:
        return None, [Problem.of("file.too_large", Location(name), limit=MAX_BYTES)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem.of("yaml.encoding", Location(name, line, col))]
    if not kept or len(raw) > KEPT_BYTES:
        return parse_yaml(text, name)
    key = (name, hashlib.blake2b(raw, digest_size=20).digest())
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
    if found is None:
        found = parse_yaml(text, name)
        with _kept_lock:
            _kept[key] = found
            while len(_kept) > KEPT_FILES:
                _kept.popitem(last=False)
    doc, problems = found
    return doc, list(problems)


KEPT_FILES = 1024
"""How many small YAML files' documents (at most :data:`KEPT_BYTES` each) a process keeps, by name and bytes
(``load_yaml(..., kept=True)``), the least recently read dropped first. Parsing with positions is most of loading
a rule pack (about 65 ms of the 80 ms the shipped packs take)."""
KEPT_BYTES = 256 * 1024
_kept: collections.OrderedDict[tuple[str, bytes], tuple[Document | None, list[Problem]]] = collections.OrderedDict()
_kept_lock = threading.Lock()


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # libyaml: the same nodes and marks, about 10x faster


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree. libyaml composes a clean document; anything it refuses, and any text with a
    character the pure reader refuses, is composed again by PyYAML's own parser, whose errors the problems
    below are written for (same position and wording whether or not libyaml is installed)."""
    if _FAST_LOADER is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, name: str) -> tuple[Document | None, list[Problem]]:
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, text, name)]
    except yaml.reader.ReaderError as exc:  # a control character or similar, by position in the text
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        shown = f"U+{ord(char):04X}"
        return None, [Problem.of("yaml.bad_character", Location(name, line, col), char=shown)]
    except yaml.YAMLError as exc:  # pragma: no cover - defensive: other parser errors
        return None, [Problem.of("yaml.syntax", Location(name, 1, 1), problem=str(exc))]
    positions: dict[Path_, tuple[int, int]] = {}
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")
    budget = [MAX_NODES]
    try:
        data = _convert(node, (), positions, problems, name, constructor, 0, budget) if node is not None else None
    except _TooBig:
        return None, [Problem.of("yaml.too_large", Location(name, 1, 1), limit=MAX_NODES)]
    if any(p.code in ("yaml.tag", "yaml.too_deep", "yaml.merge_key", "yaml.complex_key") for p in problems):
        return None, problems
    return Document(name, data, positions), problems


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, name: str) -> Problem:
    """A YAML syntax error placed where the author must look, with a hint for the common mistakes."""
    problem, context = str(exc.problem or ""), str(exc.context or "")
    # an unclosed bracket or quote, or a key without ": ", is reported where the parser gave up (often the
    # next line); the context mark is where it started, which is where the mistake is
    use_context = exc.context_mark is not None and (
        context.startswith("while scanning") or context.startswith("while parsing a flow")
    )
    mark = exc.context_mark if use_context else (exc.problem_mark or exc.context_mark)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    lines = text.splitlines()
    # an unclosed quote runs on into the following lines: look back for a line with an odd number of them
    for back in range(line, max(0, line - 3), -1):
        candidate = lines[back - 1] if 0 < back <= len(lines) else ""
        code = candidate.split(" #", 1)[0]
        for quote in ('"', "'"):
            if code.count(quote) % 2 == 1:
                return Problem.of("yaml.syntax#quote", Location(name, back, code.rfind(quote) + 1), quote=quote)
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here or "tab" in problem:
        hint = fixed_hint("yaml.syntax#tab")
    elif "：" in here:
        hint = fixed_hint("yaml.syntax#full_width_colon")
    elif "could not find expected ':'" in problem:
        hint = fixed_hint("yaml.syntax#key_colon")
    elif "flow sequence" in context or "flow mapping" in context:
        hint = fixed_hint("yaml.syntax#bracket")
    elif "quoted scalar" in context:
        hint = fixed_hint("yaml.syntax#unclosed_quote")
    elif "expected <block end>" in problem or "mapping values are not allowed" in problem:
        hint = fixed_hint("yaml.syntax#indentation")
    elif "found undefined alias" in problem or "undefined alias" in problem:
        hint = fixed_hint("yaml.syntax#alias")
    else:
        hint = ""
    if context:
        return Problem.of("yaml.syntax#context", Location(name, line, col), hint, problem=problem, context=context)
    return Problem.of("yaml.syntax", Location(name, line, col), hint, problem=problem)


class _TooBig(Exception):
    pass


def _refuse_tag(node: yaml.Node, name: str, where: tuple[int, int], path: Path_) -> Problem | None:
    if node.tag.startswith("tag:yaml.org,2002:") and node.tag.rsplit(":", 1)[-1] in _SAFE_TAGS:
        return None
    if node.tag == "tag:yaml.org,2002:merge":
        return Problem.of("yaml.merge_key", Location(name, *where, "/".join(map(str, path))))
    return Problem.of("yaml.tag", Location(name, *where, "/".join(map(str, path))), tag=node.tag)


def _convert(
    node: yaml.Node,
    path: Path_,
    positions: dict[Path_, tuple[int, int]],
    problems: list[Problem],
    name: str,
    constructor: yaml.SafeLoader,
    depth: int,
    budget: list[int],
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if depth > MAX_DEPTH:
        problems.append(Problem.of("yaml.too_deep", Location(name, *positions[path], "/".join(map(str, path)))))
        return None
    refused = _refuse_tag(node, name, positions[path], path)
    if refused is not None:
        problems.append(refused)
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            refused = _refuse_tag(key_node, name, where, path)
            if refused is not None or not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    refused or Problem.of("yaml.complex_key", Location(name, *where, "/".join(map(str, path))))
                )
                continue
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, bool)) and key is not None:
                key = str(key)
            kpath = (*path, str(key))
            if key in out:
                first = positions.get(kpath, where)
                problems.append(
                    Problem.of(
                        "yaml.duplicate_key",
                        Location(name, where[0], where[1], "/".join(map(str, kpath))),
                        key=str(key),
                        line=first[0],
                    )
                )
                continue
            positions[kpath] = where
            out[key] = _convert(value_node, kpath, positions, problems, name, constructor, depth + 1, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), positions, problems, name, constructor, depth + 1, budget)
            for i, item in enumerate(node.value)
        ]
    if isinstance(node.value, str) and any("\ud800" <= ch <= "\udfff" for ch in node.value):
        problems.append(
            Problem.of("yaml.bad_character#surrogate", Location(name, *positions[path], "/".join(map(str, path))))
        )
        return None
    try:
        return constructor.construct_object(node, deep=True)
    except (ValueError, OverflowError, yaml.YAMLError):  # e.g. 2024-02-30 looks like a date but is not one
        return node.value  # the raw text: validation then says what is wrong, with this position
