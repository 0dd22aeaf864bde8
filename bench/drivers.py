"""Run one HTTP load in a separate process: wrk when installed (with a generated Lua
script), else the bench's own Python generator (``loadgen.py``). Same result shape."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent

Request = tuple[str, str, dict[str, str], Any]  # method, path, headers, JSON body or None

LUA = r"""
local scripts = %s
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local s = scripts[(id %% #scripts) + 1]
  reqs = {}
  for i, r in ipairs(s) do
    local body = nil
    if r[4] ~= "" then body = r[4] end
    reqs[i] = wrk.format(r[1], r[2], r[3], body)
  end
  step = 0
end
function request()
  step = step + 1
  return reqs[((step - 1) %% #reqs) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def _lua_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _lua_scripts(scripts: list[list[Request]]) -> str:
    out = []
    for script in scripts:
        reqs = []
        for method, path, headers, body in script:
            hdrs = dict(headers)
            data = ""
            if body is not None:
                data = json.dumps(body)
                hdrs["Content-Type"] = "application/json"
            elif method in ("PUT", "POST", "PATCH"):
                hdrs["Content-Length"] = "0"
            h = "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in hdrs.items()) + "}"
            reqs.append(f"{{{_lua_str(method)}, {_lua_str(path)}, {h}, {_lua_str(data)}}}")
        out.append("{" + ", ".join(reqs) + "}")
    return "{" + ", ".join(out) + "}"


def wrk_version() -> str | None:
    exe = shutil.which("wrk")
    if not exe:
        return None
    proc = subprocess.run([exe, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    m = re.search(r"wrk (\S+)", proc.stdout + proc.stderr)
    return f"wrk {m.group(1)}" if m else "wrk"


def run_wrk(
    base: str, scripts: list[list[Request]], connections: int, duration: float, warmup: float
) -> dict[str, Any]:
    exe = shutil.which("wrk")
    assert exe
    duration, warmup = max(1, round(duration)), round(warmup)  # wrk takes whole seconds
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % _lua_scripts(scripts))
        lua = f.name
    # One thread per connection: each connection replays its own script in order.
    argv = [exe, "-t", str(connections), "-c", str(connections), "-s", lua, "--timeout", "10s"]
    try:
        if warmup > 0:
            subprocess.run([*argv, "-d", f"{warmup:g}s", base], capture_output=True, check=True)  # noqa: S603
        proc = subprocess.run(  # noqa: S603
            [*argv, "-d", f"{duration:g}s", base],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(lua).unlink(missing_ok=True)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("WRKJSON "))
    r = json.loads(line.removeprefix("WRKJSON "))
    secs = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
    ok = r["requests"] - r["status"]
    return {
        "tool": "wrk",
        "requests": r["requests"],
        "ok": ok,
        "errors": errors,
        "rps": round(ok / secs, 1),
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "connections": connections,
        "duration": round(secs, 2),
    }


def run_python(
    base: str,
    scripts: list[list[Request]],
    connections: int,
    duration: float,
    warmup: float,
    rate: float | None = None,
    pause_after_503: float = 0.0,
) -> dict[str, Any]:
    url = urlsplit(base)
    spec = {
        "host": url.hostname,
        "port": url.port,
        "connections": connections,
        "duration": duration,
        "warmup": warmup,
        "rate": rate,
        "pause_after_503": pause_after_503,
        "scripts": scripts,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        proc = subprocess.run(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(HERE / "loadgen.py"), path],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + warmup + 120,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def load(
    tool: str,
    base: str,
    scripts: list[list[Request]],
    connections: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    if tool == "wrk":
        return run_wrk(base, scripts, connections, duration, warmup)
    return run_python(base, scripts, connections, duration, warmup)
