"""The web in a real browser: Playwright driving Debian's chromium-headless-shell.

One Chromium per test session (``browser``); each test opens its own contexts (cookies
and storage of their own). A :class:`Tab` is one page with the checks every page gets:
no dialog ever opens (hostile content must stay text), no Content-Security-Policy
violation in the console (no inline script slipped in), and, on request, an axe-core
scan with no serious or critical violation and a screenshot at desktop and phone width
(``SCREENSHOTS=1`` writes them to docs/screenshots/).

The browser and axe-core are installed by ``make browser``; when either is missing the
tests fail with what to run, never skip.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Response,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium-headless-shell")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = ROOT / "docs" / "screenshots"


def _axe_source() -> str:
    given = os.environ.get("AXE_CORE_JS")
    candidates = [Path(given)] if given else sorted((ROOT / ".tools").glob("axe-core-*/axe.min.js"))
    for path in candidates:
        if path.is_file():
            return path.read_text()
    pytest.fail("axe-core is not installed: run `make browser` (it fetches it with npm)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Debian's chromium-headless-shell is not at {CHROMIUM}: run `make browser` "
            "(as root it installs it; otherwise: sudo apt-get install -y chromium-headless-shell)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return _axe_source()


@dataclass
class Tab:
    """One browser page at the stack's base URL, with the checks every page gets."""

    page: Page
    base_url: str
    axe: str
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"a dialog opened: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(f"CSP violation: {message.text}")

    def goto(self, path: str) -> Response:
        response = self.page.goto(self.base_url + path)
        assert response is not None
        return response

    def audit(self, name: str | None = None) -> None:
        """axe-core on the page as it is: no serious or critical violation; with
        ``name`` (and SCREENSHOTS=1) also screenshots at desktop and phone width."""
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        self.page.evaluate(self.axe)
        result: dict[str, Any] = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in result["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
        assert not bad, f"{self.page.url}: accessibility violations:\n" + "\n".join(bad)
        if name and os.environ.get("SCREENSHOTS") == "1":
            self.screenshots(name)

    def screenshots(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size or DESKTOP
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(viewport)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        self.page.set_viewport_size(size)

    def no_sideways_scroll(self) -> None:
        width = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1], f"{self.page.url}: scrolls sideways ({width[0]} > {width[1]})"

    def check(self) -> None:
        """What must hold at the end of every test (call it last)."""
        assert not self.problems, "\n".join(self.problems)


def open_tab(
    browser: Browser, base_url: str, axe: str, *, javascript: bool = True, phone: bool = False
) -> tuple[BrowserContext, Tab]:
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        java_script_enabled=javascript,
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(10_000)
    return context, Tab(context.new_page(), base_url, axe)


def sign_in(tab: Tab, username: str, password: str) -> None:
    tab.goto("/login")
    tab.page.get_by_label("Username").fill(username)
    tab.page.get_by_label("Password").fill(password)
    tab.page.get_by_role("button", name="Sign in").click()
    tab.page.get_by_role("button", name="Sign out").wait_for()


def exactly(text: str) -> re.Pattern[str]:
    """A name matched whole and case-sensitively (``Publish`` is not ``Unpublish``)."""
    return re.compile(f"^{re.escape(text)}$")


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    user_id: str
    token: str


def new_person(base_url: str, admin_token: str, role: str = "student", prefix: str = "") -> Person:
    """A registered user (promoted by the admin when ``role`` is not student)."""
    import uuid

    import httpx

    username = f"{prefix or role[:4]}_{uuid.uuid4().hex[:10]}"
    password = "pw-" + uuid.uuid4().hex
    with httpx.Client(base_url=base_url, timeout=15) as http:
        r = http.post(
            "/api/v1/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert r.status_code == 201, r.text
        user_id = str(r.json()["id"])
        if role != "student":
            r = http.patch(
                f"/api/v1/users/{user_id}",
                json={"role": role},
                headers={"Authorization": f"Bearer {admin_token}"},
            )
            assert r.status_code == 200, r.text
        r = http.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return Person(username, password, user_id, str(r.json()["access_token"]))
