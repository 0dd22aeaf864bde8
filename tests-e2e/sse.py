"""A server-sent event client for the tests: reads one stream in a thread and keeps
every event (and comment) it receives, in order."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseStream:
    """``GET /api/v1/me/stream`` held open in a thread; ``next()`` waits for an event."""

    base_url: str
    token: str
    last_event_id: str | None = None
    events: queue.Queue[SseEvent] = field(default_factory=queue.Queue)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    body: str = ""
    _client: httpx.Client | None = None

    def start(self) -> SseStream:
        threading.Thread(target=self._run, daemon=True).start()
        assert self.opened.wait(15), "stream did not answer"
        return self

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        self._client = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(15, read=60))
        try:
            with self._client.stream("GET", "/api/v1/me/stream", headers=headers) as r:
                self.status = r.status_code
                self.opened.set()
                if r.status_code != 200:
                    self.body = r.read().decode()
                    return
                fields: dict[str, str] = {}
                for line in r.iter_lines():
                    if line == "":
                        if "event" in fields or "data" in fields:
                            self.events.put(
                                SseEvent(
                                    fields.get("event", "message"),
                                    fields.get("data", ""),
                                    fields.get("id"),
                                )
                            )
                        fields = {}
                    elif line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def next(self, timeout: float = 5.0, kind: str | None = None) -> SseEvent:
        """The next event (of ``kind``, skipping others) within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout}s")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if kind is None or event.event == kind:
                return event

    def drain(self, wait: float = 0.0) -> list[SseEvent]:
        """Every event received so far (after waiting ``wait`` seconds)."""
        time.sleep(wait)
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
