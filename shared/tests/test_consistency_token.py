"""The consistency token's wire form (docs/events.md, "The token"): no database needed."""

from __future__ import annotations

import hashlib
import re

import pytest
from syllabus_shared.consistency_token import (
    CODE_LENGTH,
    MAX_BYTES,
    MAX_ENTRIES,
    MAX_POSITION,
    ConsistencyToken,
    MalformedToken,
    note_written,
    type_code,
    written_var,
)
from syllabus_shared.contracts import ALL_EVENTS, EVENTS_BY_TYPE
from syllabus_shared.contracts.catalog import CourseCreated, ModuleCreated, ModuleDeleted

MC, MD, CC = ModuleCreated.type_name(), ModuleDeleted.type_name(), CourseCreated.type_name()


def test_round_trip_is_exact_and_canonical() -> None:
    token = ConsistencyToken.of_types({MC: 1, MD: 255, CC: MAX_POSITION})
    text = token.encode()
    assert text.startswith("2.")
    assert ConsistencyToken.parse(text) == token
    assert ConsistencyToken.parse(text).encode() == text
    # Equal tokens are equal strings, whatever order the entries were noted in.
    other = ConsistencyToken()
    for name, position in ((CC, MAX_POSITION), (MD, 255), (MC, 1)):
        other.note_types({name: position})
    assert other.encode() == text
    # Positions are base 36 after the 6-digit code.
    assert f"{type_code(MD)}73" in text.split(".")


def test_an_empty_token_is_the_bare_version() -> None:
    assert ConsistencyToken().encode() == "2"
    assert ConsistencyToken.parse("2") == ConsistencyToken()
    assert not ConsistencyToken.parse("2")
    assert ConsistencyToken.of_types({MC: 1})


def test_merge_keeps_the_highest_position_per_type() -> None:
    a = ConsistencyToken.of_types({MC: 5, MD: 1})
    b = ConsistencyToken.of_types({MC: 3, MD: 9, CC: 2})
    merged = ConsistencyToken(a.positions).merge(b)
    assert merged == ConsistencyToken.of_types({MC: 5, MD: 9, CC: 2})
    # Commutative, idempotent, and never lowers a position.
    assert ConsistencyToken(b.positions).merge(a) == merged
    assert ConsistencyToken(merged.positions).merge(merged) == merged
    merged.note(type_code(MC), 4)
    assert merged.positions[type_code(MC)] == 5
    # A duplicate entry within one token: the higher one counts.
    code = type_code(MC)
    assert ConsistencyToken.parse(f"2.{code}7.{code}3").positions == {code: 7}


def test_read_merges_header_and_cookie_and_skips_absent_ones() -> None:
    header = ConsistencyToken.of_types({MC: 2}).encode()
    cookie = ConsistencyToken.of_types({MC: 1, MD: 4}).encode()
    assert ConsistencyToken.read((header, cookie)) == ConsistencyToken.of_types({MC: 2, MD: 4})
    assert ConsistencyToken.read((None, "", None)) == ConsistencyToken()
    with pytest.raises(MalformedToken):
        ConsistencyToken.read((header, "2.nope"))


def test_every_event_type_has_its_own_code() -> None:
    names = [cls.type_name() for cls in ALL_EVENTS]
    assert len(names) == len(set(names)) == len(EVENTS_BY_TYPE) > 20
    codes = {type_code(name) for name in names}
    assert len(codes) == len(names)  # no two event types share a code
    assert all(re.fullmatch(rf"[0-9a-f]{{{CODE_LENGTH}}}", code) for code in codes)


def test_a_token_naming_every_event_type_at_the_highest_position_fits() -> None:
    assert len(ALL_EVENTS) <= MAX_ENTRIES  # else encode() would drop entries
    token = ConsistencyToken.of_types({cls.type_name(): MAX_POSITION for cls in ALL_EVENTS})
    text = token.encode()
    assert len(text.encode()) <= MAX_BYTES
    assert ConsistencyToken.parse(text) == token  # and it is accepted back whole
    assert len(token.positions) == len(ALL_EVENTS)


def test_unknown_codes_are_accepted_and_kept() -> None:
    """A code this service does not know (an event type added elsewhere later) is not
    an error: it is carried along, so a later service that knows it can wait for it."""
    token = ConsistencyToken.parse("2.deadbe5.0123abz")
    assert token.positions == {"deadbe": 5, "0123ab": 35}
    token.note_types({MC: 3})
    again = ConsistencyToken.parse(token.encode())
    assert again.positions == {"deadbe": 5, "0123ab": 35, type_code(MC): 3}


def test_format_1_tokens_are_still_read() -> None:
    """A token a client kept from before format 2 (8 hex digits of code, hexadecimal
    positions) names the same types: its codes' first 6 digits are their codes now."""
    v1 = "1." + ".".join(
        f"{hashlib.sha256(t.encode()).hexdigest()[:8]}{p:x}" for t, p in ((MC, 26), (MD, 3))
    )
    assert ConsistencyToken.parse(v1) == ConsistencyToken.of_types({MC: 26, MD: 3})
    assert ConsistencyToken.parse(v1).encode().startswith("2.")


def _entry(index: int, position: int = 1) -> str:
    return f"{index:06x}{position}"


@pytest.mark.parametrize(
    "text",
    [
        "",  # no version
        "3",  # unknown version
        "3.deadbe1",
        "v2.deadbe1",
        " 2.deadbe1",
        "2.deadbe1 ",
        "2.",
        "2..deadbe1",
        "2.deadbe",  # a code without a position
        "2.DEADBE1",  # lower case
        "2.deadbE1",
        "2.deadbe-1",
        "2.deadbe0",  # position 0
        "2.deadbe" + "0" * 13,
        "2.deadbe" + "1y2p0ij32e8e8",  # 2**63 in base 36: past the highest position
        "2.deadbe" + "1" * 14,  # more than 13 digits
        "v1.deadbeef1",
        " 1.deadbeef1",
        "1.deadbeef1 ",
        "1.",  # an empty entry
        "1..deadbeef1",
        "1.deadbeef",  # a code without a position
        "1.deadbee1",  # too short to be a code and a position
        "1.DEADBEEF1",  # hex is lower case
        "1.deadbeefg",  # not hex
        "1.zzzzzzzz1",
        "1.deadbeef-1",
        "1.deadbeef0",  # position 0: no event is numbered 0
        "1.deadbeef" + "0" * 16,
        "1.deadbeef" + "8000000000000000",  # 2**63: past the highest position
        "1.deadbeef" + "1" * 17,  # more than 16 hex digits
        "1,deadbeef1",
        "2." + ".".join(_entry(i) for i in range(MAX_ENTRIES + 1)),  # too many entries
        "2." + "0" * 6 + "1" * 13 + "x" * (MAX_BYTES),  # too long
    ],
)
def test_malformed_tokens_are_refused(text: str) -> None:
    with pytest.raises(MalformedToken):
        ConsistencyToken.parse(text)


def test_the_limits() -> None:
    highest = "1y2p0ij32e8e7"  # 2**63 - 1 in base 36
    longest = "2." + ".".join(f"{i:06x}{highest}" for i in range(MAX_ENTRIES))
    assert len(longest) <= MAX_BYTES
    assert len(ConsistencyToken.parse(longest).positions) == MAX_ENTRIES
    assert ConsistencyToken.parse(f"2.deadbe{highest}").positions == {"deadbe": MAX_POSITION}
    with pytest.raises(MalformedToken, match="longer than"):
        ConsistencyToken.parse("2." + "a" * (MAX_BYTES - 1))
    with pytest.raises(MalformedToken, match="entries"):
        ConsistencyToken.parse("2." + ".".join(_entry(i) for i in range(MAX_ENTRIES + 1)))


def test_encoding_more_entries_than_a_request_may_carry_stays_parseable() -> None:
    token = ConsistencyToken({f"{i:06x}": 1 for i in range(MAX_ENTRIES + 5)})
    parsed = ConsistencyToken.parse(token.encode())
    assert len(parsed.positions) == MAX_ENTRIES


def test_note_written_collects_only_inside_a_request() -> None:
    note_written({MC: 3})  # outside a request: nowhere to go, no error
    assert written_var.get() is None
    collecting = ConsistencyToken()
    reset = written_var.set(collecting)
    try:
        note_written({MC: 3, MD: 1})
        note_written({MC: 2})
        note_written({})
    finally:
        written_var.reset(reset)
    assert collecting == ConsistencyToken.of_types({MC: 3, MD: 1})
