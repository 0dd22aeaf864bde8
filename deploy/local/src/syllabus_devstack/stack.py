"""The stack definition (``deploy/stack.toml``) and where things live on disk."""

from __future__ import annotations

import importlib.util
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the stack: its Python module and its own database."""

    name: str
    module: str
    database: str | None
    ready_before_next: bool = False
    consume: bool = True  # gets a ``consume`` process (relay, consumers) of its own

    def is_available(self) -> bool:
        """Whether ``python -m <module>`` can run here (the package is built and installed)."""
        return module_runnable(self.module)


@dataclass(frozen=True)
class GatewaySpec:
    """The gateway: its sidecar module, the routing table, and the public port."""

    module: str
    routes: Path
    port: int


@dataclass(frozen=True)
class Stack:
    """Everything ``deploy/stack.toml`` says."""

    services: tuple[ServiceSpec, ...]
    gateway: GatewaySpec


def module_runnable(module: str) -> bool:
    """Whether ``python -m module`` can run here, without running (or importing) it.

    A package needs a ``__main__`` (finding it imports the package itself, not the
    ``__main__``); a plain module only needs to exist.
    """
    try:
        spec = importlib.util.find_spec(module)
        if spec is None:
            return False
        if spec.submodule_search_locations is None:
            return True
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ImportError:
        return False


def load_stack(path: Path) -> Stack:
    """Read a stack file; relative paths in it are relative to the file."""
    data = tomllib.loads(path.read_text())
    services = tuple(
        ServiceSpec(
            name=entry["name"],
            module=entry.get("module", f"syllabus_{entry['name']}"),
            # ``database = false``: a service that stores nothing (live, web).
            database=entry.get("database", f"syllabus_{entry['name']}") or None,
            ready_before_next=bool(entry.get("ready_before_next", False)),
            consume=bool(entry.get("consume", True)),
        )
        for entry in data.get("service", [])
    )
    names = [s.name for s in services]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate service names in {path}: {names}")
    gateway = data.get("gateway", {})
    return Stack(
        services=services,
        gateway=GatewaySpec(
            module=gateway.get("module", "syllabus_gateway"),
            routes=(path.parent / gateway.get("routes", "gateway/routes.toml")).resolve(),
            port=int(gateway.get("port", 8000)),
        ),
    )


def find_repo_root(start: Path | None = None) -> Path:
    """The repository root: ``SYLLABUS_ROOT``, else the nearest parent with deploy/stack.toml.

    Looked up from the working directory first, then from this file (an editable install
    lives in the repository).
    """
    if env := os.environ.get("SYLLABUS_ROOT"):
        return Path(env).resolve()
    for origin in (start or Path.cwd(), Path(__file__)):
        for candidate in (origin.resolve(), *origin.resolve().parents):
            if (candidate / "deploy" / "stack.toml").is_file():
                return candidate
    raise FileNotFoundError(
        "cannot find the repository root (no deploy/stack.toml); set SYLLABUS_ROOT"
    )
