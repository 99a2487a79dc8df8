"""Avro schema compatibility: can data written with one schema be read with another?

`check_backward(reader, writer)` applies the resolution rules of the Avro specification
("Schema Resolution") to every part of the two schemas and returns what would fail, as readable
problems with a path (`ClientImported.amount_centavos: writer type "string" cannot be read as
"long"`). An empty list means every datum the writer can produce resolves against the reader.
The project's policy is BACKWARD_TRANSITIVE: a new schema must read data written with every
earlier one, which `check_backward_transitive(new, earlier)` checks.

Input: schemas as `fastavro.schema.load_schema` / `parse_schema` return them (named types fully
qualified and defined inline where first used, later uses by name; the `__fastavro_*` keys are
ignored). Raw JSON is accepted too, as long as it is self-contained: namespaces are applied the
way the specification says, but a name defined in another `.avsc` file is only known after
`load_schema` has expanded it, and an unknown name is reported as a problem.

Rules, writer -> reader:

- primitives: the same type, or a promotion (int -> long, float, double; long -> float, double;
  float -> double; string <-> bytes). A logicalType is ignored, the underlying type decides.
- records: fields are matched by name, then by the reader field's aliases. A reader field the
  writer lacks needs a default (valid for the field's type, for a union its first branch); a
  writer field the reader lacks is skipped.
- enums: every writer symbol must be a reader symbol, unless the reader has a default symbol.
- fixed: same size.
- named types (record, enum, fixed) must agree on the unqualified name, or a reader alias must
  name the writer's full name.
- arrays and maps: items and values resolve.
- unions: every writer branch must resolve; against a reader union, the reader branch of the same
  type (or, failing that, the first one it promotes to) is chosen, as a resolving reader would.

The module is pure: no I/O, no fastavro import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, TypeGuard

__all__ = ["AvroSchema", "check_backward", "check_backward_transitive"]

#: A schema as JSON-decoded or fastavro-parsed: a type name, a union or a complex type.
AvroSchema: TypeAlias = str | Sequence[Any] | Mapping[str, Any]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})

#: Writer primitive -> reader primitives it can be read as, besides itself.
_PROMOTIONS: Mapping[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}

# A normalized schema node: a primitive or full type name, a union, or a complex type whose
# named types carry full names and whose nested types are normalized nodes.
_Node: TypeAlias = str | list[Any] | dict[str, Any]


def check_backward(reader: AvroSchema, writer: AvroSchema) -> list[str]:
    """Problems that stop data written with `writer` from being read with `reader`.

    An empty list means the pair is compatible. Paths start at the reader's record name.
    """
    reader_schema = _Schema(reader)
    writer_schema = _Schema(writer)
    checker = _Checker(reader_schema, writer_schema)
    root_node = reader_schema.root
    root = _short(root_node["name"]) if _is_named(root_node) else "<root>"
    checker.resolve(reader_schema.root, writer_schema.root, root)
    return checker.problems


def check_backward_transitive(reader: AvroSchema, writers: Iterable[AvroSchema]) -> list[str]:
    """Problems reading data written with any of `writers` (every earlier version) with `reader`.

    Each problem is prefixed with the writer's position in `writers`, counting from 1.
    """
    writer_list = list(writers)
    problems: list[str] = []
    for position, writer in enumerate(writer_list, start=1):
        prefix = f"writer {position} of {len(writer_list)}: "
        problems.extend(prefix + problem for problem in check_backward(reader, writer))
    return problems


# --- normalization -------------------------------------------------------------------------


class _Schema:
    """A schema with namespaces applied and every named type indexed by full name."""

    def __init__(self, schema: AvroSchema) -> None:
        self.named: dict[str, dict[str, Any]] = {}
        self.root: _Node = self._normalize(schema, namespace="")

    def lookup(self, name: str) -> _Node | None:
        """The definition of a primitive or named type, None if the name is unknown."""
        if name in _PRIMITIVES:
            return name
        return self.named.get(name)

    def _normalize(self, schema: Any, namespace: str) -> _Node:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, Sequence):
            return [self._normalize(branch, namespace) for branch in schema]
        if not isinstance(schema, Mapping):
            return f"<invalid schema {schema!r}>"
        type_ = schema.get("type")
        if not isinstance(type_, str):
            # {"type": {...}} or {"type": [...]}: a wrapper around another schema.
            return self._normalize(type_, namespace)
        if type_ == "array":
            return {"type": "array", "items": self._normalize(schema.get("items"), namespace)}
        if type_ == "map":
            return {"type": "map", "values": self._normalize(schema.get("values"), namespace)}
        if type_ in _NAMED:
            return self._named(schema, "record" if type_ == "error" else type_, namespace)
        # A primitive or a reference written as {"type": "long", "logicalType": ...}.
        return self._reference(type_, namespace)

    def _reference(self, name: str, namespace: str) -> str:
        if name in _PRIMITIVES or "." in name:
            return name
        qualified = _qualify(name, namespace)
        if qualified not in self.named and name in self.named:
            return name  # defined in the null namespace
        return qualified

    def _named(self, schema: Mapping[str, Any], kind: str, enclosing: str) -> dict[str, Any]:
        name = str(schema.get("name", ""))
        if "." in name:
            full_name = name
        else:
            full_name = _qualify(name, str(schema.get("namespace", enclosing) or ""))
        namespace = full_name.rpartition(".")[0]
        node: dict[str, Any] = {
            "type": kind,
            "name": full_name,
            "aliases": [_qualify(alias, namespace) for alias in schema.get("aliases", ())],
        }
        # Register before descending, so a recursive record can refer to itself.
        self.named[full_name] = node
        if kind == "record":
            node["fields"] = [self._field(field, namespace) for field in schema.get("fields", ())]
        elif kind == "enum":
            node["symbols"] = list(schema.get("symbols", ()))
            if "default" in schema:
                node["default"] = schema["default"]
        else:
            node["size"] = schema.get("size")
        return node

    def _field(self, field: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        node: dict[str, Any] = {
            "name": field.get("name"),
            "aliases": list(field.get("aliases", ())),
            "type": self._normalize(field.get("type"), namespace),
        }
        if "default" in field:
            node["default"] = field["default"]
        return node


def _qualify(name: str, namespace: str) -> str:
    return f"{namespace}.{name}" if namespace and "." not in name else name


def _short(full_name: str) -> str:
    return full_name.rpartition(".")[2]


def _is_named(node: _Node) -> TypeGuard[dict[str, Any]]:
    return isinstance(node, dict) and node["type"] in _NAMED


# --- resolution ----------------------------------------------------------------------------


class _Checker:
    """Walks a reader and a writer schema together, collecting resolution problems."""

    def __init__(self, reader: _Schema, writer: _Schema) -> None:
        self.reader = reader
        self.writer = writer
        self.problems: list[str] = []
        # Named pairs already resolved (or being resolved): stops recursion on recursive types
        # and reports a shared type's problems once.
        self.visited: set[tuple[str, str]] = set()

    def resolve(self, reader: _Node, writer: _Node, path: str, role: str = "writer type") -> None:
        r = self._deref(self.reader, "reader", reader, path)
        w = self._deref(self.writer, "writer", writer, path)
        if r is None or w is None:
            return
        if isinstance(w, list):
            for branch in w:
                self.resolve(r, branch, path, role="writer union branch")
            return
        if isinstance(r, list):
            chosen = self._choose_branch(r, w)
            if chosen is None:
                self.problems.append(
                    f"{path}: {role} {_describe(w)} matches no branch of reader union "
                    f"{_describe(r)}"
                )
            else:
                self.resolve(chosen, w, path, role)
            return
        if not _same_kind(r, w):
            self.problems.append(f"{path}: {role} {_describe(w)} cannot be read as {_describe(r)}")
            return
        if isinstance(r, str) or isinstance(w, str):
            return  # same primitive, or a promotion
        kind = r["type"]
        if kind == "array":
            self.resolve(r["items"], w["items"], f"{path}[]")
            return
        if kind == "map":
            self.resolve(r["values"], w["values"], f"{path}{{}}")
            return
        if not _names_match(r, w):
            self.problems.append(
                f"{path}: writer {kind} {_quote(w['name'])} cannot be read as {kind} "
                f"{_quote(r['name'])}: the names differ and no reader alias names the writer's"
            )
            return
        if (r["name"], w["name"]) in self.visited:
            return
        self.visited.add((r["name"], w["name"]))
        if kind == "record":
            self._record(r, w, path)
        elif kind == "enum":
            self._enum(r, w, path)
        elif r["size"] != w["size"]:
            self.problems.append(
                f"{path}: writer fixed {_quote(w['name'])} has size {w['size']}, "
                f"reader fixed {_quote(r['name'])} has size {r['size']}"
            )

    def _record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        writer_fields = {field["name"]: field for field in writer["fields"]}
        for field in reader["fields"]:
            field_path = f"{path}.{field['name']}"
            match = writer_fields.get(field["name"])
            if match is None:
                match = next(
                    (writer_fields[a] for a in field["aliases"] if a in writer_fields), None
                )
            if match is not None:
                self.resolve(field["type"], match["type"], field_path)
            elif "default" not in field:
                self.problems.append(
                    f"{field_path}: the reader field is not in the writer and has no default"
                )
            elif not _default_fits(self.reader, field["type"], field["default"]):
                self.problems.append(
                    f"{field_path}: the reader field is not in the writer and its default "
                    f"{field['default']!r} is not a valid {_describe(field['type'])}"
                )

    def _enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        unknown = [symbol for symbol in writer["symbols"] if symbol not in reader["symbols"]]
        if unknown and reader.get("default") not in reader["symbols"]:
            symbols = ", ".join(_quote(symbol) for symbol in unknown)
            self.problems.append(
                f"{path}: writer enum {_quote(writer['name'])} symbols {symbols} are not in "
                f"reader enum {_quote(reader['name'])}, which has no default symbol"
            )

    def _choose_branch(self, union: list[Any], writer: _Node) -> _Node | None:
        """The reader branch a resolving reader picks for `writer`: same type, else a promotion."""
        branches = [self.reader.lookup(b) if isinstance(b, str) else b for b in union]
        candidates = [b for b in branches if b is not None and _matches(b, writer)]
        exact = [b for b in candidates if not isinstance(b, str) or b == writer]
        return (exact or candidates or [None])[0]

    def _deref(self, schema: _Schema, side: str, node: _Node, path: str) -> _Node | None:
        if not isinstance(node, str):
            return node
        found = schema.lookup(node)
        if found is None:
            self.problems.append(
                f"{path}: unknown type {_quote(node)} in the {side} schema; load the schema "
                "with fastavro.schema.load_schema so named references are expanded"
            )
        return found


def _same_kind(reader: _Node, writer: _Node) -> bool:
    """True if `writer` could be read as `reader` judging by their types alone."""
    if isinstance(reader, str) and isinstance(writer, str):
        return reader == writer or reader in _PROMOTIONS.get(writer, frozenset())
    if isinstance(reader, dict) and isinstance(writer, dict):
        return bool(reader["type"] == writer["type"])
    return False


def _matches(reader: _Node, writer: _Node) -> bool:
    """True if `writer` could be read as `reader` judging by their types and names alone."""
    if not _same_kind(reader, writer):
        return False
    if isinstance(reader, dict) and isinstance(writer, dict) and reader["type"] in _NAMED:
        return _names_match(reader, writer)
    return True


def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    return _short(reader["name"]) == _short(writer["name"]) or writer["name"] in reader["aliases"]


def _default_fits(schema: _Schema, node: _Node, value: Any) -> bool:
    """True if `value` is a valid JSON default for the type `node` (a union: its first branch)."""
    resolved = schema.lookup(node) if isinstance(node, str) else node
    if resolved is None:
        return False
    if isinstance(resolved, list):
        return bool(resolved) and _default_fits(schema, resolved[0], value)
    if isinstance(resolved, str):
        return _primitive_default_fits(resolved, value)
    kind = resolved["type"]
    if kind == "array":
        return isinstance(value, list) and all(
            _default_fits(schema, resolved["items"], item) for item in value
        )
    if kind == "map":
        return isinstance(value, dict) and all(
            _default_fits(schema, resolved["values"], item) for item in value.values()
        )
    if kind == "enum":
        return value in resolved["symbols"]
    if kind == "fixed":
        return isinstance(value, str) and len(value) == resolved["size"]
    if not isinstance(value, dict):
        return False
    return all(
        _default_fits(schema, field["type"], value[field["name"]])
        if field["name"] in value
        else "default" in field
        for field in resolved["fields"]
    )


def _primitive_default_fits(type_: str, value: Any) -> bool:
    if type_ == "null":
        return value is None
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ in ("float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)  # bytes and string defaults are JSON strings


def _describe(node: _Node) -> str:
    if isinstance(node, str):
        return _quote(node)
    if isinstance(node, list):
        return "[" + ", ".join(_describe(branch) for branch in node) + "]"
    kind = node["type"]
    if kind == "array":
        return f"array<{_describe(node['items'])}>"
    if kind == "map":
        return f"map<{_describe(node['values'])}>"
    return f"{kind} {_quote(node['name'])}"


def _quote(text: str) -> str:
    return f'"{text}"'
