"""Safe YAML loading that keeps the position of every node and refuses duplicate keys.

Only YAML's safe constructors are used: no tags that build Python objects, no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import Location, Problem

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


def load_yaml(path: Path, display: str | None = None) -> tuple[Document | None, list[Problem]]:
    """Read one YAML file; return the document or the problems that stopped it (never raises on bad text)."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem("file.unreadable", f"无法读取文件: {exc.strerror}", "cannot read file", Location(name))]
    if len(raw) > MAX_BYTES:
        return None, [Problem("file.too_large", "文件过大", f"file larger than {MAX_BYTES} bytes", Location(name))]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Problem(
                "yaml.encoding",
                "文件不是 UTF-8 编码",
                "file is not UTF-8",
                Location(name, line, col),
                "请另存为 UTF-8 save the file as UTF-8",
            )
        ]
    return parse_yaml(text, name)


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
        return None, [
            Problem(
                "yaml.bad_character",
                f"含有不允许的控制字符 {shown}",
                f"contains a control character {shown} that YAML does not allow",
                Location(name, line, col),
                "删除该字符（常见于从网页或文档复制） delete it (often pasted from a web page or document)",
            )
        ]
    except yaml.YAMLError as exc:  # pragma: no cover - defensive: other parser errors
        return None, [Problem("yaml.syntax", f"YAML 语法错误: {exc}", "YAML syntax error", Location(name, 1, 1))]
    positions: dict[Path_, tuple[int, int]] = {}
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")
    budget = [MAX_NODES]
    try:
        data = _convert(node, (), positions, problems, name, constructor, 0, budget) if node is not None else None
    except _TooBig:
        return None, [
            Problem(
                "yaml.too_large",
                f"文档展开后超过 {MAX_NODES} 个节点（别名引用过多）",
                f"more than {MAX_NODES} nodes once aliases are expanded",
                Location(name, 1, 1),
                "减少锚点/别名的嵌套引用 reduce nested anchors and aliases",
            )
        ]
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
                return Problem(
                    "yaml.syntax",
                    "YAML 语法错误：引号没有闭合",
                    "YAML syntax error: a quote is not closed",
                    Location(name, back, code.rfind(quote) + 1),
                    f"在这一行补上另一个 {quote} close the {quote} on this line",
                )
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here or "tab" in problem:
        hint = "YAML 不允许用 Tab 缩进，请改用空格 use spaces, not tabs, for indentation"
    elif "：" in here:
        hint = "请使用半角冒号 : 而非全角冒号 ： use an ASCII colon ':' instead of '：'"
    elif "could not find expected ':'" in problem:
        hint = "键后须有冒号和空格，如 severity: high a key needs ': ' after it, e.g. severity: high"
    elif "flow sequence" in context or "flow mapping" in context:
        hint = "方括号 [ ] 或花括号 { } 没有闭合 a [ or { is not closed with ] or }"
    elif "quoted scalar" in context:
        hint = "引号 \" 或 ' 没有闭合 a quote (\" or ') is not closed"
    elif "expected <block end>" in problem or "mapping values are not allowed" in problem:
        hint = "缩进不一致：同一层级的键应左对齐 inconsistent indentation: keys of one level line up"
    elif "found undefined alias" in problem or "undefined alias" in problem:
        hint = "引用的锚点（&名称）未定义 the alias refers to an anchor (&name) that is not defined"
    else:
        hint = ""
    return Problem(
        "yaml.syntax",
        f"YAML 语法错误：{problem}" + (f"（{context}）" if context else ""),
        f"YAML syntax error: {problem}" + (f" ({context})" if context else ""),
        Location(name, line, col),
        hint,
    )


class _TooBig(Exception):
    pass


def _refuse_tag(node: yaml.Node, name: str, where: tuple[int, int], path: Path_) -> Problem | None:
    if node.tag.startswith("tag:yaml.org,2002:") and node.tag.rsplit(":", 1)[-1] in _SAFE_TAGS:
        return None
    if node.tag == "tag:yaml.org,2002:merge":
        return Problem(
            "yaml.merge_key",
            "不支持 YAML 合并键 <<",
            "YAML merge keys (<<) are not supported",
            Location(name, *where, "/".join(map(str, path))),
            "请直接写出各个键，或用锚点引用整个值 write the keys out, or alias a whole value",
        )
    return Problem(
        "yaml.tag",
        f"不允许使用 YAML 标签 {node.tag}",
        f"YAML tag {node.tag} is not allowed (rule files never build objects or run code)",
        Location(name, *where, "/".join(map(str, path))),
    )


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
        problems.append(
            Problem(
                "yaml.too_deep",
                "嵌套过深",
                "nesting too deep",
                Location(name, *positions[path], "/".join(map(str, path))),
            )
        )
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
                    refused
                    or Problem(
                        "yaml.complex_key",
                        "键必须是简单值",
                        "a key must be a plain value",
                        Location(name, *where, "/".join(map(str, path))),
                    )
                )
                continue
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, bool)) and key is not None:
                key = str(key)
            kpath = (*path, str(key))
            if key in out:
                first = positions.get(kpath, where)
                problems.append(
                    Problem(
                        "yaml.duplicate_key",
                        f"重复的键 '{key}'（首次出现在第 {first[0]} 行）",
                        f"duplicate key '{key}' (first at line {first[0]})",
                        Location(name, where[0], where[1], "/".join(map(str, kpath))),
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
            Problem(
                "yaml.bad_character",
                "含有无效的代理字符（\\ud800-\\udfff）",
                "contains a lone surrogate (\\ud800-\\udfff)",
                Location(name, *positions[path], "/".join(map(str, path))),
                "删除该转义 remove the escape",
            )
        )
        return None
    try:
        return constructor.construct_object(node, deep=True)
    except (ValueError, OverflowError, yaml.YAMLError):  # e.g. 2024-02-30 looks like a date but is not one
        return node.value  # the raw text: validation then says what is wrong, with this position
