"""Test-only fault injection: the actions a ``SYLLABUS_FAULTS`` point can take."""

from __future__ import annotations

import time

import pytest
from syllabus_shared.faults import InjectedFault, fault_hook


async def test_armed_points_raise_or_delay_and_others_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYLLABUS_FAULTS", "a.point=raise,slow.point=delay:0.2")
    hook = fault_hook(True)
    with pytest.raises(InjectedFault):
        await hook("a.point")
    started = time.monotonic()
    await hook("slow.point")
    assert time.monotonic() - started >= 0.19
    started = time.monotonic()
    await hook("another.point")  # not armed: nothing happens
    assert time.monotonic() - started < 0.1


async def test_nothing_fires_when_fault_injection_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYLLABUS_FAULTS", "a.point=raise")
    await fault_hook(False)("a.point")  # disabled: no raise
