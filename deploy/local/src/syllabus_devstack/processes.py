"""Child processes of the local stack: started, logged, probed and stopped the same way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

import httpx
from syllabus_devkit.embedded import parent_death_signal

T = TypeVar("T")
_COLORS = ("36", "32", "35", "33", "34", "96", "92", "95", "93", "94")


class StartupError(RuntimeError):
    """A part of the stack did not come up; the message says which and shows its log."""


async def gather_or_cancel(*aws: Awaitable[T]) -> list[T]:
    """Like ``asyncio.gather``, but when one fails the others are cancelled and awaited,
    so nothing keeps running (or starting processes) behind a failed step."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Console:
    """Mirrors children's output to our stdout, each line prefixed with the child's name."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.color = enabled and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        self._assigned: dict[str, str] = {}

    def line(self, name: str, text: str) -> None:
        """Print one line of ``name``'s output."""
        if not self.enabled:
            return
        prefix = f"{name:<12}|"
        if self.color:
            code = self._assigned.setdefault(name, _COLORS[len(self._assigned) % len(_COLORS)])
            prefix = f"\033[{code}m{prefix}\033[0m"
        print(f"{prefix} {text}", flush=True)


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file (empty if there is none)."""
    try:
        text = path.read_bytes()[-65536:].decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Child:
    """One process of the stack, with its output appended to ``log_path``.

    Started in its own session so a Ctrl-C in the terminal reaches only the runner, which
    then stops children in order; and with a parent-death signal so a ``kill -9`` of the
    runner does not leave them running.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        console: Console,
        cwd: Path,
        mirror: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.console = console
        self.cwd = cwd
        self.mirror = mirror
        self.url: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._log: IO[bytes] | None = None
        self.expected_exit = False

    @property
    def pid(self) -> int | None:
        """PID while started (it may have exited since)."""
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """Exit code once it has exited, else ``None``."""
        return self._proc.returncode if self._proc else None

    async def start(self) -> None:
        """Spawn the process and start copying its output to the log (and console)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"--- {stamp} devstack: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=parent_death_signal(signal.SIGTERM),
            limit=1 << 20,
        )
        self._pump = asyncio.create_task(self._copy_output(), name=f"log:{self.name}")

    async def _copy_output(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        assert self._log is not None
        async for raw in self._proc.stdout:
            self._log.write(raw)
            self._log.flush()
            if self.mirror:
                self.console.line(self.name, raw.decode(errors="replace").rstrip())

    async def wait(self) -> int:
        """Wait for the process to exit and its output to be fully logged."""
        assert self._proc is not None
        code = await self._proc.wait()
        if self._pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pump, 5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    async def run_to_completion(self, timeout: float) -> int:
        """Start, wait for exit (bounded); return the exit code."""
        await self.start()
        try:
            return await asyncio.wait_for(self.wait(), timeout)
        except asyncio.CancelledError:
            await self.stop()
            raise
        except TimeoutError:
            await self.stop()
            raise StartupError(
                f"{self.name} did not finish in {timeout:.0f}s; "
                f"last lines of {self.log_path}:\n{self.tail()}"
            ) from None

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL the process group."""
        proc = self._proc
        if proc is None:
            return
        self.expected_exit = True
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                self.console.line(self.name, f"did not stop in {timeout:.0f}s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        await self.wait()

    def tail(self, lines: int = 40) -> str:
        """The last lines of this child's log."""
        return log_tail(self.log_path, lines)

    def lost_its_port(self) -> bool:
        """Whether it exited because its port was taken meanwhile (worth a retry)."""
        text = self.tail(20).lower()
        return "address already in use" in text or "could not bind" in text

    async def wait_http_ready(self, url: str, timeout: float, client: httpx.AsyncClient) -> None:
        """Poll ``url`` until it answers 200; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.returncode is not None:
                await self.wait()
                raise StartupError(
                    f"{self.name} exited with code {self.returncode} before it was ready; "
                    f"last lines of {self.log_path}:\n{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(url, timeout=2)
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise StartupError(
            f"{self.name} not ready after {timeout:.0f}s ({url} never answered 200); "
            f"last lines of {self.log_path}:\n{self.tail()}"
        )
