"""Real HTTP for the gateway tests: tiny FastAPI upstreams served by uvicorn on free ports.

(A uniquely named module rather than conftest.py, so tests can import it by name.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, create_model
from syllabus_devkit.embedded import binary_path, find_free_port


class ServedApp:
    """An ASGI app served by uvicorn in a background thread, on 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServedApp:
        for _attempt in range(5):  # a free port can be taken before we bind it: retry
            self.port = find_free_port()
            config = uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
            self._server = uvicorn.Server(config)
            self._thread = threading.Thread(target=self._server.run, daemon=True)
            self._thread.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self._thread.is_alive():
                if self._server.started:
                    return self
                time.sleep(0.01)
            self.stop()
        raise RuntimeError("could not start a test upstream")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._thread = None


@contextmanager
def served(app: Any) -> Iterator[ServedApp]:
    """Serve ``app`` for the duration of the block."""
    server = ServedApp(app).start()
    try:
        yield server
    finally:
        server.stop()


class Course(BaseModel):
    """Identical in two services: must appear once in the merged document."""

    id: str
    title: str


def make_service(name: str, *, ready: bool = True) -> FastAPI:
    """A stand-in service: public routes under /api/v1, the three operations routes,
    and a catch-all that reports what it received (path, request id, traceparent)."""
    app = FastAPI(title=name)
    state = {"ready": ready}
    app.state.flags = state

    # "Problem" is defined differently by each service: renamed per service when merged.
    fields: dict[str, Any] = {"detail": (str, ...), f"{name}_only": (int, 0)}
    problem = create_model("Problem", **fields)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if state["ready"]:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready"}, status_code=503)

    @app.get(f"/api/v1/{name}/items/{{item_id}}", responses={404: {"model": problem}})
    async def get_item(item_id: str) -> Course:
        return Course(id=item_id, title=name)

    @app.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def echo(path: str, request: Request) -> Response:
        if "slow" in path:
            await asyncio.sleep(1.5)
        body = await request.body()
        request_id = request.headers.get("x-request-id", "")
        return JSONResponse(
            {
                "service": name,
                "server_port": request.scope["server"][1],
                "path": request.url.path,
                "request_id": request_id,
                "request_ids": request.headers.getlist("x-request-id"),
                "traceparent": request.headers.get("traceparent"),
                "body_bytes": len(body),
            },
            # Like the real services, echo the request ID: the gateway must not duplicate it.
            headers={"X-Request-ID": request_id},
        )

    return app


class RunningCaddy:
    """A real ``caddy run`` process serving a rendered Caddyfile."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
        self.process = process
        self.port = port
        self.log_file = log_file

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def run_caddy(render: Callable[[int], str], workdir: Path) -> Iterator[RunningCaddy]:
    """Render a Caddyfile for a free port and run caddy on it until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        # Keep caddy's autosave/data dirs out of $HOME.
        "XDG_CONFIG_HOME": str(workdir / "config"),
        "XDG_DATA_HOME": str(workdir / "data"),
        "HOME": str(workdir),
    }
    for _attempt in range(5):
        port = find_free_port()
        caddyfile = workdir / "Caddyfile"
        caddyfile.write_text(render(port))
        output = (workdir / "caddy.out").open("ab")
        process = subprocess.Popen(
            [binary_path("caddy"), "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
        output.close()
        caddy = RunningCaddy(process, port, workdir / "caddy.log")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{caddy.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
        if process.poll() is None:
            try:
                yield caddy
            finally:
                process.terminate()
                process.wait(10)
            return
    raise RuntimeError(f"caddy did not start: {(workdir / 'caddy.out').read_text()[-2000:]}")
