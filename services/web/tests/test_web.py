"""The web alone: its session cookie, CSRF, refresh, rendering and safety, with a fake API
(httpx.MockTransport) under its client. The pages against the real stack, in a browser,
are in tests-e2e/test_web_*.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from syllabus_web.formatting import in_words, markdown, number
from syllabus_web.main import PAGES, create_app
from syllabus_web.session import (
    COOKIE,
    RefreshOnce,
    Session,
    SessionCodec,
    Tokens,
    csrf_protect,
)
from syllabus_web.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-to-use"
NOW = "2025-03-01T12:00:00+00:00"
USER = {
    "id": str(uuid.uuid4()),
    "username": "ada",
    "role": "student",
    "email": "a@e.com",
    "display_name": "Ada",
    "created_at": NOW,
    "updated_at": NOW,
    "version": 1,
}


def problem(status: int) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": "about:blank", "title": "Problem", "status": status, "detail": "no"},
        headers={"content-type": "application/problem+json"},
    )


class FakeApi:
    """The public API as the web sees it: answers by (method, path), records calls."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}

    def on(self, method: str, path: str, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.routes[(method, "/api/v1" + path)] = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.routes.get((request.method, request.url.path))
        if answer is None:
            return problem(404)
        return answer(request)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.calls]


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("GET", "/users/me", lambda r: httpx.Response(200, json=USER))
    fake.on(
        "GET",
        "/courses",
        lambda r: httpx.Response(200, json={"items": [], "next_cursor": None}),
    )
    fake.on(
        "GET",
        "/me/enrollments",
        lambda r: httpx.Response(200, json={"items": [], "next_cursor": None}),
    )
    fake.on(
        "GET",
        "/me/groups",
        lambda r: httpx.Response(200, json={"items": [], "next_cursor": None}),
    )
    return fake


@pytest.fixture
def client(api: FakeApi) -> Iterator[TestClient]:
    settings = Settings(session_secret=SECRET, api_url="http://gateway.test")  # type: ignore[arg-type]
    app = create_app(settings, transport=httpx.MockTransport(api))
    with TestClient(app, base_url="http://web.test") as test_client:
        yield test_client


def csrf_of(client: TestClient, path: str = "/login") -> str:
    html = client.get(path).text
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def token_grant(
    expires_in: int = 900, refresh: str = "r1"
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "access_token": f"access-{uuid.uuid4().hex}",
                "token_type": "bearer",
                "expires_in": expires_in,
                "refresh_token": refresh,
                "refresh_expires_in": 30 * 86_400,
            },
        )

    return answer


# ---------------------------------------------------------------- the cookie


def test_the_session_cookie_is_sealed() -> None:
    codec = SessionCodec(SECRET, 3600)
    session = Session(csrf="c", user_id="u", access_token="secret-token", consistency="x")
    sealed = codec.seal(session)
    assert "secret-token" not in sealed  # encrypted, not only signed
    opened = codec.open(sealed)
    assert opened == session
    assert codec.open(sealed[:-4] + "AAAA") is None  # tampered
    assert SessionCodec("another-secret-that-is-long-enough!!", 3600).open(sealed) is None


def test_sign_in_sets_an_httponly_lax_cookie_and_a_new_csrf(
    client: TestClient, api: FakeApi
) -> None:
    api.on("POST", "/auth/token", token_grant())
    before = csrf_of(client)
    r = client.post(
        "/login",
        data={
            "username": "ada",
            "password": "pw-12345678",
            "csrf_token": before,
            "next": "/courses",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/courses"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=" in cookie and "Secure" not in cookie  # plain http here
    assert csrf_of(client, "/courses") != before
    assert "ada" in client.get("/").text


def test_a_post_without_the_csrf_token_is_refused_and_calls_nothing(
    client: TestClient, api: FakeApi
) -> None:
    csrf_of(client)  # a session exists
    r = client.post(f"/courses/{uuid.uuid4()}/enroll", data={"csrf_token": "guess"})
    assert r.status_code == 403
    assert "Nothing was changed" in r.text
    assert not [c for c in api.paths() if c.startswith("POST")]


def test_every_post_route_checks_the_csrf_token() -> None:
    routes = [r for pages in PAGES for r in pages.router.routes]
    posts = [r for r in routes if isinstance(r, APIRoute) and "POST" in r.methods]
    assert len(posts) >= 7
    for route in posts:
        calls = {d.call for d in route.dependant.dependencies}
        assert csrf_protect in calls, route.path


def test_next_after_sign_in_stays_on_this_site(client: TestClient, api: FakeApi) -> None:
    api.on("POST", "/auth/token", token_grant())
    r = client.post(
        "/login",
        data={
            "username": "ada",
            "password": "x" * 9,
            "csrf_token": csrf_of(client),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


# ---------------------------------------------------------------- tokens


def test_an_access_token_near_expiry_is_refreshed_once(client: TestClient, api: FakeApi) -> None:
    api.on("POST", "/auth/token", token_grant(expires_in=30))  # inside the 60 s margin
    client.post(
        "/login",
        data={"username": "ada", "password": "x" * 9, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    api.calls.clear()
    api.on("POST", "/auth/token", token_grant(expires_in=900, refresh="r2"))
    assert client.get("/").status_code == 200
    grants = [c for c in api.calls if c.url.path == "/api/v1/auth/token"]
    assert len(grants) == 1 and b"grant_type=refresh_token" in grants[0].content
    assert b"refresh_token=r1" in grants[0].content
    api.calls.clear()
    client.get("/")
    assert not [c for c in api.calls if c.url.path == "/api/v1/auth/token"]  # fresh now


def test_a_refused_refresh_signs_out_and_asks_to_sign_in(client: TestClient, api: FakeApi) -> None:
    api.on("POST", "/auth/token", token_grant(expires_in=30))
    client.post(
        "/login",
        data={"username": "ada", "password": "x" * 9, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    api.on("POST", "/auth/token", lambda r: problem(401))
    r = client.get(f"/courses/{uuid.uuid4()}/grades", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/courses/")
    page = client.get(r.headers["location"]).text
    assert "Your session has ended" in page and "Sign out" not in page


async def test_concurrent_refreshes_of_one_token_make_one_grant() -> None:
    grants = 0

    async def grant(token: str) -> Tokens:
        nonlocal grants
        grants += 1
        await asyncio.sleep(0.05)
        return Tokens("new", time.time() + 900, "r2", None)

    once = RefreshOnce()
    results = await asyncio.gather(*(once.run("r1", grant) for _ in range(5)))
    assert grants == 1 and {r.access_token for r in results} == {"new"}
    assert (await once.run("r1", grant)).access_token == "new" and grants == 1  # kept


def test_the_consistency_token_of_a_write_goes_with_the_next_reads(
    client: TestClient, api: FakeApi
) -> None:
    api.on("POST", "/auth/token", token_grant())
    client.post(
        "/login",
        data={"username": "ada", "password": "x" * 9, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    course = str(uuid.uuid4())
    api.on(
        "POST",
        f"/courses/{course}/enrollments",
        lambda r: httpx.Response(
            201,
            json={
                "id": str(uuid.uuid4()),
                "user_id": USER["id"],
                "course_id": course,
                "status": "active",
                "enrolled_at": NOW,
                "completed_at": None,
                "version": 1,
            },
            # As the API answers a write: the header, and the same token as a cookie (for
            # browsers), which the web's one client must never keep for everybody.
            headers=[
                ("Syllabus-Consistency", "tok-1"),
                ("Set-Cookie", "syllabus_consistency=tok-1; Path=/api; HttpOnly; SameSite=Lax"),
            ],
        ),
    )
    client.post(f"/courses/{course}/enroll", data={"csrf_token": csrf_of(client, "/courses")})
    api.calls.clear()
    client.get("/courses")
    assert api.calls and all(c.headers.get("Syllabus-Consistency") == "tok-1" for c in api.calls)
    assert all("cookie" not in c.headers for c in api.calls)  # no shared cookie jar


# ---------------------------------------------------------------- pages


def test_security_headers_on_pages_errors_and_files(client: TestClient) -> None:
    for path in ("/login", "/no/such/page", "/static/web.css"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


def test_unknown_pages_and_api_paths(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Go to the home page" in page.text
    assert client.get("/courses/not-a-uuid").status_code == 404
    problem = client.get("/api/v1/nothing-here")
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["detail"] == "No route matches this path."


def test_an_api_that_is_down_is_try_again_in_a_moment(client: TestClient, api: FakeApi) -> None:
    api.on("GET", "/courses", lambda r: problem(503))
    r = client.get("/courses")
    assert r.status_code == 503 and "Try again in a moment" in r.text
    assert "{" not in r.text.split("<main", 1)[1].split("</main>", 1)[0]  # no raw JSON


def test_the_live_script_gets_only_main(client: TestClient) -> None:
    whole = client.get("/login").text
    fragment = client.get("/login", headers={"X-Fragment": "main"}).text
    assert whole.startswith("<!doctype html>") and "<html" not in fragment
    assert 'name="username"' in fragment


def test_wrong_password_and_throttling_are_alerts(client: TestClient, api: FakeApi) -> None:
    api.on("POST", "/auth/token", lambda r: problem(401))
    r = client.post(
        "/login", data={"username": "ada", "password": "nope", "csrf_token": csrf_of(client)}
    )
    assert r.status_code == 401 and 'role="alert">Wrong username or password.' in r.text
    api.on("POST", "/auth/token", lambda r: problem(429))
    r = client.post(
        "/login", data={"username": "ada", "password": "nope", "csrf_token": csrf_of(client)}
    )
    assert r.status_code == 429 and "Too many attempts" in r.text


# ---------------------------------------------------------------- what people read


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "![x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        '<div onmouseover="alert(1)">x</div>',
    ],
)
def test_markdown_never_lets_script_through(hostile: str) -> None:
    html = str(markdown(f"Hello\n\n{hostile}\n\n**bold** [ok](https://example.com)"))
    tags = re.findall(r"<[a-zA-Z][^>]*>", html)  # what the browser takes as elements
    assert not [t for t in tags if t.lower().startswith(("<script", "<img", "<div"))], tags
    assert not [t for t in tags if re.search(r"\son\w+\s*=", t)], tags
    assert not [t for t in tags if "javascript:" in t.lower()], tags
    assert "<strong>bold</strong>" in html and 'href="https://example.com"' in html


def test_markdown_keeps_the_page_title_the_only_h1() -> None:
    assert str(markdown("# Notes")).startswith("<h2>Notes</h2>")


def test_times_and_numbers_in_words() -> None:
    now = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    assert in_words(now + dt.timedelta(days=3, hours=1), now) == "in 3 days"
    assert in_words(now - dt.timedelta(hours=2), now) == "2 hours ago"
    assert in_words(now + dt.timedelta(seconds=10), now) == "just now"
    assert [number(2.0), number(1.5), number(33.333), number(1234)] == [
        "2",
        "1.5",
        "33.33",
        "1,234",
    ]


def test_settings_refuse_a_short_or_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_SESSION_SECRET", raising=False)
    with pytest.raises(ValueError, match="session_secret"):
        Settings()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="session_secret"):
        Settings(session_secret="short")  # type: ignore[arg-type]


def test_an_answer_that_does_not_fit_the_document_is_a_page_not_a_traceback(
    client: TestClient, api: FakeApi
) -> None:
    api.on("GET", "/courses", lambda r: httpx.Response(200, json={"unexpected": True}))
    r = client.get("/courses")
    assert r.status_code == 503 and "Try again in a moment" in r.text
    assert "Traceback" not in r.text and "KeyError" not in r.text
