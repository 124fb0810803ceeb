"""PromQL to a small syntax tree: a tokenizer and a recursive-descent parser.

Enough of the language for rules and dashboard queries (selectors, ranges, subqueries, offset and
@, functions, aggregations with by/without before or after, binary operators with bool, on/ignoring
and group_left/right, strings with any characters) and nothing more: it reads, it does not
evaluate. Grafana variables ($__rate_interval, ${route}) are accepted where a duration goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

AGGREGATORS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk"}
    | {"quantile", "limitk", "limit_ratio"}
)
PARAMETRIC_AGGREGATORS = frozenset({"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"})
COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
# Binding power: higher binds tighter; "^" is the only right-associative operator.
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **dict.fromkeys(COMPARISONS, 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_KEYWORD_OPERATORS = frozenset({"or", "and", "unless", "atan2"})


class PromQLSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position})")
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # number | duration | string | ident | variable | op | eof
    text: str
    start: int
    end: int


_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<variable>\$\{[^}]*\}|\$[A-Za-z_]\w*)
  | (?P<duration>(?:\d+(?:ms|[ywdhms]))+(?![\w.]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<ident>[A-Za-z_][\w:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^@=<>(){}\[\],:])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise PromQLSyntaxError(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), match.start(), match.end()))
        position = match.end()
    tokens.append(Token("eof", "", len(text), len(text)))
    return tokens


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    if literal[0] == "`":
        return body
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


@dataclass
class Node:
    start: int
    end: int


@dataclass
class NumberLiteral(Node):
    value: float


@dataclass
class StringLiteral(Node):
    value: str


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str


@dataclass
class VectorSelector(Node):
    name: str | None
    matchers: list[Matcher]
    range: str | None = None  # the window text of a range selector ("5m", "$__rate_interval")
    offset: str | None = None


@dataclass
class Subquery(Node):
    expr: Node
    range: str
    step: str | None
    offset: str | None = None


@dataclass
class Call(Node):
    func: str
    args: list[Node]


@dataclass
class Aggregation(Node):
    op: str
    expr: Node
    param: Node | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False
    grouped: bool = False  # a by/without clause was written (an empty by () still groups)


@dataclass
class Unary(Node):
    op: str
    expr: Node


@dataclass
class Binary(Node):
    op: str
    lhs: Node
    rhs: Node
    return_bool: bool = False
    matching: str | None = None  # on | ignoring
    matching_labels: list[str] = field(default_factory=list)
    group_side: str | None = None  # group_left | group_right
    include_labels: list[str] = field(default_factory=list)


@dataclass
class Paren(Node):
    expr: Node


def children(node: Node) -> list[Node]:
    if isinstance(node, Subquery | Unary | Paren):
        return [node.expr]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Aggregation):
        return [node.param, node.expr] if node.param is not None else [node.expr]
    if isinstance(node, Binary):
        return [node.lhs, node.rhs]
    return []


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before their children, left to right."""
    yield node
    for child in children(node):
        yield from walk(child)


def unwrap(node: Node) -> Node:
    """The node inside any number of parentheses."""
    while isinstance(node, Paren):
        node = node.expr
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "ident") and token.text.lower() == text

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.kind not in ("op", "ident") or token.text.lower() != text:
            raise PromQLSyntaxError(
                f"expected {text!r}, found {token.text or 'end of expression'!r}", token.start
            )
        return token

    def parse(self) -> Node:
        node = self.expression(0)
        token = self.peek()
        if token.kind != "eof":
            raise PromQLSyntaxError(f"unexpected {token.text!r}", token.start)
        return node

    def binary_operator(self) -> str | None:
        token = self.peek()
        text = token.text.lower()
        if (token.kind == "op" and text in _PRECEDENCE) or (
            token.kind == "ident" and text in _KEYWORD_OPERATORS
        ):
            return text
        return None

    def expression(self, min_precedence: int) -> Node:
        lhs = self.unary()
        while (op := self.binary_operator()) is not None and _PRECEDENCE[op] >= min_precedence:
            self.next()
            modifiers = self.modifiers(op)
            precedence = _PRECEDENCE[op]
            rhs = self.expression(precedence if op == "^" else precedence + 1)
            lhs = Binary(lhs.start, rhs.end, op, lhs, rhs, **modifiers)
        return lhs

    def modifiers(self, op: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.at("bool"):
            if op not in COMPARISONS:
                raise PromQLSyntaxError("bool only goes with a comparison", self.peek().start)
            self.next()
            found["return_bool"] = True
        if self.at("on") or self.at("ignoring"):
            found["matching"] = self.next().text.lower()
            found["matching_labels"] = self.label_list()
        if self.at("group_left") or self.at("group_right"):
            found["group_side"] = self.next().text.lower()
            if self.at("("):
                found["include_labels"] = self.label_list()
        return found

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in "+-":
            self.next()
            operand = self.expression(_PRECEDENCE["^"])  # -a^b is -(a^b), -a*b is (-a)*b
            return Unary(token.start, operand.end, token.text, operand)
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("["):
                node = self.range_or_subquery(node)
            elif self.at("offset"):
                self.next()
                sign = self.next().text if self.at("-") else ""
                duration = self.duration()
                self.set_offset(node, sign + duration.text, duration.end)
            elif self.at("@"):
                self.next()
                token = self.next()
                if token.kind == "ident" and token.text.lower() in ("start", "end"):
                    self.expect("(")
                    token = self.expect(")")
                elif token.kind != "number":
                    raise PromQLSyntaxError("expected a timestamp, start() or end() after @", token.start)
                node.end = token.end
            else:
                return node

    @staticmethod
    def set_offset(node: Node, offset: str, end: int) -> None:
        if not isinstance(node, VectorSelector | Subquery):
            raise PromQLSyntaxError("offset applies to a selector or a subquery", node.start)
        node.offset = offset
        node.end = end

    def range_or_subquery(self, node: Node) -> Node:
        self.expect("[")
        window = self.duration().text
        if self.at(":"):
            self.next()
            step = None if self.at("]") else self.duration().text
            end = self.expect("]").end
            return Subquery(node.start, end, node, window, step)
        end = self.expect("]").end
        if not isinstance(node, VectorSelector) or node.range is not None or node.offset is not None:
            raise PromQLSyntaxError("a range [..] applies to a plain selector (use [range:step])", node.start)
        node.range = window
        node.end = end
        return node

    def duration(self) -> Token:
        token = self.next()
        if token.kind not in ("duration", "variable"):
            raise PromQLSyntaxError(f"expected a duration such as 5m, found {token.text!r}", token.start)
        return token

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text == "(":
            self.next()
            inner = self.expression(0)
            return Paren(token.start, self.expect(")").end, inner)
        if token.kind == "op" and token.text == "{":
            return self.selector(None, token.start)
        if token.kind == "number":
            self.next()
            value = float(int(token.text, 16)) if token.text[:2].lower() == "0x" else float(token.text)
            return NumberLiteral(token.start, token.end, value)
        if token.kind == "string":
            self.next()
            return StringLiteral(token.start, token.end, _unquote(token.text))
        if token.kind == "ident":
            return self.identifier()
        raise PromQLSyntaxError(f"unexpected {token.text or 'end of expression'!r}", token.start)

    def identifier(self) -> Node:
        token = self.next()
        name = token.text
        if name.lower() in AGGREGATORS and (self.at("(") or self.at("by") or self.at("without")):
            return self.aggregation(token)
        if self.at("("):
            return self.call(token)
        if name.lower() in ("inf", "nan") and not self.at("{"):
            return NumberLiteral(token.start, token.end, float(name))
        return self.selector(name, token.start, token.end)

    def call(self, name: Token) -> Call:
        self.expect("(")
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.expression(0))
            if not self.at(")"):
                self.expect(",")
        return Call(name.start, self.expect(")").end, name.text, args)

    def aggregation(self, name: Token) -> Aggregation:
        op = name.text.lower()
        grouping = self.grouping()
        self.expect("(")
        param = None
        if op in PARAMETRIC_AGGREGATORS:
            param = self.expression(0)
            self.expect(",")
        expr = self.expression(0)
        end = self.expect(")").end
        if grouping is None and (grouping := self.grouping()) is not None:
            end = self.tokens[self.index - 1].end
        without, labels = grouping or (False, [])
        return Aggregation(name.start, end, op, expr, param, labels, without, grouping is not None)

    def grouping(self) -> tuple[bool, list[str]] | None:
        """(without?, labels) of a by/without clause, or None when there is none here."""
        if not (self.at("by") or self.at("without")):
            return None
        without = self.next().text.lower() == "without"
        return without, self.label_list()

    def label_list(self) -> list[str]:
        self.expect("(")
        labels: list[str] = []
        while not self.at(")"):
            token = self.next()
            if token.kind != "ident":
                raise PromQLSyntaxError(f"expected a label name, found {token.text!r}", token.start)
            labels.append(token.text)
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return labels

    def selector(self, name: str | None, start: int, end: int = 0) -> VectorSelector:
        matchers: list[Matcher] = []
        if self.at("{"):
            self.next()
            while not self.at("}"):
                label = self.next()
                if label.kind != "ident":
                    raise PromQLSyntaxError(f"expected a label name, found {label.text!r}", label.start)
                op = self.next()
                if op.text not in ("=", "!=", "=~", "!~"):
                    raise PromQLSyntaxError(f"expected =, !=, =~ or !~ after {label.text}", op.start)
                value = self.next()
                if value.kind != "string":
                    raise PromQLSyntaxError(f"expected a quoted value for {label.text}", value.start)
                matchers.append(Matcher(label.text, op.text, _unquote(value.text)))
                if not self.at("}"):
                    self.expect(",")
            end = self.expect("}").end
        if name is None and not matchers:
            raise PromQLSyntaxError("a selector needs a metric name or a matcher", start)
        return VectorSelector(start, end, name, matchers)


def parse(text: str) -> Node:
    """The syntax tree of one PromQL expression; PromQLSyntaxError says where it is wrong."""
    return _Parser(text).parse()
