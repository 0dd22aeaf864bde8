"""The chaos run, short (``make test``): workload + every kind of fault, heal, drain, check.
``make chaos`` runs the long one (``chaos.py``, default 150 s of faults)."""

from __future__ import annotations

import pytest

from chaos import ALL_FAULTS, chaos
from harness import ReliabilityStack

from conftest import settle

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_chaos_short(stack: ReliabilityStack, request: pytest.FixtureRequest) -> None:
    seconds = request.config.getoption("--chaos-seconds") or 15.0
    await settle(stack)
    result = await chaos(
        stack,
        duration=seconds,
        instructors=2,
        students=4,
        seed=2026,
        interval=(2.0, 3.5),
        kinds=ALL_FAULTS,
        drain_timeout=90,
        min_faults=4,
    )
    print("\n".join(result.lines()))
    assert sum(result.faults.values()) >= 4, result.nemesis_log
    assert result.acknowledged > 100
    assert result.converged, result.projections.samples
    assert result.projections.ok, result.projections.samples
    assert result.history.ok, result.history.samples
