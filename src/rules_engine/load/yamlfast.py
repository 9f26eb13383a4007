"""The fast way to read a clean YAML data file (a roster): libyaml composes the nodes (PyYAML's own parser where
PyYAML was built without it), and a small builder turns them into plain data, refusing whatever the
position-keeping loader of :mod:`rules_engine.load.yamlpos` would refuse or has to locate. A refusal is not an
error: the caller reads the text again with that loader, which says what is wrong and where.

Same safety as :func:`rules_engine.load.yamlpos.load_yaml`: only the safe scalar tags (no tag that builds an
object, no ``!!binary``, ``!!set``, ``!!omap``), no merge keys, no complex or duplicate keys, nesting up to
:data:`~rules_engine.load.yamlpos.MAX_DEPTH`; an alias is the same object each time it is used (a document of
nested aliases is not expanded), and a node that contains itself is refused. The values are those of PyYAML's
safe loader (YAML 1.1: ``yes`` is true, ``2024-01-05`` a date), a value it cannot make (``2024-02-30``) refused.

It is several times faster than PyYAML's own constructor: the scalars' tags are resolved once per distinct
text, and the nodes are turned into data by one function rather than through the constructor's generators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from .yamlpos import MAX_DEPTH

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
#: The scalars other than text, made by PyYAML's safe constructors (the same values as its safe loader).
_SCALARS: dict[str, Callable[[Any, ScalarNode], Any]] = {
    f"tag:yaml.org,2002:{name}": yaml.constructor.SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float", "timestamp")
}
_CACHED = 100_000  # distinct plain scalars whose tag is remembered (ids and names are mostly distinct)

_resolve: Callable[..., str] = Resolver.resolve


class Refused(Exception):
    """The text is not one this reader makes data of: read it with the position-keeping loader."""


class _Remembering(Resolver):
    """PyYAML's resolver (which tries up to four patterns per plain scalar), remembering each text's tag."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.paths = bool(self.yaml_path_resolvers)  # (none, unless an application added some to PyYAML)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and not self.paths:
            if not implicit[0]:  # quoted: text
                return _STR
            tag = self.tags.get(value)
            if tag is None:
                tag = _resolve(self, kind, value, implicit)
                if len(self.tags) < _CACHED:
                    self.tags[value] = tag
            return tag
        return _resolve(self, kind, value, implicit)


class PurePython(Reader, Scanner, Parser, Composer, _Remembering):
    """PyYAML's own parser and composer (the same nodes as libyaml's, slower): used where libyaml is missing."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Remembering.__init__(self)


try:
    from yaml._yaml import CParser

    class _LibYAML(CParser, _Remembering):
        """libyaml's parser and composer."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Remembering.__init__(self)

    _COMPOSER: type[Any] = _LibYAML
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _COMPOSER = PurePython


def load(text: str, composer: type[Any] | None = None) -> Any:
    """The data of a YAML document, or :class:`Refused` (also for text the parser cannot parse). `composer`:
    :class:`PurePython` to use PyYAML's own parser (without it, libyaml's where PyYAML has it)."""
    loader = (composer or _COMPOSER)(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        raise Refused from None
    finally:
        loader.dispose()
    return None if node is None else _Builder().data(node, 0)


class _Builder:
    def __init__(self) -> None:
        self.made: dict[int, Any] = {}  # collections by node: an alias is the same object; None while being made

    def data(self, node: Node, depth: int) -> Any:
        kind = node.__class__
        if kind is ScalarNode:
            return _scalar(node)
        key = id(node)
        made = self.made
        if key in made:
            out = made[key]
            if out is None:  # a node inside itself
                raise Refused
            return out
        if depth >= MAX_DEPTH:
            raise Refused
        made[key] = None
        if kind is MappingNode and node.tag == _MAP:
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not ScalarNode:
                    raise Refused  # a complex key
                name = _scalar(key_node)
                if name in mapping:
                    raise Refused  # a duplicate key
                mapping[name] = self.data(value_node, depth + 1)
            out = mapping
        elif kind is SequenceNode and node.tag == _SEQ:
            out = [self.data(item, depth + 1) for item in node.value]
        else:
            raise Refused  # a tag on a collection
        made[key] = out
        return out


def _scalar(node: Any) -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    make = _SCALARS.get(tag)
    if make is None:  # another tag, a merge key (<<) or a value key (=)
        raise Refused
    try:
        return make(_CONSTRUCTOR, node)
    except (ValueError, OverflowError, yaml.YAMLError):  # 2024-02-30 looks like a date and is not one
        raise Refused from None
