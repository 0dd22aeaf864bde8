"""Generate the typed Python client ``syllabus_client`` from the merged public OpenAPI
document, or check that the checked-in package is exactly what the generator makes.

``python clients/python/generate.py [--check]`` (``make client``; ``make lint`` runs
``--check``): openapi-python-client (the version ``uv.lock`` pins) reads
``contracts/openapi.json`` with ``generator.yaml`` into a temporary directory (any warning
fails: a schema it cannot express would silently drop operations), ruff formats the
result with fixed settings so it does not depend on where it was generated, and the
package replaces ``src/syllabus_client`` (or is compared with it). The package is never
edited by hand: change a route, ``make openapi``, ``make client``, commit all three.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OPENAPI_JSON = ROOT / "contracts" / "openapi.json"
CONFIG = HERE / "generator.yaml"
PACKAGE = HERE / "src" / "syllabus_client"
# No config file (--isolated): the same output wherever it is generated.
RUFF = ("--isolated", "--quiet", "--target-version", "py311", "--line-length", "100")


def generate(workdir: Path) -> Path:
    """Generate the package into ``workdir``; returns its directory."""
    out = workdir / PACKAGE.name
    tool = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(  # noqa: S603 (our own arguments)
        [
            str(tool),
            "generate",
            "--path",
            str(OPENAPI_JSON),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--fail-on-warning",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (out / "py.typed").touch()  # PEP 561: the package is typed
    ruff = [sys.executable, "-m", "ruff"]
    fix = ["check", *RUFF, "--select", "F,I,UP", "--fix-only", "--exit-zero"]
    subprocess.run([*ruff, *fix, out.name], cwd=workdir, check=True)  # noqa: S603
    subprocess.run([*ruff, "format", *RUFF, out.name], cwd=workdir, check=True)  # noqa: S603
    return out


def files(root: Path) -> dict[str, str]:
    """Relative path → text of every file under ``root`` (bytecode caches left out)."""
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def drift(expected: dict[str, str], found: dict[str, str], limit: int = 60) -> str:
    """What differs between the generated files and the checked-in ones, as a message."""
    name = PACKAGE.relative_to(ROOT).as_posix()
    changes = [f"removed {p}" for p in sorted(found.keys() - expected.keys())]
    changes += [f"added {p}" for p in sorted(expected.keys() - found.keys())]
    changed = [p for p in sorted(expected.keys() & found.keys()) if expected[p] != found[p]]
    changes += [f"changed {p}" for p in changed]
    lines: list[str] = []
    for path in changed:
        lines += difflib.unified_diff(
            found[path].splitlines(),
            expected[path].splitlines(),
            f"{name}/{path} (checked in)",
            f"{name}/{path} (generated)",
            lineterm="",
            n=1,
        )
    shown = "\n".join(lines[:limit])
    more = f"\n... {len(lines) - limit} more diff lines" if len(lines) > limit else ""
    return (
        f"the generated client differs from {name}; run `make client` and commit it:\n  "
        + "\n  ".join(changes)
        + (f"\n{shown}{more}" if shown else "")
    )


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="syllabus-client-") as workdir:
        out = generate(Path(workdir))
        if "--check" in argv:
            expected, found = files(out), files(PACKAGE)
            if expected != found:
                print(drift(expected, found), file=sys.stderr)
                return 1
            return 0
        shutil.rmtree(PACKAGE, ignore_errors=True)
        shutil.copytree(out, PACKAGE)
    print(f"wrote {PACKAGE.relative_to(ROOT)} from {OPENAPI_JSON.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
