"""The consistency token: what a client has written, as positions per event type.

Every event a service publishes gets, just before its transaction commits, a *position*
among the events of its type: 1, 2, 3, ... with no gaps (a per-type counter row, updated
in the same transaction: a rollback gives its numbers back). A token maps event types to
the highest position the client's own writes produced of each; merging two tokens keeps
the higher position per type. A consumer records, per event type, the position up to
which it has handled every event (``consumer_positions``), so "has this service applied
everything this token names that it consumes" is one comparison per type, exact however
events were ordered, redelivered or batched on the way (docs/events.md has the argument).

Wire form (header ``Syllabus-Consistency``, cookie ``syllabus_consistency``)::

    2.<code><position>.<code><position>...

``2`` is the format version; ``code`` is 6 hex digits naming the event type (the start of
the SHA-256 of its type name), ``position`` is base 36 (``0-9a-z``). One entry per event
type, so the token's length is bounded by the number of event types, not by how many
writes a client makes; :data:`MAX_ENTRIES` caps what a request may carry (51: a token
naming every one of Syllabus's event types at the highest position stays within 1 KiB).
It names no user, no id and no secret: a stolen token lets its holder wait for events,
nothing more.

Format ``1`` (8 hex digits of code, hexadecimal positions: at most 40 entries, outgrown by
issue 26's events) is still read, so tokens clients kept across an upgrade keep working:
its codes are cut to their first 6 digits, which are the same type's code in format 2.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from functools import cache

HEADER = "Syllabus-Consistency"
COOKIE = "syllabus_consistency"
COOKIE_ATTRIBUTES = "Path=/api; HttpOnly; SameSite=Lax"
# Set-Cookie that removes a malformed cookie (sent with the 400 that refuses it).
CLEAR_COOKIE = f"{COOKIE}=; Max-Age=0; {COOKIE_ATTRIBUTES}"
VERSION = "2"
CODE_LENGTH = 6
MAX_POSITION = 2**63 - 1
MAX_BYTES = 1024
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# "." + code + up to 13 base-36 digits of position (36**13 > 2**63).
MAX_ENTRY = 1 + CODE_LENGTH + 13
MAX_ENTRIES = (MAX_BYTES - len(VERSION)) // MAX_ENTRY
_ENTRY = re.compile(rf"[0-9a-f]{{{CODE_LENGTH}}}[0-9a-z]{{1,13}}")
# Format 1, still read: 8 hex digits of code, up to 16 hex digits of position.
_V1_CODE_LENGTH = 8
_V1_ENTRY = re.compile(r"[0-9a-f]{8}[0-9a-f]{1,16}")


def _base36(n: int) -> str:
    out = []
    while True:
        n, digit = divmod(n, 36)
        out.append(_DIGITS[digit])
        if not n:
            return "".join(reversed(out))


class MalformedToken(ValueError):
    """The text is not a consistency token."""


@cache
def type_code(event_type: str) -> str:
    """The 6-hex-digit code of an event type name (``syllabus.catalog.ModuleAttached.v1``)."""
    return hashlib.sha256(event_type.encode()).hexdigest()[:CODE_LENGTH]


class ConsistencyToken:
    """Positions per event-type code; mutable, so a request can collect into one."""

    __slots__ = ("positions",)

    def __init__(self, positions: Mapping[str, int] | None = None) -> None:
        self.positions: dict[str, int] = dict(positions or {})

    def __bool__(self) -> bool:
        return bool(self.positions)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConsistencyToken) and other.positions == self.positions

    def __repr__(self) -> str:
        return f"ConsistencyToken({self.encode()!r})"

    @classmethod
    def of_types(cls, positions: Mapping[str, int]) -> ConsistencyToken:
        """A token naming ``positions`` keyed by event type *name*."""
        return cls({type_code(name): pos for name, pos in positions.items()})

    @classmethod
    def parse(cls, text: str) -> ConsistencyToken:
        """Read a token; :class:`MalformedToken` says what is wrong with it."""
        if len(text) > MAX_BYTES:
            raise MalformedToken(f"longer than {MAX_BYTES} characters")
        version, *entries = text.split(".")
        if version == VERSION:
            pattern, code_length, base = _ENTRY, CODE_LENGTH, 36
        elif version == "1":
            pattern, code_length, base = _V1_ENTRY, _V1_CODE_LENGTH, 16
        else:
            raise MalformedToken(f"unknown version {version[:8]!r} (expected {VERSION!r})")
        if len(entries) > MAX_ENTRIES:
            raise MalformedToken(f"more than {MAX_ENTRIES} entries")
        token = cls()
        for entry in entries:
            if not pattern.fullmatch(entry):
                raise MalformedToken(f"malformed entry {entry[:32]!r}")
            position = int(entry[code_length:], base)
            if not 1 <= position <= MAX_POSITION:
                raise MalformedToken(f"position out of range in {entry[:32]!r}")
            token.note(entry[:CODE_LENGTH], position)
        return token

    @classmethod
    def read(cls, values: Iterable[str | None]) -> ConsistencyToken:
        """Merge every token given (header and cookie); absent ones are skipped."""
        token = cls()
        for value in values:
            if value:
                token.merge(cls.parse(value))
        return token

    def note(self, code: str, position: int) -> None:
        if position > self.positions.get(code, 0):
            self.positions[code] = position

    def note_types(self, positions: Mapping[str, int]) -> None:
        """Record positions keyed by event type name (what a commit produced)."""
        for name, position in positions.items():
            self.note(type_code(name), position)

    def merge(self, other: ConsistencyToken) -> ConsistencyToken:
        for code, position in other.positions.items():
            self.note(code, position)
        return self

    def encode(self) -> str:
        # Sorted, so equal tokens are equal strings. Entries past the cap (a client
        # merging tokens of more event types than exist) drop the lowest codes: never
        # reached with Syllabus's own events (a test checks the count).
        codes = sorted(self.positions)[-MAX_ENTRIES:]
        return ".".join([VERSION, *(f"{code}{_base36(self.positions[code])}" for code in codes)])


# What the current request's writes produced; set by the consistency middleware, filled
# by every commit that published events (``Outbox.seal``). None outside a request.
written_var: ContextVar[ConsistencyToken | None] = ContextVar("written", default=None)


def note_written(positions: Mapping[str, int]) -> None:
    """Record in the current request's token that its writes produced ``positions``."""
    token = written_var.get()
    if token is not None and positions:
        token.note_types(positions)
