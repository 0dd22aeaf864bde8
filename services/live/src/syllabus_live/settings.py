"""Live settings, from the environment (``ServiceSettings`` plus the stream's limits)."""

from __future__ import annotations

from pydantic import Field
from syllabus_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "live"
    # Open streams one person may hold on one instance (the API's limit: 5; 429 beyond).
    max_streams_per_user: int = Field(default=5, ge=1)
    # A comment line after this long without an event (proxies and clients see it alive).
    heartbeat_seconds: float = Field(default=15.0, gt=0)
    # Events waiting for one slow client; past it the backlog is dropped for a ``reset``.
    queue_size: int = Field(default=256, ge=8)
    # Missed events sent on a resume at most; past it the client gets a ``reset``.
    replay_limit: int = Field(default=500, ge=1)
    # At most one ``roster`` event per course per this many seconds, per stream.
    roster_interval_seconds: float = Field(default=1.0, ge=0)
