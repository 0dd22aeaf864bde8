# ruff: noqa: E501
"""A small HTTP/1.1 load generator, built for the bench and run as its own process.

Standard library only (uvloop when importable). Each connection is a keep-alive
socket that replays its own script of requests in a loop (so a write scenario can
alternate PUT and DELETE on one student's post without racing another connection).

    python loadgen.py SPEC.json      -> one JSON result on stdout

SPEC: {"host", "port", "connections", "duration", "warmup", "rate" (requests/s over all
connections, or null for closed loop), "scripts": [[[method, path, {headers}, body|null], ...], ...]}
Connection i runs scripts[i % len(scripts)]. Only responses completed after the warm-up
count; latency is send→last byte of the response.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


def _encode(
    host: str, port: int, method: str, path: str, headers: dict[str, str], body: Any
) -> bytes:
    data = b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    if body is not None:
        data = json.dumps(body).encode()
        lines.append("Content-Type: application/json")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(data)}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Conn(asyncio.Protocol):
    """One keep-alive connection; ``request`` sends bytes and waits for the whole response."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        status = self._complete()
        if status is not None and self.waiter and not self.waiter.done():
            self.waiter.set_result(status)

    def _complete(self) -> int | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).lower()
        status = int(head[9:12])
        body_start = end + 4
        i = head.find(b"\r\ncontent-length:")
        if i >= 0:
            j = head.find(b"\r\n", i + 2)
            length = int(head[i + 17 : j if j > 0 else len(head)])
            if len(self.buf) - body_start < length:
                return None
            del self.buf[: body_start + length]
            return status
        if b"\r\ntransfer-encoding: chunked" in head:
            pos = body_start
            while True:
                nl = self.buf.find(b"\r\n", pos)
                if nl < 0:
                    return None
                size = int(bytes(self.buf[pos:nl]).split(b";")[0], 16)
                if size == 0:
                    if len(self.buf) < nl + 4:
                        return None
                    del self.buf[: nl + 4]
                    return status
                pos = nl + 2 + size + 2
                if len(self.buf) < pos:
                    return None
        del self.buf[:body_start]  # no body (204, 304)
        return status

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], int(spec["port"])
    conns = int(spec["connections"])
    duration, warmup = float(spec["duration"]), float(spec.get("warmup", 1.0))
    rate = spec.get("rate")
    # A client honouring ``Retry-After`` (the overload rows): after a 503 the connection
    # waits this long before its next request.
    pause_after_503 = float(spec.get("pause_after_503") or 0.0)
    scripts = [
        [_encode(host, port, m, p, h or {}, b) for m, p, h, b in script]
        for script in spec["scripts"]
    ]
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    measure_from = start + warmup
    end = measure_from + duration
    latencies: list[float] = []
    admitted: list[float] = []  # latencies of the 2xx/3xx answers alone
    statuses: dict[str, int] = {}
    errors = 0
    clock = time.perf_counter  # uvloop's loop.time() has millisecond resolution
    tick = 0  # paced mode: the next scheduled send, shared by all connections

    async def worker(index: int) -> None:
        nonlocal errors, tick
        script = scripts[index % len(scripts)]
        step = 0
        proto: Conn | None = None
        while True:
            if rate:
                due = start + tick / rate
                tick += 1
                if due >= end:
                    return
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif loop.time() >= end:
                return
            if proto is None or proto.lost:
                _, proto = await loop.create_connection(Conn, host, port)
            sent, sent_at = clock(), loop.time()
            try:
                status = await proto.request(script[step % len(script)])
            except (ConnectionError, OSError):
                proto = None
                if loop.time() >= measure_from:
                    errors += 1
                continue
            step += 1
            done = clock()
            # Counted when sent and answered inside the window: a request sent during the
            # warm-up (e.g. the first burst of 128 fresh connections) is not a sample.
            if measure_from <= sent_at and loop.time() <= end:
                latencies.append(done - sent)
                if 200 <= status < 400:
                    admitted.append(done - sent)
                key = str(status)
                statuses[key] = statuses.get(key, 0) + 1
            if status == 503 and pause_after_503 > 0:
                await asyncio.sleep(pause_after_503)

    await asyncio.gather(*(worker(i) for i in range(conns)))
    latencies.sort()
    admitted.sort()

    def pct(p: float, xs: list[float] = latencies) -> float | None:
        if not xs:
            return None
        return round(xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000, 3)

    ok = sum(n for s, n in statuses.items() if s.startswith(("2", "3")))
    return {
        "tool": "python-loadgen",
        "requests": len(latencies),
        "ok": ok,
        "errors": errors + len(latencies) - ok,
        "statuses": statuses,
        "rps": round(ok / duration, 1),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "admitted_p50_ms": pct(50, admitted),
        "admitted_p99_ms": pct(99, admitted),
        "shed": statuses.get("503", 0),
        "connections": conns,
        "duration": duration,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    t0 = time.perf_counter()
    try:
        import uvloop  # type: ignore[import-not-found]

        result = uvloop.run(run(spec))
    except ImportError:
        result = asyncio.run(run(spec))
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
