"""The unit of work against a real PostgreSQL: state and events commit together or not at all,
inner blocks join the outer transaction, a joined unit never commits on its own."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, insert, select
from syllabus_shared.contracts.catalog import ModuleCreated
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel


def _uow(kernel: Kernel) -> UnitOfWork:
    return UnitOfWork(kernel.db, kernel.outbox)


async def _counts(kernel: Kernel) -> tuple[int, int]:
    async with kernel.db.transaction() as s:
        widgets = await s.scalar(select(func.count()).select_from(kernel.widgets))
        events = await s.scalar(select(func.count()).select_from(kernel.tables.outbox))
    return int(widgets or 0), int(events or 0)


async def _add_widget_and_event(uow: UnitOfWork, kernel: Kernel, name: str) -> None:
    async with uow:
        await uow.session.execute(insert(kernel.widgets).values(id=uuid.uuid4(), name=name))
        event = ModuleCreated(module_id=uuid.uuid4(), title=name, creator_id=uuid.uuid4())
        await uow.publish(event, sequence=1)


async def test_state_and_event_commit_together(kernel: Kernel) -> None:
    await _add_widget_and_event(_uow(kernel), kernel, "one")
    assert await _counts(kernel) == (1, 1)


async def test_an_error_rolls_back_state_and_event(kernel: Kernel) -> None:
    uow = _uow(kernel)
    with pytest.raises(RuntimeError, match="rule broken"):
        async with uow:
            await _add_widget_and_event(uow, kernel, "lost")
            raise RuntimeError("rule broken")
    assert await _counts(kernel) == (0, 0)
    assert not uow.is_open


async def test_inner_blocks_join_the_outer_transaction(kernel: Kernel) -> None:
    uow = _uow(kernel)
    async with uow:
        outer = uow.session
        await _add_widget_and_event(uow, kernel, "a")
        await _add_widget_and_event(uow, kernel, "b")
        assert uow.session is outer  # one transaction, not three
        # Not committed yet: another connection sees nothing.
        assert await _counts(kernel) == (0, 0)
    assert await _counts(kernel) == (2, 2)


async def test_a_joined_unit_leaves_commit_to_its_owner(kernel: Kernel) -> None:
    with pytest.raises(RuntimeError):
        async with kernel.db.transaction() as session:
            joined = UnitOfWork.joining(kernel.db, kernel.outbox, session)
            await _add_widget_and_event(joined, kernel, "owned")
            assert joined.is_open  # its own `async with` ended without committing
            raise RuntimeError("the owner fails later")
    assert await _counts(kernel) == (0, 0)


async def test_the_session_exists_only_inside(kernel: Kernel) -> None:
    uow = _uow(kernel)
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.session
    async with uow:
        assert uow.is_open
    # Usable again afterwards, as a new transaction.
    await _add_widget_and_event(uow, kernel, "again")
    assert await _counts(kernel) == (1, 1)


async def test_wait_for_without_a_watcher_checks_once(kernel: Kernel) -> None:
    uow = _uow(kernel)
    calls = []

    async def check() -> bool:
        calls.append(1)
        return False

    assert await uow.wait_for(check) is False
    assert calls == [1]
