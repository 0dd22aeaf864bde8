"""Consumer-driven event contracts ("pacts"): what each consumer relies on, checked.

Each durable consumer keeps one file, ``contracts/pacts/<consumer>.json``, naming for
every event type it handles the field paths and JSON types its handlers read::

    {"consumer": "progress-from-content", "service": "progress", "provider": "content",
     "events": {"syllabus.content.PostCreated.v1": {
         "post_id": "uuid", "kind": {"type": "string", "example": "text"},
         "max_points": "integer|null", "posts[].position": "integer"}}}

Types: ``string``, ``uuid``, ``date-time`` (strings of that format), ``integer``,
``number``, ``boolean``, ``array``, ``object``; ``|null`` means the consumer copes with
null. ``a[].b`` is field ``b`` of every element of array ``a``. ``example`` is the value
the consumer's own test feeds its handler (default: a plain value of the type).

Pure functions, no I/O beyond reading files: the producer side checks these pacts
against the exported JSON Schemas (:func:`verify_schemas`) and against the payloads its
real code writes to the outbox (:func:`check_samples`); the consumer side builds the
minimal event a pact describes (:func:`minimal_event`) and runs its real handlers on it.
Every problem is one line naming consumer, event type and field.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_TYPES = frozenset(
    {"string", "uuid", "date-time", "integer", "number", "boolean", "array", "object"}
)
# A consumer asking for the left type is satisfied by a producer sending the right ones.
_SATISFIES: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "uuid", "date-time"}),
    "number": frozenset({"number", "integer"}),
}
_EXAMPLES: dict[str, Any] = {
    "string": "example",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
}


@dataclass(frozen=True)
class Expectation:
    """One field a consumer relies on."""

    path: str  # "title", "posts[].post_id"
    type: str  # one of BASE_TYPES
    nullable: bool = False
    example: Any = None

    @property
    def segments(self) -> list[tuple[str, bool]]:
        """(name, is_array) for each step of the path."""
        return [(part.removesuffix("[]"), part.endswith("[]")) for part in self.path.split(".")]

    def describe(self) -> str:
        return f"{self.type}|null" if self.nullable else self.type


@dataclass(frozen=True)
class Pact:
    """What one consumer (a durable consumer name) relies on in one provider's events."""

    consumer: str
    service: str
    provider: str
    events: Mapping[str, tuple[Expectation, ...]]
    origin: str = ""

    def relies(self, event_type: str, e: Expectation) -> str:
        """The start of every problem message about ``e``."""
        return f"consumer {self.consumer} relies on {event_type} field '{e.path}' ({e.describe()})"


class PactError(ValueError):
    """A pact file that is not well formed."""


def _parse_expectation(path: str, spec: Any, where: str) -> Expectation:
    example = None
    if isinstance(spec, dict):
        example = spec.get("example")
        spec = spec.get("type")
    if not isinstance(spec, str):
        raise PactError(f"{where}: field {path!r} needs a type string")
    base, _, rest = spec.partition("|")
    if base not in BASE_TYPES or rest not in ("", "null"):
        raise PactError(f"{where}: field {path!r} has unknown type {spec!r}")
    if not path or any(not name for name, _ in Expectation(path, base).segments):
        raise PactError(f"{where}: bad field path {path!r}")
    return Expectation(path, base, rest == "null", example)


def parse_pact(data: Mapping[str, Any], origin: str = "") -> Pact:
    """A pact from its JSON form (see the module docstring); raises PactError."""
    where = origin or "pact"
    try:
        consumer, service, provider = data["consumer"], data["service"], data["provider"]
        raw_events = data["events"]
    except KeyError as exc:
        raise PactError(f"{where}: missing {exc.args[0]!r}") from exc
    events: dict[str, tuple[Expectation, ...]] = {}
    for event_type, fields in raw_events.items():
        if not isinstance(fields, dict) or not fields:
            raise PactError(f"{where}: {event_type} needs at least one field")
        parsed = [_parse_expectation(p, s, f"{where} {event_type}") for p, s in fields.items()]
        known = {e.path for e in parsed}
        for e in parsed:  # "a[].b" needs "a" (an array) stated too, "a.b" needs "a"
            parts = e.path.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i]).removesuffix("[]")
                if parent not in known:
                    raise PactError(f"{where} {event_type}: {e.path!r} needs {parent!r}")
        events[event_type] = tuple(parsed)
    return Pact(consumer, service, provider, events, origin)


def load_pacts(directory: Path) -> list[Pact]:
    """Every ``*.json`` pact in ``directory``, sorted by consumer."""
    pacts = [
        parse_pact(json.loads(path.read_text()), str(path))
        for path in sorted(Path(directory).glob("*.json"))
    ]
    return sorted(pacts, key=lambda p: p.consumer)


# ---------------------------------------------------------------- JSON Schema side


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            raise PactError(f"unsupported $ref {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _members(node: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives of a (resolved) schema node: anyOf/oneOf members, or itself."""
    node = _resolve(node, root)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        return [m for alt in alternatives for m in _members(alt, root)]
    return [node]


def schema_types(node: Mapping[str, Any], root: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema node allows, with uuid/date-time strings told apart."""
    out: set[str] = set()
    for member in _members(node, root):
        declared = member.get("type")
        if declared is None:
            out.add("object" if "properties" in member else "any")
            continue
        for t in declared if isinstance(declared, list) else [declared]:
            if t == "string" and member.get("format") in ("uuid", "date-time"):
                out.add(str(member["format"]))
            else:
                out.add(str(t))
    return out


def _object_member(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((m for m in _members(node, root) if "properties" in m), None)


def _array_items(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    member = next((m for m in _members(node, root) if m.get("type") == "array"), None)
    return None if member is None else member.get("items", {})


def check_schema(pact: Pact, event_type: str, schema: Mapping[str, Any]) -> list[str]:
    """Problems with ``schema`` (an event's ``data`` JSON Schema) for this consumer."""
    problems = []
    for e in pact.events.get(event_type, ()):
        node: Mapping[str, Any] | None = schema
        parent = schema
        name = ""
        for i, (name, is_array) in enumerate(e.segments):
            parent = node if node is not None else {}
            obj = _object_member(parent, schema)
            if obj is None or name not in obj["properties"]:
                node = None
                break
            node = obj["properties"][name]
            if is_array and i < len(e.segments) - 1:
                node = _array_items(node, schema)
                if node is None:
                    break
        if node is None:
            problems.append(f"{pact.relies(event_type, e)}: missing from the schema")
            continue
        obj = _object_member(parent, schema) or {}
        if not e.nullable and name not in obj.get("required", []):
            problems.append(f"{pact.relies(event_type, e)}: optional in the schema")
        found = schema_types(node, schema)
        accepted = _SATISFIES.get(e.type, frozenset({e.type}))
        wrong = sorted(t for t in found - {"null"} if t not in accepted)
        if wrong or not found - {"null"}:
            shown = "|".join(sorted(found))
            problems.append(f"{pact.relies(event_type, e)}: the schema says {shown}")
        elif "null" in found and not e.nullable:
            problems.append(f"{pact.relies(event_type, e)}: the schema allows null")
    return problems


def verify_schemas(pacts: Iterable[Pact], schemas_dir: Path) -> list[str]:
    """Check every pact against the exported schemas (``contracts/schemas``)."""
    problems = []
    for pact in pacts:
        for event_type in pact.events:
            path = Path(schemas_dir) / f"{event_type}.json"
            if not path.exists():
                problems.append(
                    f"consumer {pact.consumer} relies on {event_type}: no such event schema"
                )
                continue
            problems += check_schema(pact, event_type, json.loads(path.read_text()))
    return problems


# ---------------------------------------------------------------- payload side


def value_types(value: Any) -> set[str]:
    """The pact types a JSON value satisfies."""
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number"}
    if isinstance(value, list):
        return {"array"}
    if isinstance(value, dict):
        return {"object"}
    if isinstance(value, str):
        out = {"string"}
        try:
            if str(uuid.UUID(value)) == value.lower():
                out.add("uuid")
        except ValueError:
            pass
        try:
            if dt.datetime.fromisoformat(value).tzinfo is not None:
                out.add("date-time")
        except ValueError:
            pass
        return out
    return {type(value).__name__}


def _leaves(data: Any, e: Expectation) -> tuple[list[Any], bool]:
    """The values at ``e.path`` in one payload; (values, missing somewhere)."""
    current = [data]
    for i, (name, is_array) in enumerate(e.segments):
        last = i == len(e.segments) - 1
        following: list[Any] = []
        for item in current:
            if not isinstance(item, dict) or name not in item:
                return [], True
            value = item[name]
            if is_array and not last:
                if not isinstance(value, list):
                    return [], True
                following.extend(value)
            else:
                following.append(value)
        current = following
    return current, False


def check_samples(pact: Pact, event_type: str, samples: Sequence[Mapping[str, Any]]) -> list[str]:
    """Problems with a producer's real ``data`` payloads of ``event_type`` for this consumer."""
    if not samples:
        return [f"consumer {pact.consumer} relies on {event_type}: the producer sent none"]
    problems = []
    for e in pact.events.get(event_type, ()):
        checked = 0
        failure = None
        for data in samples:
            values, missing = _leaves(data, e)
            if missing:
                failure = "missing"
                break
            for value in values:
                checked += 1
                if e.type not in value_types(value) and not (value is None and e.nullable):
                    kind = "null" if value is None else "|".join(sorted(value_types(value)))
                    failure = f"got {kind} {json.dumps(value)[:60]}"
                    break
            if failure:
                break
        if failure is None and checked == 0:
            failure = "never present (every sample had an empty list): extend the scenario"
        if failure:
            problems.append(f"{pact.relies(event_type, e)}: {failure}")
    return problems


# ---------------------------------------------------------------- consumer side


def _example(e: Expectation) -> Any:
    if e.example is not None:
        return e.example
    if e.type == "uuid":
        return str(uuid.uuid4())
    if e.type == "date-time":
        return dt.datetime.now(dt.UTC).isoformat()
    if e.type == "array":
        return []
    if e.type == "object":
        return {}
    return _EXAMPLES[e.type]


def minimal_event(pact: Pact, event_type: str) -> dict[str, Any]:
    """The smallest ``data`` payload this pact describes (arrays get one element)."""
    data: dict[str, Any] = {}
    for e in sorted(pact.events[event_type], key=lambda x: x.path.count(".")):
        containers: list[dict[str, Any]] = [data]
        for name, is_array in e.segments[:-1]:
            following: list[dict[str, Any]] = []
            for container in containers:
                value = container[name]
                if is_array:
                    if not value:
                        value.append({})
                    following.extend(value)
                else:
                    following.append(value)
            containers = following
        for container in containers:
            container[e.segments[-1][0]] = _example(e)
    return data


def main(argv: list[str]) -> int:
    """``python -m syllabus_devkit.pacts [PACTS_DIR [SCHEMAS_DIR]]``."""
    pacts_dir = Path(argv[0]) if argv else Path("contracts/pacts")
    schemas_dir = Path(argv[1]) if len(argv) > 1 else Path("contracts/schemas")
    problems = verify_schemas(load_pacts(pacts_dir), schemas_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
