"""A small evaluator of Vega expressions, so that unit tests can run an explorer's arithmetic in Python.

The explorers (``analysis.book.explorers``) compute in the browser, with ``calculate`` transforms whose
expression strings ``analysis.book.explorer_formulas`` writes. The browser tests run them in Chromium;
this module runs the same strings, taken from the emitted Vega-Lite spec, without a browser. It knows
the part of the Vega expression language those strings use: numbers, single-quoted strings,
``null``/``true``/``false``, ``datum.<field>``, parameter names, the operators ``?:``, ``||``, ``&&``,
``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``+``, ``-``, ``*``, ``/``, ``!`` and unary minus,
parentheses, and the functions ``isValid``, ``max``, ``min``, ``ceil``, ``floor``, ``pow``,
``clamp`` and ``format`` (the last returns its value as text, unformatted). Values follow
JavaScript's rules where the expressions can reach them: ``null`` counts as 0 in arithmetic, ``&&``
and ``||`` return one of their operands, and a division by zero gives an infinity or NaN. Each
expression is translated once into Python source and compiled.

``Transforms`` applies a spec's top-level ``filter``, ``calculate`` and ``lookup`` transforms, in
order, to its inline rows, with given parameter values, and returns the rows an explorer draws.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<string>'[^']*')|(?P<name>[A-Za-z_$][\w$]*)"
    r"|(?P<op>===|!==|==|!=|<=|>=|&&|\|\||[-+*/!<>?:().,%\[\]]))"
)
BINARY = {"*": 6, "/": 6, "+": 5, "-": 5, "<": 4, "<=": 4, ">": 4, ">=": 4,
          "==": 3, "!=": 3, "===": 3, "!==": 3, "&&": 2, "||": 1}
HELPER_OF = {"*": "_mul", "/": "_div", "+": "_add", "-": "_sub", "<": "_lt", "<=": "_le", ">": "_gt",
             ">=": "_ge", "==": "_eq", "===": "_eq", "!=": "_ne", "!==": "_ne"}
CONSTANTS = {"null": "None", "true": "True", "false": "False"}


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return float(value)


def _truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and (value == 0 or math.isnan(value)):
        return False
    return True


def _div(a: Any, b: Any) -> float:
    x, y = _number(a), _number(b)
    if y == 0:
        return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):
        return _text(a) + _text(b)
    return _number(a) + _number(b)


def _eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) != isinstance(b, str):
        return _number(a) == _number(b)
    return bool(a == b)


def _max(*values: Any) -> float:
    numbers = [_number(v) for v in values]
    return math.nan if any(math.isnan(v) for v in numbers) else max(numbers, default=-math.inf)


def _min(*values: Any) -> float:
    numbers = [_number(v) for v in values]
    return math.nan if any(math.isnan(v) for v in numbers) else min(numbers, default=math.inf)


def _rounded(function: Callable[[float], int]) -> Callable[[Any], float]:
    def apply(value: Any) -> float:
        number = _number(value)
        return number if math.isnan(number) or math.isinf(number) else float(function(number))
    return apply


def _pow(a: Any, b: Any) -> float:
    try:
        return math.pow(_number(a), _number(b))
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


HELPERS: dict[str, Any] = {
    "_mul": lambda a, b: _number(a) * _number(b), "_div": _div, "_add": _add,
    "_sub": lambda a, b: _number(a) - _number(b),
    "_lt": lambda a, b: _number(a) < _number(b), "_le": lambda a, b: _number(a) <= _number(b),
    "_gt": lambda a, b: _number(a) > _number(b), "_ge": lambda a, b: _number(a) >= _number(b),
    "_eq": _eq, "_ne": lambda a, b: not _eq(a, b), "_truthy": _truthy, "_neg": lambda a: -_number(a),
    "_field": lambda row, name: row.get(name),
}
FUNCTIONS: dict[str, Any] = {
    "isValid": lambda v: v is not None and not (isinstance(v, float) and math.isnan(v)),
    "max": _max, "min": _min, "ceil": _rounded(math.ceil), "floor": _rounded(math.floor), "pow": _pow,
    "clamp": lambda v, low, high: _max(low, _min(high, v)), "format": lambda v, _spec: _text(v),
}


class _Translator:
    """Recursive descent over the tokens of one expression, writing Python source as it goes."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise ValueError(f"cannot read {text[position:]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.at = 0
        self.temporaries = 0

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, found {token[1]!r}")
        self.at += 1
        return token

    def expression(self) -> str:
        condition = self.binary(1)
        if self.peek() != "?":
            return condition
        self.take("?")
        then = self.expression()
        self.take(":")
        otherwise = self.expression()
        return f"(({then}) if _truthy({condition}) else ({otherwise}))"

    def binary(self, level: int) -> str:
        left = self.unary()
        while self.peek() in BINARY and BINARY[self.peek()] >= level:
            op = self.take()[1]
            right = self.binary(BINARY[op] + 1)
            if op in ("&&", "||"):
                self.temporaries += 1
                held = f"_t{self.temporaries}"
                if op == "&&":
                    left = f"(({right}) if _truthy({held} := ({left})) else {held})"
                else:
                    left = f"({held} if _truthy({held} := ({left})) else ({right}))"
            else:
                left = f"{HELPER_OF[op]}({left}, {right})"
        return left

    def unary(self) -> str:
        if self.peek() == "!":
            self.take()
            return f"(not _truthy({self.unary()}))"
        if self.peek() == "-":
            self.take()
            return f"_neg({self.unary()})"
        return self.primary()

    def primary(self) -> str:
        kind, text = self.take()
        if text == "(":
            inner = self.expression()
            self.take(")")
            return f"({inner})"
        if kind == "number":
            return repr(float(text))
        if kind == "string":
            return repr(text[1:-1])
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in CONSTANTS:
            return CONSTANTS[text]
        if text == "datum":
            self.take(".")
            return f"_field(datum, {self.take()[1]!r})"
        if self.peek() == "(":
            self.take("(")
            arguments = []
            while self.peek() != ")":
                arguments.append(self.expression())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
            return f"_functions[{text!r}]({', '.join(arguments)})"
        return f"_params[{text!r}]"


def compile_expression(text: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
    """The Vega expression ``text`` as a function of a row (``datum``) and the parameter values."""
    translator = _Translator(text)
    source = translator.expression()
    if translator.at != len(translator.tokens):
        raise ValueError(f"unread input after {source!r}")
    code = compile(source, "<vega expression>", "eval")
    names = {**HELPERS, "_functions": FUNCTIONS}

    def evaluate(datum: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        return eval(code, {**names, "datum": datum, "_params": params})  # noqa: S307 - our own translation

    return evaluate


class Transforms:
    """A spec's top-level ``filter``, ``calculate`` and ``lookup`` transforms, compiled once; ``rows``
    applies them, in order, to the spec's inline rows with the given parameter values."""

    def __init__(self, spec: Mapping[str, Any], transforms: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.datasets = spec["datasets"]
        self.source = spec["data"]["name"]
        self.steps: list[tuple[str, Any, Any]] = []
        for transform in spec.get("transform", []) if transforms is None else transforms:
            if "filter" in transform:
                self.steps.append(("filter", compile_expression(transform["filter"]), None))
            elif "calculate" in transform:
                self.steps.append(("calculate", compile_expression(transform["calculate"]), transform["as"]))
            elif "lookup" in transform:
                found = transform["from"]
                table = {entry[found["key"]]: entry for entry in self.datasets[found["data"]["name"]]}
                self.steps.append(("lookup", (transform["lookup"], table), list(found["fields"])))
            else:
                raise ValueError(f"no evaluator for the transform {sorted(transform)}")

    def rows(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows the transforms produce with ``params`` (a fresh copy of the inline data)."""
        rows = [dict(row) for row in self.datasets[self.source]]
        for kind, step, target in self.steps:
            if kind == "filter":
                rows = [row for row in rows if _truthy(step(row, params))]
            elif kind == "calculate":
                for row in rows:
                    row[target] = step(row, params)
            else:
                key, table = step
                for row in rows:
                    match = table.get(row.get(key), {})
                    row.update({name: match.get(name) for name in target})
        return rows
