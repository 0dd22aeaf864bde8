"""Test-only fault injection at named points (relay, consumers).

Enabled only when settings allow it (never in production: the settings validator
refuses ``fault_injection`` with ``service_env=production``). Points to fire are
named in ``SYLLABUS_FAULTS`` as ``point=action`` pairs (``kill`` or ``raise``),
comma-separated, e.g. ``relay.after_publish=kill``.
"""

from __future__ import annotations

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

    return hook
