"""Test-only fault injection at named points (relay, consumers).

Enabled only when settings allow it (never in production: the settings validator
refuses ``fault_injection`` with ``service_env=production``). Points to fire are
named in ``SYLLABUS_FAULTS`` as ``point=action`` pairs (``kill``, ``raise``, or
``delay:<seconds>`` to hold the point that long: a slow database, a long batch),
comma-separated, e.g. ``relay.after_publish=kill,consumer.before_commit=delay:0.2``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable


class InjectedFault(RuntimeError):
    pass


def fault_hook(enabled: bool) -> Callable[[str], Awaitable[None]]:
    actions: dict[str, str] = {}
    if enabled:
        for pair in os.environ.get("SYLLABUS_FAULTS", "").split(","):
            point, _, action = pair.partition("=")
            if point.strip():
                actions[point.strip()] = action.strip() or "raise"

    async def hook(point: str) -> None:
        action = actions.get(point)
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "raise":
            raise InjectedFault(point)
        elif action is not None and action.startswith("delay:"):
            await asyncio.sleep(float(action.removeprefix("delay:")))

    return hook
