"""The public API, as the web calls it: one HTTP client per app, one :class:`Api` per request.

Everything about talking to the API as a signed-in person is here and only here: the
bearer token (refreshed when it is about to expire, or once when a call answers 401),
the read-your-writes token (kept from every write's ``Syllabus-Consistency`` answer and
sent on every later call), the caller's address for the sign-in throttle, and problems
turned into :class:`ApiError`. Pages call the named methods and render what they return.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from syllabus_web.session import RefreshOnce, Session, Tokens
from syllabus_web.settings import Settings

CONSISTENCY = "Syllabus-Consistency"
JSON = dict[str, Any]


class ApiError(Exception):
    """A problem the API answered (or 503 when it could not be reached)."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        title: str = "",
        errors: list[dict[str, Any]] | None = None,
        retry_after: str | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = errors or []
        self.retry_after = retry_after
        self.problem = dict(problem or {})

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        errors = body.get("errors")
        return cls(
            response.status_code,
            str(body.get("detail") or ""),
            title=str(body.get("title") or response.reason_phrase),
            errors=errors if isinstance(errors, list) else [],
            retry_after=response.headers.get("Retry-After"),
            problem=body,
        )

    def field_errors(self) -> dict[str, str]:
        """Field name → message, from the problem's ``errors`` (first message per field)."""
        found: dict[str, str] = {}
        for error in self.errors:
            if not isinstance(error, dict):
                continue
            name = str(error.get("field") or "").split(".")[-1]
            if name and name not in found:
                found[name] = str(error.get("msg") or "is not valid")
        return found

    @property
    def message(self) -> str:
        """The problem in words, for a person."""
        if self.status == 503:
            return "Syllabus is busy or briefly unavailable. Try again in a moment."
        if self.status == 429:
            return "Too many attempts. Wait a minute, then try again."
        if self.status == 404:
            return "That page does not exist, or you may not see it."
        if self.status == 403:
            return _sentence(self.detail) or "You are not allowed to do that."
        return _sentence(self.detail) or _sentence(self.title) or "Something went wrong."


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


class SignedOut(Exception):
    """The session's tokens are gone or refused: the person must sign in again."""


class ApiClient:
    """The app's one HTTP client to the gateway (built in the lifespan), and the refresh
    grants it runs at most once per refresh token."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        # No cookie jar: the API's cookies (its consistency cookie) belong to one person,
        # and this client serves everybody. The web keeps that token in each session.
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.AsyncClient(
            base_url=settings.api_url.rstrip("/") + "/api/v1",
            timeout=settings.api_timeout_seconds,
            cookies=httpx.Cookies(jar),
            transport=transport,
            headers={"User-Agent": "syllabus-web"},
        )
        self.refreshes = RefreshOnce()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def refresh_grant(self, refresh_token: str) -> Tokens | None:
        """A new token pair for ``refresh_token``; None when it is refused (used, revoked,
        expired, or refresh tokens are not offered)."""
        try:
            response = await self.http.post(
                "/auth/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            )
        except httpx.HTTPError as error:
            raise ApiError(503, "the API did not answer") from error
        if response.status_code == 200:
            return Tokens.from_grant(response.json())
        if response.status_code in (400, 401, 403, 422):
            return None
        raise ApiError.from_response(response)


class Api:
    """The API as one person sees it, for one request."""

    def __init__(
        self,
        client: ApiClient,
        session: Session,
        *,
        forwarded_for: str | None = None,
        consistency: str | None = None,
    ) -> None:
        self.client = client
        self.session = session
        self.forwarded_for = forwarded_for
        # A token the page asked for (the live script passes an event's): the next reads
        # reflect that change.
        self.consistency = consistency

    # -- the mechanics ----------------------------------------------------------------

    def _headers(self, token: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        keep = self.client.settings.consistency_keep_seconds
        consistency = self.consistency or self.session.current_consistency(keep)
        if consistency:
            headers[CONSISTENCY] = consistency
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        return headers

    async def _token(self) -> str | None:
        """The session's access token, refreshed first when it is about to expire."""
        session = self.session
        if not session.signed_in:
            return None
        margin = self.client.settings.refresh_margin_seconds
        if session.access_expires - time.time() > margin:
            return session.access_token
        if session.refresh_token:
            await self._refresh()
            return session.access_token
        if session.access_expires > time.time():
            return session.access_token
        session.sign_out()
        raise SignedOut

    async def _refresh(self) -> None:
        assert self.session.refresh_token is not None
        tokens = await self.client.refreshes.run(
            self.session.refresh_token, self.client.refresh_grant
        )
        if tokens is None:
            self.session.sign_out()
            raise SignedOut
        self.session.set_tokens(tokens)

    async def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Call the API as the session's person (or as a guest with ``auth=False``);
        raises :class:`ApiError` for a problem and :class:`SignedOut` when the session's
        tokens are refused."""
        token = await self._token() if auth else None
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        for attempt in range(2):
            sent = {**self._headers(token), **(headers or {})}
            try:
                response = await self.client.http.request(
                    method, path, json=json, data=data, params=clean, headers=sent
                )
            except httpx.HTTPError as error:
                raise ApiError(503, "the API did not answer") from error
            if response.status_code == 401 and token and attempt == 0:
                # Expired early (clock skew) or revoked: one refresh, one retry.
                if not self.session.refresh_token:
                    self.session.sign_out()
                    raise SignedOut
                await self._refresh()
                token = self.session.access_token
                continue
            break
        if response.status_code == 401 and token:
            self.session.sign_out()
            raise SignedOut
        if written := response.headers.get(CONSISTENCY):
            self.session.remember_consistency(written)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    # -- identity ---------------------------------------------------------------------

    async def sign_in(self, username: str, password: str) -> None:
        """Exchange a password for tokens and put the person in the session."""
        response = await self.request(
            "POST", "/auth/token", auth=False, data={"username": username, "password": password}
        )
        tokens = Tokens.from_grant(response.json())
        me = await self.request(
            "GET",
            "/users/me",
            auth=False,
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        self.session.sign_in(tokens, me.json())

    async def register(self, username: str, email: str, password: str) -> JSON:
        body = {"username": username, "email": email, "password": password}
        response = await self.request("POST", "/auth/register", auth=False, json=body)
        user: JSON = response.json()
        return user

    async def sign_out(self) -> None:
        """Revoke the refresh token (best effort: signing out never fails), then forget."""
        if self.session.refresh_token:
            with contextlib.suppress(httpx.HTTPError):
                await self.client.http.post(
                    "/auth/logout", json={"refresh_token": self.session.refresh_token}
                )
        self.session.sign_out()

    # -- catalog ----------------------------------------------------------------------

    async def courses(self, q: str | None, cursor: str | None) -> JSON:
        page: JSON = await self.get(
            "/courses", q=q, cursor=cursor, limit=self.client.settings.page_size
        )
        return page

    async def course(self, course_id: str) -> JSON:
        course: JSON = await self.get(f"/courses/{course_id}")
        return course

    async def course_modules(self, course_id: str) -> list[JSON]:
        modules: list[JSON] = await self.get(f"/courses/{course_id}/modules")
        return modules

    # -- progress ---------------------------------------------------------------------

    async def my_enrollments(self) -> list[JSON]:
        body = await self.get("/me/enrollments")
        items: list[JSON] = body["items"] if isinstance(body, dict) else body
        return items

    async def enroll(self, course_id: str) -> None:
        await self.request("POST", f"/courses/{course_id}/enrollments")

    async def leave(self, course_id: str) -> None:
        await self.request("DELETE", f"/courses/{course_id}/enrollments/me")

    async def progress(self, course_id: str) -> JSON | None:
        """The person's progress document in the course; None when not enrolled."""
        try:
            doc: JSON = await self.get(f"/me/courses/{course_id}/progress")
        except ApiError as error:
            if error.status in (403, 404):
                return None
            raise
        return doc

    async def mark_done(self, post_id: str, done: bool) -> None:
        await self.request("PUT" if done else "DELETE", f"/me/completions/{post_id}")

    # -- content ----------------------------------------------------------------------

    async def post(self, post_id: str) -> JSON:
        post: JSON = await self.get(f"/posts/{post_id}")
        return post

    # -- assessment -------------------------------------------------------------------

    async def my_submissions(self, post_id: str) -> list[JSON]:
        assert self.session.user_id is not None
        page = await self.get(f"/posts/{post_id}/submissions", user_id=self.session.user_id)
        items: list[JSON] = page["items"]
        return items

    async def submit(self, post_id: str, body: JSON) -> JSON:
        response = await self.request("POST", f"/posts/{post_id}/submissions", json=body)
        submission: JSON = response.json()
        return submission

    async def grades(self, course_id: str) -> JSON:
        grades: JSON = await self.get(f"/me/courses/{course_id}/grades")
        return grades

    # -- live -------------------------------------------------------------------------

    async def open_stream(self, last_event_id: str | None) -> httpx.Response:
        """The person's live stream (``GET /me/stream``), opened: the caller looks at its
        status, reads its bytes, and closes it (``await response.aclose()``)."""
        token = await self._token()
        headers = {**self._headers(token), "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self.client.settings.api_timeout_seconds, read=None)
        request = self.client.http.build_request(
            "GET", "/me/stream", headers=headers, timeout=timeout
        )
        try:
            return await self.client.http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise ApiError(503, "the API did not answer") from error
