"""Consumer side: each pact is exactly what the consumer's real handlers read.

For every event type a subscription handles, the handler runs (in the consumer's own
migrated database) on the minimal event its pact describes, through a view that lets
it read only the fields the pact lists. A handler reading anything else fails here, so
a pact cannot silently fall behind its consumer; a pact field no handler reads fails
too, so a pact never keeps producers from removing a field nobody uses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from syllabus_devkit.pacts import Expectation, Pact, load_pacts, minimal_event
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.contracts import EVENTS_BY_TYPE
from syllabus_shared.messaging.consumer import Subscription
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import PACTS_DIR, SERVICES, Service, running

PACTS = load_pacts(PACTS_DIR)


class UnlistedRead(Exception):
    """A handler read a field its pact does not list (not an AttributeError: never hidden
    by ``getattr(..., default)``)."""


class PactView:
    """An event as its pact describes it: listed fields only, each read recorded."""

    def __init__(
        self, data: dict[str, Any], prefix: str, pact: Pact, event_type: str, reads: set[str]
    ) -> None:
        self._data = data
        self._prefix = prefix
        self._pact = pact
        self._event_type = event_type
        self._reads = reads
        self._fields = {e.path: e for e in pact.events[event_type]}

    def __getattr__(self, name: str) -> Any:
        path = f"{self._prefix}{name}"
        expectation = self._fields.get(path)
        if expectation is None or name not in self._data:
            raise UnlistedRead(
                f"consumer {self._pact.consumer} reads {self._event_type} field '{path}',"
                f" which {PACTS_DIR.name}/{self._pact.consumer}.json does not list"
            )
        self._reads.add(path)
        return self._python(self._data[name], expectation, path)

    def _python(self, value: Any, e: Expectation, path: str) -> Any:
        """The value as the contract class would hand it to the handler."""
        if value is None:
            return None
        if e.type == "uuid":
            return uuid.UUID(value)
        if e.type == "date-time":
            return dt.datetime.fromisoformat(value)
        if e.type == "array":
            return [
                PactView(v, f"{path}[].", self._pact, self._event_type, self._reads)
                if isinstance(v, dict)
                else v
                for v in value
            ]
        if e.type == "object":
            return PactView(value, f"{path}.", self._pact, self._event_type, self._reads)
        return value


@pytest_asyncio.fixture(scope="module")
async def consumers(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[dict[str, tuple[Service, Subscription]]]:
    """Durable consumer name → (its service's app, its subscription)."""
    async with AsyncExitStack() as stack:
        found: dict[str, tuple[Service, Subscription]] = {}
        for name in SERVICES:
            service = await stack.enter_async_context(running(name, databases, nats_url, tokens))
            for consumer in service.runtime.consumers:
                found[consumer.subscription.name] = (service, consumer.subscription)
        yield found


def test_every_subscription_has_a_matching_pact(
    consumers: dict[str, tuple[Service, Subscription]],
) -> None:
    pacts = {p.consumer: p for p in PACTS}
    problems = []
    for name, (service, subscription) in sorted(consumers.items()):
        pact = pacts.get(name)
        if pact is None:
            problems.append(f"consumer {name} has no pact: add {PACTS_DIR.name}/{name}.json")
            continue
        if (pact.service, pact.provider) != (service.name, subscription.source):
            problems.append(
                f"{name}.json says {pact.service} consumes {pact.provider}; it is"
                f" {service.name} consuming {subscription.source}"
            )
        handled = {cls.type_name() for cls in subscription.handlers}
        problems += [
            f"consumer {name} handles {t} but its pact does not list it"
            for t in sorted(handled - set(pact.events))
        ]
        problems += [
            f"consumer {name}'s pact lists {t}, which it no longer handles"
            for t in sorted(set(pact.events) - handled)
        ]
    problems += [f"pact for unknown consumer {n}" for n in sorted(set(pacts) - set(consumers))]
    assert not problems, "\n".join(problems)


async def handler_problems(pact: Pact, service: Service, subscription: Subscription) -> list[str]:
    """Run each handler on the pact's minimal event; what it read beyond or short of it."""
    problems = []
    for event_type in sorted(pact.events):
        found = subscription.handler_for(event_type)
        assert found is not None, event_type
        _, handler = found
        data = minimal_event(pact, event_type)
        reads: set[str] = set()
        event = PactView(data, "", pact, event_type, reads)
        try:
            async with service.runtime.db.transaction() as session:
                # As the consumer runs it: a unit of work joined to its transaction.
                rt = service.runtime
                await handler(UnitOfWork.joining(rt.db, rt.outbox, session), event)
        except UnlistedRead as exc:
            problems.append(str(exc))
            continue
        unread = sorted(e.path for e in pact.events[event_type] if e.path not in reads)
        problems += [
            f"consumer {pact.consumer}'s pact lists {event_type} field '{path}',"
            " which its handler never reads: remove it"
            for path in unread
        ]
    return problems


@pytest.mark.parametrize("pact", PACTS, ids=[p.consumer for p in PACTS])
async def test_handlers_read_exactly_what_the_pact_lists(
    pact: Pact, consumers: dict[str, tuple[Service, Subscription]]
) -> None:
    problems = await handler_problems(pact, *consumers[pact.consumer])
    assert not problems, "\n".join(problems)


def _edited(pact: Pact, event_type: str, fields: tuple[Expectation, ...]) -> Pact:
    return replace(pact, events={event_type: fields})


async def test_a_pact_that_omits_a_field_the_handler_reads_fails(
    consumers: dict[str, tuple[Service, Subscription]],
) -> None:
    pact = next(p for p in PACTS if p.consumer == "progress-from-content")
    event_type = "syllabus.content.PostCreated.v1"
    fields = tuple(e for e in pact.events[event_type] if e.path != "kind")
    problems = await handler_problems(_edited(pact, event_type, fields), *consumers[pact.consumer])
    assert problems == [
        "consumer progress-from-content reads syllabus.content.PostCreated.v1 field 'kind',"
        " which pacts/progress-from-content.json does not list"
    ]


async def test_a_pact_that_lists_a_field_no_handler_reads_fails(
    consumers: dict[str, tuple[Service, Subscription]],
) -> None:
    pact = next(p for p in PACTS if p.consumer == "catalog-from-progress")
    event_type = "syllabus.progress.EnrollmentCreated.v1"
    fields = (*pact.events[event_type], Expectation("enrolled_at", "date-time"))
    problems = await handler_problems(_edited(pact, event_type, fields), *consumers[pact.consumer])
    assert problems == [
        "consumer catalog-from-progress's pact lists syllabus.progress.EnrollmentCreated.v1"
        " field 'enrolled_at', which its handler never reads: remove it"
    ]


def test_pacts_name_real_event_types() -> None:
    unknown = sorted({t for p in PACTS for t in p.events} - set(EVENTS_BY_TYPE))
    assert not unknown, unknown
