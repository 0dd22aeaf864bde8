"""Export the event JSON Schemas into the repo (``contracts/schemas``).

``python -m syllabus_shared.contracts.export [--check] [DIR]``: with ``--check``,
exit 1 when the files on disk differ from the code (schema drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from syllabus_shared.contracts import ALL_EVENTS, Envelope


def schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for the envelope and every event's ``data``."""
    out: dict[str, dict[str, Any]] = {"envelope.json": Envelope.model_json_schema()}
    for cls in ALL_EVENTS:
        schema = cls.model_json_schema()
        schema["title"] = cls.type_name()
        schema["x-aggregate"] = cls.aggregate
        schema["x-subject"] = cls.subject_suffix()
        out[f"{cls.type_name()}.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def drift(directory: Path) -> list[str]:
    """Names of schema files that are missing, stale or unexpected in ``directory``."""
    expected = {name: render(s) for name, s in schemas().items()}
    found = {p.name: p.read_text() for p in directory.glob("*.json")} if directory.exists() else {}
    problems = [f"missing or stale: {n}" for n, text in expected.items() if found.get(n) != text]
    problems += [f"unexpected: {n}" for n in found if n not in expected]
    return sorted(problems)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if not a.startswith("--")]
    directory = Path(args[0]) if args else Path("contracts/schemas")
    if check:
        problems = drift(directory)
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json"):
        old.unlink()
    for name, schema in schemas().items():
        (directory / name).write_text(render(schema))
    print(f"wrote {len(schemas())} schemas to {directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
