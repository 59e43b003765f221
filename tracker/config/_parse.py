"""`parse`: strict decoding of one YAML document into the schema, collecting every problem.

Mirrors gopkg.in/yaml.v3 with KnownFields: unknown keys, duplicate keys and type mismatches are all reported
(document order, with 1-based lines) in one ParseError whose text is `yaml: unmarshal errors:` followed by one
indented line per problem. No defaults are applied and nothing is validated here.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import IO, Any

import yaml

from tracker.config._errors import ParseError
from tracker.config._schema import Config, FederationPeer, Uint64, zero_value
from tracker.config._yaml12 import (
    FLOAT_TAG,
    INT_TAG,
    MAX_NODES,
    NULL_TAG,
    compose_first_document,
    float_value,
    int_value,
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1


@dataclass
class ParseStats:
    """What the file itself set: top-level sections present and leaf fields given (for `config validate`)."""

    sections: int = 0
    fields: int = 0


_UNION_ORIGINS = (typing.Union, types.UnionType)


def _optional_inner(annotation: Any) -> Any:
    """`X` of an `X | None` annotation."""
    return next(arg for arg in typing.get_args(annotation) if arg is not type(None))


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


def _go_type_name(annotation: Any) -> str:
    if annotation is int:
        return "int"
    if annotation is float:
        return "float64"
    if annotation is str:
        return "string"
    if annotation == Uint64:
        return "uint64"
    origin = typing.get_origin(annotation)
    if origin in _UNION_ORIGINS:
        return _go_type_name(_optional_inner(annotation))
    if origin is list:
        return "[]" + _go_type_name(typing.get_args(annotation)[0])
    if origin is dict:
        key_type, value_type = typing.get_args(annotation)
        return f"map[{_go_type_name(key_type)}]{_go_type_name(value_type)}"
    if isinstance(annotation, type):
        return f"config.{annotation.__name__}"
    return str(annotation)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class ExcessiveAliasingError(Exception):
    """Decoding visited more than MAX_NODES nodes: aliases re-used one large collection many times."""


class _Decoder:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.stats = ParseStats()
        self._visits_left = MAX_NODES  # aliases make the tree a graph: bound the walk, not just the nodes

    def _visit(self, count: int = 1) -> None:
        self._visits_left -= count
        if self._visits_left < 0:
            raise ExcessiveAliasingError

    def type_error(self, node: yaml.Node, annotation: Any) -> None:
        value = ""
        if isinstance(node, yaml.ScalarNode):  # yaml.v3 quotes scalars, cut to 7 chars + "..." past 10
            text = node.value
            value = f" `{text[:7]}...`" if len(text) > 10 else f" `{text}`"
        self.problems.append(
            f"line {_line(node)}: cannot unmarshal {_short_tag(node.tag)}{value} "
            f"into {_go_type_name(annotation)}"
        )

    def decode(self, node: yaml.Node, annotation: Any, current: Any) -> Any:
        """The value of `node` as `annotation`; on a type problem, record it and return `current`."""
        self._visit()
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            return self._zero(annotation)
        hints = _hints_of(annotation)
        if hints is not None:
            return self._decode_struct(node, annotation, hints, current)
        origin = typing.get_origin(annotation)
        if origin in _UNION_ORIGINS:
            return self.decode(node, _optional_inner(annotation), current)
        if origin is list:
            return self._decode_list(node, annotation, current)
        if origin is dict:
            return self._decode_map(node, annotation, current)
        return self._decode_scalar(node, annotation, current)

    def _zero(self, annotation: Any) -> Any:
        if _hints_of(annotation) is not None:
            return zero_value(annotation)
        origin = typing.get_origin(annotation)
        if origin is dict:
            return {}
        if annotation is str:
            return ""
        if annotation is float:
            return 0.0
        if annotation is int or annotation == Uint64:
            return 0
        return None

    def _decode_scalar(self, node: yaml.Node, annotation: Any, current: Any) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.type_error(node, annotation)
            return current
        if annotation is str:
            return node.value
        tag = node.tag
        try:
            if annotation is float:
                if tag in (INT_TAG, FLOAT_TAG):
                    return float_value(node.value)
            elif annotation is int or annotation == Uint64:
                low, high = (0, _UINT64_MAX) if annotation == Uint64 else (_INT64_MIN, _INT64_MAX)
                number: int | None = None
                if tag == INT_TAG:
                    number = int_value(node.value)
                elif tag == FLOAT_TAG:
                    as_float = float_value(node.value)
                    if math.isfinite(as_float):
                        number = math.trunc(as_float)
                if number is not None and low <= number <= high:
                    return number
        except ValueError:
            pass
        self.type_error(node, annotation)
        return current

    def _decode_list(self, node: yaml.Node, annotation: Any, current: Any) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            self.type_error(node, annotation)
            return current
        (item_type,) = typing.get_args(annotation)
        items = []
        for item_node in node.value:
            items.append(self.decode(item_node, item_type, self._zero(item_type)))
        return items

    def _mapping_pairs(self, node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
        """(key text, key node, value node) in document order, or None after reporting duplicate keys."""
        self._visit(len(node.value))
        pairs: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: dict[str, yaml.Node] = {}
        duplicates = False
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(f"line {_line(key_node)}: mapping key must be a scalar")
                duplicates = True
                continue
            if key in seen:
                self.problems.append(
                    f"line {_line(key_node)}: mapping key {json.dumps(key, ensure_ascii=False)} "
                    f"already defined at line {_line(seen[key])}"
                )
                duplicates = True
                continue
            seen[key] = key_node
            pairs.append((key, key_node, value_node))
        return None if duplicates else pairs

    def _decode_struct(self, node: yaml.Node, cls: type, hints: dict[str, Any], current: Any) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.type_error(node, cls)
            return current
        pairs = self._mapping_pairs(node)
        if pairs is None:
            return current
        for key, key_node, value_node in pairs:
            if key not in hints:
                self.problems.append(
                    f"line {_line(key_node)}: field {key} not found in type {_go_type_name(cls)}"
                )
                continue
            annotation = hints[key]
            if _hints_of(annotation) is not None:
                if cls is Config:
                    self.stats.sections += 1
            elif typing.get_origin(annotation) is not dict and annotation != list[FederationPeer] | None:
                self.stats.fields += 1  # a leaf: scalar or list of strings
            setattr(current, key, self.decode(value_node, annotation, getattr(current, key)))
        return current

    def _decode_map(self, node: yaml.Node, annotation: Any, current: Any) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.type_error(node, annotation)
            return current
        pairs = self._mapping_pairs(node)
        if pairs is None:
            return current
        _, value_type = typing.get_args(annotation)
        result = {}
        for key, _key_node, value_node in pairs:
            result[key] = self.decode(value_node, value_type, self._zero(value_type))
        return result


_HINTS_CACHE: dict[type, dict[str, Any]] = {}


def _hints_of(annotation: Any) -> dict[str, Any] | None:
    """Field name → type annotation for a schema dataclass, None for anything else."""
    if not (isinstance(annotation, type) and dataclasses.is_dataclass(annotation)):
        return None
    hints = _HINTS_CACHE.get(annotation)
    if hints is None:
        hints = typing.get_type_hints(annotation, include_extras=True)
        _HINTS_CACHE[annotation] = hints
    return hints


def _read_text(source: str | bytes | IO[str] | IO[bytes]) -> str:
    """The document as text: bytes are UTF-8, or UTF-16 when they start with its byte-order mark."""
    content = source if isinstance(source, str | bytes) else source.read()
    if isinstance(content, str):
        return content
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16")
    return content.decode("utf-8")


def parse_with_stats(
    source: str | bytes | IO[str] | IO[bytes], path: str | None = None
) -> tuple[Config, ParseStats]:
    """Like `parse`, also returning what the file set (sections present, leaf fields given)."""
    try:
        root = compose_first_document(_read_text(source))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        detail = f"yaml: line {mark.line + 1}: {problem}" if mark is not None else f"yaml: {problem}"
        raise ParseError(detail, path) from None
    except yaml.YAMLError as error:
        raise ParseError(f"yaml: {error}".replace("\n", " "), path) from None
    except UnicodeDecodeError as error:
        raise ParseError(f"yaml: input is not valid UTF-8 ({error.reason})", path) from None
    except RecursionError:
        raise ParseError("yaml: document is nested too deeply", path) from None
    if root is None:
        raise ParseError("EOF", path)
    decoder = _Decoder()
    config = zero_value(Config)
    try:
        config = decoder.decode(root, Config, config)
    except RecursionError:
        raise ParseError("yaml: document is nested too deeply", path) from None
    except ExcessiveAliasingError:
        raise ParseError("yaml: document contains excessive aliasing", path) from None
    if isinstance(root, yaml.ScalarNode) and root.tag == NULL_TAG:
        config = zero_value(Config)
    if decoder.problems:
        detail = "yaml: unmarshal errors:\n" + "\n".join(f"  {problem}" for problem in decoder.problems)
        raise ParseError(detail, path, decoder.problems)
    return config, decoder.stats


def parse(source: str | bytes | IO[str] | IO[bytes], path: str | None = None) -> Config:
    """Decode one YAML document (text, bytes or an open stream) into a Config with no defaults applied.
    Raises ParseError listing every unknown key, duplicate key and type mismatch; an empty document is
    a ParseError (`EOF`)."""
    return parse_with_stats(source, path)[0]


__all__ = ["ParseStats", "parse", "parse_with_stats"]
