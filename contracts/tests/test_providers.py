"""Producer verification: every provider's real events satisfy every consumer's pact.

The events come from the providers' real code (see scenarios.py), not from the
contract classes alone, so a producer that stops filling a field fails here too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
import pytest_asyncio
from scenarios import Captured, run_all
from syllabus_devkit.pacts import (
    Pact,
    check_samples,
    check_schema,
    load_pacts,
    verify_schemas,
)
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.contracts import EVENTS_BY_TYPE, Envelope
from syllabus_shared.contracts import content as content_events
from syllabus_shared.contracts.export import drift, schemas

from conftest import PACTS_DIR, SCHEMAS_DIR, SERVICES, Service, running

PACTS = load_pacts(PACTS_DIR)
BY_CONSUMER = {p.consumer: p for p in PACTS}
# Published but consumed by no service yet; listed so a new event is a conscious choice.
# SubmissionGraded: progress will consume it with the completion rules (min_score).
# Notices: read by the live service from the LIVE stream (no durable consumer; its reading
# is tested end to end in tests-e2e/test_live.py).
UNCONSUMED = {
    "syllabus.identity.UserRoleChanged.v1",
    "syllabus.progress.Notice.v1",
    "syllabus.assessment.Notice.v1",
}
PROGRESS_FROM_CONTENT = "progress-from-content"
POST_CREATED = "syllabus.content.PostCreated.v1"


@pytest_asyncio.fixture(scope="module")
async def captured(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[Captured]:
    async with AsyncExitStack() as stack:
        services = {
            name: await stack.enter_async_context(running(name, databases, nats_url, tokens))
            for name in SERVICES
        }
        yield await run_all(services)


def _problems_for(pact: Pact, captured: Captured) -> list[str]:
    samples = captured.samples()
    problems = []
    for event_type in pact.events:
        problems += check_samples(pact, event_type, samples.get(event_type, []))
    return problems


@pytest.mark.parametrize("pact", PACTS, ids=[p.consumer for p in PACTS])
def test_provider_events_satisfy_the_consumer(pact: Pact, captured: Captured) -> None:
    problems = _problems_for(pact, captured)
    assert not problems, "\n".join(problems)


def test_every_producer_scenario_ran_to_the_end(captured: Captured) -> None:
    assert not captured.errors, captured.errors


def test_each_provider_emitted_every_event_it_publishes(captured: Captured) -> None:
    emitted = {e["type"] for e in captured.envelopes()}
    missing = sorted(set(EVENTS_BY_TYPE) - emitted)
    assert not missing, f"extend contracts/tests/scenarios.py to emit: {missing}"


def test_every_published_event_is_consumed_or_declared_unconsumed() -> None:
    consumed = {t for p in PACTS for t in p.events}
    assert consumed <= set(EVENTS_BY_TYPE), sorted(consumed - set(EVENTS_BY_TYPE))
    orphans = sorted(set(EVENTS_BY_TYPE) - consumed - UNCONSUMED)
    assert not orphans, f"no pact consumes {orphans}: add one or list them in UNCONSUMED"
    assert not UNCONSUMED & consumed, "UNCONSUMED lists events that now have consumers"


def test_envelopes_are_well_formed_and_match_their_contract(captured: Captured) -> None:
    for envelope in captured.envelopes():
        parsed = Envelope.model_validate(envelope)
        cls = EVENTS_BY_TYPE[parsed.type]
        event = cls.model_validate(parsed.data)
        assert parsed.source == cls.source and parsed.aggregatetype == cls.aggregate
        assert parsed.subject == str(event.subject_id())
        assert uuid.UUID(str(parsed.id)).version == 7


def test_consumers_applied_every_event_they_were_sent(captured: Captured) -> None:
    failed = [o for o in captured.outcomes if o[2] != "applied"]
    assert not failed, failed
    assert {service for service, _, _ in captured.outcomes} == {
        "identity",
        "catalog",
        "content",
        "progress",
        "assessment",
    }


# ---------------------------------------------------------------- the exported schemas


def test_checked_in_schemas_are_current() -> None:
    problems = drift(SCHEMAS_DIR)
    assert not problems, f"run `make schemas` and review the diff: {problems}"


def test_checked_in_schemas_satisfy_every_pact() -> None:
    problems = verify_schemas(PACTS, SCHEMAS_DIR)
    assert not problems, "\n".join(problems)


def test_schemas_from_the_code_satisfy_every_pact() -> None:
    live = schemas()
    problems = [
        problem
        for pact in PACTS
        for event_type in pact.events
        for problem in check_schema(pact, event_type, live[f"{event_type}.json"])
    ]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- breaking vs additive


def _checked_in(event_type: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMAS_DIR / f"{event_type}.json").read_text())
    return loaded


def test_removing_a_consumed_field_from_a_schema_fails_naming_consumer_event_field() -> None:
    schema = _checked_in(POST_CREATED)
    del schema["properties"]["kind"]  # type: ignore[attr-defined]
    schema["required"].remove("kind")  # type: ignore[attr-defined]
    problems = check_schema(BY_CONSUMER[PROGRESS_FROM_CONTENT], POST_CREATED, schema)
    assert problems == [
        "consumer progress-from-content relies on syllabus.content.PostCreated.v1"
        " field 'kind' (string): missing from the schema"
    ]


def test_retyping_or_loosening_a_consumed_field_fails() -> None:
    schema = _checked_in(POST_CREATED)
    schema["properties"]["position"] = {"type": "string"}  # type: ignore[index]
    schema["properties"]["title"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}  # type: ignore[index]
    schema["required"].remove("module_id")  # type: ignore[attr-defined]
    problems = check_schema(BY_CONSUMER[PROGRESS_FROM_CONTENT], POST_CREATED, schema)
    prefix = "consumer progress-from-content relies on syllabus.content.PostCreated.v1 field"
    assert problems == [
        f"{prefix} 'module_id' (uuid): optional in the schema",
        f"{prefix} 'title' (string): the schema allows null",
        f"{prefix} 'position' (integer): the schema says string",
    ]


def test_adding_fields_to_a_schema_passes() -> None:
    schema = _checked_in(POST_CREATED)
    schema["properties"]["summary"] = {  # type: ignore[index]
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    schema["properties"]["estimated_minutes"] = {"type": "integer"}  # type: ignore[index]
    schema["required"].append("estimated_minutes")  # type: ignore[attr-defined]
    for pact in PACTS:
        assert check_schema(pact, POST_CREATED, schema) == []


class _PostCreatedWithoutKind(content_events.PostEvent):
    """An in-test copy of PostCreated with ``kind`` deleted."""

    name = "PostCreated"
    title: str
    status: str
    position: int
    max_points: int | None = None
    creator_id: uuid.UUID
    completion: content_events.CompletionRule | None = None


class _PostCreatedWithSummary(content_events.PostCreated):
    """An in-test copy of PostCreated with an added optional field."""

    summary: str | None = None


async def _content_events_with(
    cls: type[content_events.PostCreated] | type[_PostCreatedWithoutKind],
    monkeypatch: pytest.MonkeyPatch,
    databases: Databases,
    nats_url: str,
    tokens: TokenFactory,
) -> tuple[list[str], list[str]]:
    """Run content's real post creation with ``cls`` as its PostCreated contract; returns
    (problems in the events it wrote, problems in the schema exported from ``cls``)."""
    monkeypatch.setattr(content_events, "PostCreated", cls)
    schema = cls.model_json_schema()
    pact = BY_CONSUMER[PROGRESS_FROM_CONTENT]
    async with running("content", databases, nats_url, tokens) as content:
        me = (uuid.uuid4(), "instructor")
        module_id = uuid.uuid4()
        await _know_module(content, module_id, me[0])
        await content.call(
            "POST",
            f"/modules/{module_id}/posts",
            me,
            201,
            json={"title": "P", "content": {"kind": "text", "body": "b"}},
        )
        envelopes = [json.loads(p) for p in await content.outbox()]
    samples = [e["data"] for e in envelopes if e["type"] == POST_CREATED]
    return check_samples(pact, POST_CREATED, samples), check_schema(pact, POST_CREATED, schema)


async def _know_module(content: Service, module_id: uuid.UUID, owner: uuid.UUID) -> None:
    """Tell content about a module the way catalog does: a ModuleCreated envelope."""
    from syllabus_shared.contracts.catalog import ModuleCreated
    from syllabus_shared.messaging.outbox import Outbox

    event = ModuleCreated(module_id=module_id, title="M", creator_id=owner)
    envelope = Outbox(content.runtime.tables, source="catalog").envelope(event, sequence=1)
    assert await content.feed([envelope.model_dump_json().encode()]) == [
        ("syllabus.catalog.ModuleCreated.v1", "applied")
    ]


async def test_a_producer_dropping_a_consumed_field_fails(
    monkeypatch: pytest.MonkeyPatch, databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    from_events, from_schema = await _content_events_with(
        _PostCreatedWithoutKind, monkeypatch, databases, nats_url, tokens
    )
    expected = (
        "consumer progress-from-content relies on syllabus.content.PostCreated.v1"
        " field 'kind' (string): missing"
    )
    assert from_events == [expected]
    assert from_schema == [f"{expected} from the schema"]


async def test_a_producer_adding_an_optional_field_passes(
    monkeypatch: pytest.MonkeyPatch, databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    from_events, from_schema = await _content_events_with(
        _PostCreatedWithSummary, monkeypatch, databases, nats_url, tokens
    )
    assert from_events == [] and from_schema == []
