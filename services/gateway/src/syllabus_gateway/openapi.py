"""Merge the services' OpenAPI documents into one document for the whole public API.

Pure functions, no I/O. Only public paths are kept (``/api/v1/...`` and the JWKS), and
only the components they reach. Components with the same name and the same definition
are shared; when two services define a name differently, each service's version is
renamed with the service as prefix (``Problem`` → ``CatalogProblem``) and every reference
to it in that service's part of the document follows, and so does its ``title`` (client
generators name classes by title).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

OPENAPI_VERSION = "3.1.0"
PUBLIC_PREFIXES = ("/api/v1/",)
PUBLIC_PATHS = frozenset({"/.well-known/jwks.json"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_REF_PREFIX = "#/components/"

JSON = dict[str, Any]


def is_public_path(path: str) -> bool:
    """Whether a path belongs to the public API served through the gateway."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _parse_ref(ref: str) -> tuple[str, str] | None:
    if not ref.startswith(_REF_PREFIX):
        return None
    section, _, name = ref.removeprefix(_REF_PREFIX).partition("/")
    if not name or "/" in name:
        return None
    return section, name.replace("~1", "/").replace("~0", "~")


def _make_ref(section: str, name: str) -> str:
    return f"{_REF_PREFIX}{section}/{name.replace('~', '~0').replace('/', '~1')}"


def _walk_refs(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (parsed := _parse_ref(ref)) is not None:
            yield parsed
        for value in node.values():
            yield from _walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_refs(item)


def _security_names(paths: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in paths.values():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                for requirement in operation.get("security", []):
                    names.update(requirement)
    return names


def _public_part(document: Mapping[str, Any]) -> tuple[JSON, JSON]:
    """The public paths of one document and the components they reach (transitively)."""
    paths = {p: copy.deepcopy(i) for p, i in document.get("paths", {}).items() if is_public_path(p)}
    components: Mapping[str, Mapping[str, Any]] = document.get("components", {})
    reached: dict[str, dict[str, Any]] = {}
    pending = list(_walk_refs(paths))
    while pending:
        section, name = pending.pop()
        if name in reached.get(section, {}):
            continue
        definition = components.get(section, {}).get(name)
        if definition is None:
            continue  # dangling ref: keep it visible rather than invent a definition
        reached.setdefault(section, {})[name] = copy.deepcopy(definition)
        pending.extend(_walk_refs(definition))
    schemes = components.get("securitySchemes", {})
    for name in _security_names(paths):
        if name in schemes:
            reached.setdefault("securitySchemes", {})[name] = copy.deepcopy(schemes[name])
    return paths, reached


def _rewrite(node: Any, renames: Mapping[tuple[str, str], str]) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite(value, renames) for key, value in node.items()}
        ref = node.get("$ref")
        parsed = _parse_ref(ref) if isinstance(ref, str) else None
        if parsed is not None and parsed in renames:
            out["$ref"] = _make_ref(parsed[0], renames[parsed])
        return out
    if isinstance(node, list):
        return [_rewrite(item, renames) for item in node]
    return node


def _rename_security(paths: JSON, renames: Mapping[tuple[str, str], str]) -> None:
    for item in paths.values():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict) and "security" in operation:
                operation["security"] = [
                    {renames.get(("securitySchemes", k), k): v for k, v in requirement.items()}
                    for requirement in operation["security"]
                ]


def _prefixed(service: str, name: str) -> str:
    head = "".join(part.capitalize() for part in service.replace("-", "_").split("_"))
    return f"{head}{name}"


def merge_openapi(
    documents: Mapping[str, Mapping[str, Any]],
    *,
    title: str = "Syllabus API",
    version: str = "1.0.0",
    unavailable: Sequence[str] = (),
) -> JSON:
    """Merge per-service OpenAPI documents (service name → document) into one.

    ``unavailable`` names services whose document could not be fetched; they are listed
    under ``x-syllabus-unavailable`` so a partial document is never mistaken for a whole.
    """
    parts = {service: _public_part(doc) for service, doc in documents.items()}

    # Which (section, name) pairs are defined differently by two services?
    definitions: dict[tuple[str, str], dict[str, Any]] = {}
    for service, (_paths, components) in parts.items():
        for section, entries in components.items():
            for name, definition in entries.items():
                definitions.setdefault((section, name), {})[service] = definition
    clashing = {
        key
        for key, by_service in definitions.items()
        if any(d != next(iter(by_service.values())) for d in by_service.values())
    }

    merged_paths: JSON = {}
    merged_components: dict[str, JSON] = {}
    tags: dict[str, JSON] = {}
    conflicts: list[str] = []
    for service, (paths, components) in parts.items():
        renames = {
            key: _prefixed(service, key[1])
            for key in clashing
            if key[1] in components.get(key[0], {})
        }
        paths = _rewrite(paths, renames)
        _rename_security(paths, renames)
        for section, entries in components.items():
            target = merged_components.setdefault(section, {})
            for name, definition in entries.items():
                renamed = renames.get((section, name), name)
                target[renamed] = _rewrite(definition, renames)
                if renamed != name and target[renamed].get("title") == name:
                    # Generators name classes by title: two "PostStatus" would clash.
                    target[renamed]["title"] = renamed
        for path, item in paths.items():
            existing = merged_paths.setdefault(path, {})
            for method, operation in item.items():
                if method in existing:
                    conflicts.append(f"{method.upper()} {path} ({service})")
                    continue
                if method in HTTP_METHODS and isinstance(operation, dict):
                    operation["x-syllabus-service"] = service
                    for tag in operation.get("tags", []):
                        tags.setdefault(tag, {"name": tag})
                existing[method] = operation
        for tag in documents[service].get("tags", []):
            if isinstance(tag, dict) and tag.get("name") in tags:
                # The first description of a tag wins; later ones fill in missing fields.
                tags[tag["name"]] = {**tag, **tags[tag["name"]]}

    result: JSON = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "The public HTTP API of Syllabus, as served by the gateway.",
        },
        "paths": dict(sorted(merged_paths.items())),
        "components": {
            section: dict(sorted(entries.items()))
            for section, entries in sorted(merged_components.items())
        },
    }
    if tags:
        result["tags"] = sorted(tags.values(), key=lambda tag: str(tag["name"]))
    if unavailable:
        result["x-syllabus-unavailable"] = sorted(unavailable)
    if conflicts:
        result["x-syllabus-conflicts"] = conflicts
    return result
