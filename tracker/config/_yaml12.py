"""A PyYAML loader with YAML 1.2 core-schema scalar resolution (what the Go tracker's yaml.v3 does).

Booleans are only true/True/TRUE/false/False/FALSE (so yes/no/on/off stay strings), integers are decimal,
0o octal or 0x hex, there is no sexagesimal (`1:30` is a string), no timestamps and no merge keys. We only
compose nodes with it; the schema walker in `_parse` turns nodes into values.
"""

from __future__ import annotations

import re

import yaml

BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"

_INT_PATTERN = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_PATTERN = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class Yaml12Resolver(yaml.resolver.Resolver):
    """Implicit resolvers of the YAML 1.2 core schema only."""

    yaml_implicit_resolvers: dict = {}  # noqa: RUF012 - PyYAML's class-level registry, reset here


Yaml12Resolver.add_implicit_resolver(
    BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
Yaml12Resolver.add_implicit_resolver(INT_TAG, _INT_PATTERN, list("-+0123456789"))
Yaml12Resolver.add_implicit_resolver(FLOAT_TAG, _FLOAT_PATTERN, list("-+0123456789."))
Yaml12Resolver.add_implicit_resolver(NULL_TAG, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


MAX_NODES = 50_000


class DocumentTooLargeError(yaml.YAMLError):
    """The document has more than MAX_NODES nodes (every scalar, collection and alias counts). The budget
    bounds the time and memory of a parse whatever the input (a flow mapping of 100,000 keys, a list of
    aliases); a real config has a few hundred nodes."""


class _BudgetComposer(yaml.composer.Composer):
    """PyYAML's composer, refusing a document past MAX_NODES nodes."""

    def __init__(self) -> None:
        yaml.composer.Composer.__init__(self)
        self._nodes_left = MAX_NODES

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        self._nodes_left -= 1
        if self._nodes_left < 0:
            line = self.peek_event().start_mark.line + 1
            raise DocumentTooLargeError(f"line {line}: document has more than {MAX_NODES} nodes")
        return yaml.composer.Composer.compose_node(self, parent, index)


class Yaml12Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _BudgetComposer,
    Yaml12Resolver,
):
    """Composes nodes with YAML 1.2 core-schema tags, pure Python (used when PyYAML lacks libyaml)."""

    def __init__(self, stream: str | bytes) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _BudgetComposer.__init__(self)
        Yaml12Resolver.__init__(self)


_CParser = getattr(yaml.cyaml, "CParser", None) if yaml.__with_libyaml__ else None


if _CParser is not None:

    class FastYaml12Loader(_BudgetComposer, _CParser, Yaml12Resolver):  # type: ignore[misc, valid-type]
        """libyaml's scanner and parser (about 20x faster than PyYAML's pure-Python ones: a 1 MiB flow
        mapping took 9 s there), our budgeted composer and resolver on its events. libyaml is the C
        library the Go tracker's yaml.v3 was ported from, so line marks and error texts agree with it."""

        def __init__(self, stream: str | bytes) -> None:
            _CParser.__init__(self, stream)
            _BudgetComposer.__init__(self)
            Yaml12Resolver.__init__(self)

    _Loader: type = FastYaml12Loader
else:  # pragma: no cover - every supported wheel of PyYAML bundles libyaml
    _Loader = Yaml12Loader


MAX_FLOW_NESTING = 100


class NestingTooDeepError(yaml.YAMLError):
    """The document opens more than MAX_FLOW_NESTING flow collections without closing them. PyYAML's scanner
    is quadratic in that depth, so such input is refused before parsing; no real config comes close (the
    schema is five levels deep). Brackets inside quoted strings count too — harmless at this limit."""


def _check_flow_nesting(text: str) -> None:
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_FLOW_NESTING:
                line = text.count("\n", 0, match.start()) + 1
                raise NestingTooDeepError(
                    f"line {line}: collections nested more than {MAX_FLOW_NESTING} levels deep"
                )
        elif depth:
            depth -= 1


_BRACKETS = re.compile(r"[\[\]{}]")


def compose_first_document(text: str) -> yaml.Node | None:
    """The node tree of the first document (later documents are ignored), or None for an empty stream."""
    _check_flow_nesting(text)
    loader = _Loader(text)
    try:
        if not loader.check_node():
            return None
        return loader.get_node()
    finally:
        loader.dispose()


def int_value(text: str) -> int:
    """The value of a core-schema int scalar."""
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def float_value(text: str) -> float:
    """The value of a core-schema float (or int) scalar. Raises ValueError for an integer too large for a
    float64 (a float literal past the range, like `1e400`, is infinity, as Python and the schema say)."""
    lowered = text.lower()
    if lowered in (".inf", "+.inf"):
        return float("inf")
    if lowered == "-.inf":
        return float("-inf")
    if lowered == ".nan":
        return float("nan")
    if _INT_PATTERN.match(text):
        try:
            return float(int_value(text))
        except OverflowError:  # past float64's range: a type problem, as in Go (not infinity)
            raise ValueError(f"integer {text[:10]}... is out of float64 range") from None
    return float(text)
