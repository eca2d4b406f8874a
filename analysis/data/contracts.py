"""The tables' contracts, read from the YAML sidecars beside each CSV in ``data/``.

A sidecar ``<table>.meta.yml`` names the table, describes its origin (title, producer, URL, date
accessed, licence, citation), its primary key, and every column: type, unit, description, whether
it may be empty, and its checks (pattern, allowed values, inclusive and exclusive bounds, maximum
length, reference to another table), and for the table a maximum number of rows (``max_rows``) and
values that must appear (``must_include``).
``data/README.md`` documents the format; this module turns a sidecar into a typed ``TableSchema``
and rejects a malformed sidecar with a message naming the file and the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from analysis.data.safety import MAX_YAML_BYTES, compile_pattern, load_yaml
from analysis.errors import InputError

COLUMN_TYPES = ("string", "integer", "number", "boolean", "date", "list")
ORIGIN_FIELDS = ("title", "producer", "url", "date_accessed", "licence", "citation")
LIST_SEPARATOR = ";"
SOURCES_TABLE = "sources"
SOURCE_COLUMN = "source_ids"
SIDECAR_SUFFIX = ".meta.yml"
IDENTIFIER = r"^[a-z][a-z0-9_]{0,62}$"
TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
SHORT = {"type": "string", "minLength": 1, "maxLength": 300}
UNIT = {"type": ["string", "null"], "maxLength": 100}
SCALAR = {"type": ["string", "number", "boolean"], "maxLength": 300}
BOUND = {"type": ["number", "string"], "maxLength": 10}
MAX_ROWS = 1_000_000
MAX_FIELD_CHARS = 10_000
CONTRACT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A table's contract (<table>.meta.yml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "origin", "primary_key", "columns"],
    "properties": {
        "name": {"type": "string", "pattern": IDENTIFIER},
        "title": SHORT,
        "description": TEXT,
        "origin": {
            "type": "object",
            "additionalProperties": False,
            "required": list(ORIGIN_FIELDS),
            "properties": {f: (TEXT if f == "citation" else SHORT) for f in ORIGIN_FIELDS},
        },
        "primary_key": {"type": "array", "minItems": 1, "maxItems": 8, "uniqueItems": True,
                        "items": {"type": "string", "pattern": IDENTIFIER}},
        "max_rows": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS},
        "must_include": {
            "type": "object", "minProperties": 1, "maxProperties": 20,
            "propertyNames": {"pattern": IDENTIFIER},
            "additionalProperties": {"type": "array", "minItems": 1, "maxItems": 100, "uniqueItems": True,
                                     "items": SCALAR},
        },
        "columns": {
            "type": "array", "minItems": 1, "maxItems": 200,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "type", "description"],
                "properties": {
                    "name": {"type": "string", "pattern": IDENTIFIER},
                    "type": {"enum": list(COLUMN_TYPES)},
                    "unit": UNIT,
                    "description": TEXT,
                    "required": {"type": "boolean"},
                    "pattern": {"type": "string", "minLength": 1, "maxLength": 200},
                    "allowed": {"type": "array", "minItems": 1, "maxItems": 1000, "items": SCALAR},
                    "min": BOUND,
                    "max": BOUND,
                    "exclusive_minimum": BOUND,
                    "exclusive_maximum": BOUND,
                    "max_length": {"type": "integer", "minimum": 1, "maximum": MAX_FIELD_CHARS},
                    "references": {"type": "string", "maxLength": 127,
                                   "pattern": r"^[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$"},
                },
            },
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(CONTRACT_SCHEMA)


class SchemaError(InputError, ValueError):
    """A sidecar that does not describe a table properly."""


@dataclass(frozen=True)
class Column:
    """One column's contract."""

    name: str
    type: str
    description: str
    unit: str | None = None
    required: bool = True
    pattern: str | None = None
    allowed: tuple[Any, ...] | None = None
    min: float | dt.date | None = None
    max: float | dt.date | None = None
    references: tuple[str, str] | None = None
    exclusive_minimum: float | dt.date | None = None
    exclusive_maximum: float | dt.date | None = None
    max_length: int = MAX_FIELD_CHARS

    @property
    def sql_type(self) -> str:
        return {
            "string": "VARCHAR",
            "integer": "BIGINT",
            "number": "DOUBLE",
            "boolean": "BOOLEAN",
            "date": "DATE",
            "list": "VARCHAR[]",
        }[self.type]


@dataclass(frozen=True)
class Origin:
    """Where a table as a whole comes from."""

    title: str
    producer: str
    url: str
    date_accessed: str
    licence: str
    citation: str


@dataclass(frozen=True)
class TableSchema:
    """A table's contract: name, origin, key and columns."""

    name: str
    title: str
    description: str
    origin: Origin
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    path: Path = field(compare=False)
    max_rows: int = MAX_ROWS
    must_include: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _as_bound(value: Any, ctype: str, where: str) -> float | dt.date | None:
    if value is None:
        return None
    if ctype == "date":
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise SchemaError(f"{where}: bound {value!r} is not a YYYY-MM-DD date") from exc
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{where}: bound {value!r} is not a number")
    return float(value)


def _column(raw: Any, where: str) -> Column:
    if not isinstance(raw, dict):
        raise SchemaError(f"{where}: each column must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{where}: a column has no name")
    where = f"{where}, column {name!r}"
    ctype = raw.get("type")
    if ctype not in COLUMN_TYPES:
        raise SchemaError(f"{where}: type must be one of {', '.join(COLUMN_TYPES)}, not {ctype!r}")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise SchemaError(f"{where}: a description is required")
    unknown = set(raw) - {
        "name", "type", "unit", "description", "required", "pattern", "allowed", "min", "max",
        "references", "exclusive_minimum", "exclusive_maximum", "max_length",
    }
    if unknown:
        raise SchemaError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            raise SchemaError(f"{where}: {exc}") from None
    allowed = raw.get("allowed")
    references = raw.get("references")
    ref: tuple[str, str] | None = None
    if references is not None:
        parts = str(references).split(".")
        if len(parts) != 2 or not all(parts):
            raise SchemaError(f"{where}: references must read table.column, not {references!r}")
        ref = (parts[0], parts[1])
    unit = raw.get("unit")
    if raw.get("max_length") is not None and ctype not in ("string", "list"):
        raise SchemaError(f"{where}: max_length applies to string and list columns only")
    return Column(
        name=name,
        type=ctype,
        description=description.strip(),
        unit=None if unit is None else str(unit),
        required=bool(raw.get("required", True)),
        pattern=pattern,
        allowed=None if allowed is None else tuple(allowed),
        min=_as_bound(raw.get("min"), ctype, where),
        max=_as_bound(raw.get("max"), ctype, where),
        references=ref,
        exclusive_minimum=_as_bound(raw.get("exclusive_minimum"), ctype, where),
        exclusive_maximum=_as_bound(raw.get("exclusive_maximum"), ctype, where),
        max_length=int(raw.get("max_length") or MAX_FIELD_CHARS),
    )


def load_schema(path: Path) -> TableSchema:
    """Read one sidecar; raise ``SchemaError`` naming the file and field when it is malformed."""
    where = str(path)
    raw = _read_sidecar(path, where)
    _check_against_contract_schema(raw, where)
    name = raw.get("name")
    expected = path.name[: -len(SIDECAR_SUFFIX)]
    if name != expected:
        raise SchemaError(f"{where}: name is {name!r} but the file says {expected!r}")
    origin = _origin(raw.get("origin"), where)
    columns = _columns(raw.get("columns"), where)
    names = [c.name for c in columns]
    key = _primary_key(raw.get("primary_key"), names, where)
    if name != SOURCES_TABLE and SOURCE_COLUMN not in names:
        raise SchemaError(f"{where}: every table needs a {SOURCE_COLUMN!r} column")
    must_include = _must_include(raw.get("must_include") or {}, names, where)
    return TableSchema(
        name=name,
        title=str(raw.get("title") or name),
        description=str(raw.get("description") or "").strip(),
        origin=origin,
        primary_key=key,
        columns=columns,
        path=path,
        max_rows=int(raw.get("max_rows") or MAX_ROWS),
        must_include=must_include,
    )


def _read_sidecar(path: Path, where: str) -> dict[str, Any]:
    """The sidecar's YAML as a mapping (dates as ISO strings): a regular file of at most
    ``MAX_YAML_BYTES`` holding a mapping, or ``SchemaError``."""
    try:
        if path.is_symlink() or not path.is_file():
            raise ValueError("a contract must be a regular file")
        if path.stat().st_size > MAX_YAML_BYTES:
            raise ValueError(f"the file has {path.stat().st_size} bytes; a contract may have at most {MAX_YAML_BYTES}")
        raw = _plain(load_yaml(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{where}: {exc}") from None
    if not isinstance(raw, dict):
        raise SchemaError(f"{where}: a sidecar must be a mapping")
    return raw


def _check_against_contract_schema(raw: dict[str, Any], where: str) -> None:
    """``SchemaError`` naming the first field (in path order) that breaks ``CONTRACT_SCHEMA``, and how
    many more problems there are."""
    errors = sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    first = errors[0]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path).lstrip(".")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if first.validator == "required":
        missing = [f for f in first.validator_value if f not in first.instance]
        raise SchemaError(f"{where}: {field or 'the contract'} lacks {', '.join(missing)}{more}")
    message = first.message if len(first.message) <= 300 else first.message[:297] + "..."
    raise SchemaError(f"{where}: field {field or '(top level)'}: {message}{more}")


def _origin(origin_raw: Any, where: str) -> Origin:
    """The table's origin: a mapping with every field of ``ORIGIN_FIELDS`` non-empty."""
    if not isinstance(origin_raw, dict):
        raise SchemaError(f"{where}: an origin mapping is required")
    missing = [f for f in ORIGIN_FIELDS if not str(origin_raw.get(f) or "").strip()]
    if missing:
        raise SchemaError(f"{where}: origin lacks {', '.join(missing)}")
    return Origin(**{f: str(origin_raw[f]).strip() for f in ORIGIN_FIELDS})


def _columns(columns_raw: Any, where: str) -> tuple[Column, ...]:
    """The declared columns: a non-empty list, each a valid column, no name twice."""
    if not isinstance(columns_raw, list) or not columns_raw:
        raise SchemaError(f"{where}: columns must be a non-empty list")
    columns = tuple(_column(c, where) for c in columns_raw)
    names = [c.name for c in columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(f"{where}: column(s) declared twice: {', '.join(dupes)}")
    return columns


def _primary_key(key: Any, names: list[str], where: str) -> tuple[str, ...]:
    """The primary key: a non-empty list of declared columns."""
    if not isinstance(key, list) or not key:
        raise SchemaError(f"{where}: primary_key must be a non-empty list of columns")
    for k in key:
        if k not in names:
            raise SchemaError(f"{where}: primary_key column {k!r} is not declared")
    return tuple(key)


def _must_include(
    wanted: dict[str, Any], names: list[str], where: str
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """``must_include`` as (declared column, values as text) pairs."""
    must_include = []
    for column, values in wanted.items():
        if column not in names:
            raise SchemaError(f"{where}: must_include names the undeclared column {column!r}")
        must_include.append((column, tuple(str(v) for v in values)))
    return tuple(must_include)


def _plain(value: Any) -> Any:
    """YAML's dates as ISO strings (so the contract can be checked against its JSON Schema)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
