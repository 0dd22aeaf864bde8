"""Pages from templates: the whole page, or only its ``<main>`` when a script asks.

One Jinja environment with autoescaping on for every template (everything a user typed
is escaped unless it went through :func:`formatting.markdown`). A page template extends
``base.html`` and fills its ``content`` block; a request with ``X-Fragment: main`` (the
live script re-fetching the page) gets just base.html's ``main`` block, rendered with
the page's own blocks: one template, two answers (Hypermedia Systems' way).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from syllabus_web import formatting
from syllabus_web.session import CSRF_FIELD, current_session

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FRAGMENT_HEADER = "X-Fragment"
LAYOUT = "base.html"


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, so a changed file gets a new URL."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC.iterdir()
        if path.is_file()
    }


_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    return f"/static/{name}?v={_VERSIONS.get(name, '0')}"


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["markdown"] = formatting.markdown
environment.filters["number"] = formatting.number
environment.filters["duration"] = formatting.duration
environment.globals["when"] = formatting.time_element
environment.globals["exact_time"] = formatting.exact_time
environment.globals["static_url"] = static_url
environment.globals["CSRF_FIELD"] = CSRF_FIELD


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page (or only its main block, for ``X-Fragment: main``)."""
    session = current_session(request)
    values: dict[str, Any] = {
        "request": request,
        "session": session,
        "csrf": session.ensure_csrf(),
        "flash": session.take_flash(),
        "live": None,  # what the live script listens for on this page
        **(context or {}),
    }
    template = environment.get_template(name)
    if request.headers.get(FRAGMENT_HEADER) == "main":
        html = render_block(template.name or name, "main", values)
    else:
        html = template.render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    # Pages are personal: never cached by the browser or anything in between.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = FRAGMENT_HEADER
    return response


def render_block(name: str, block: str, values: dict[str, Any]) -> str:
    """One block of ``base.html`` as page ``name`` would render it: the page's context,
    with the page's blocks overriding the layout's (every page extends base.html)."""
    context = environment.get_template(name).new_context(values)
    layout = environment.get_template(LAYOUT)
    for block_name, function in layout.blocks.items():
        context.blocks.setdefault(block_name, []).append(function)
    return "".join(layout.blocks[block](context))


# The macros every page uses (fields, progress bars, messages), as a global ``ui``: a
# global reaches blocks rendered alone, where the page's own imports would not.
environment.globals["ui"] = environment.get_template("macros.html").module
