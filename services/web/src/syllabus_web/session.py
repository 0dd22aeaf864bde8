"""The session: one sealed cookie, what it holds, and the checks on every form.

A person's session lives in their browser, not in the web: an ``HttpOnly``,
``SameSite=Lax`` cookie (``Secure`` over https) sealed with Fernet (AES-CBC and an
HMAC: nobody can read or change it without ``WEB_SESSION_SECRET``). It holds the access
and refresh tokens, who the person is (for the header), their read-your-writes token, a
per-session CSRF token and one-shot messages. So any web replica serves any request and a
restart signs nobody out.

:class:`SessionMiddleware` opens the cookie before a request and writes it back when the
request changed the session; :func:`csrf_protect` refuses a POST whose form does not carry
the session's CSRF token (a form on another site cannot know it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "syllabus_session"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Tokens:
    """What a sign-in or a refresh grant answers."""

    access_token: str
    access_expires: float  # epoch seconds
    refresh_token: str | None = None
    refresh_expires: float | None = None

    @classmethod
    def from_grant(cls, body: dict[str, Any], now: float | None = None) -> Tokens:
        now = time.time() if now is None else now
        refresh = body.get("refresh_token")
        refresh_in = body.get("refresh_expires_in")
        return cls(
            access_token=str(body["access_token"]),
            access_expires=now + float(body.get("expires_in") or 900),
            refresh_token=str(refresh) if refresh else None,
            refresh_expires=now + float(refresh_in) if refresh and refresh_in else None,
        )


@dataclass
class Session:
    """What the cookie holds. ``dirty`` (not stored) says it must be written back."""

    csrf: str = ""
    user_id: str | None = None
    username: str | None = None
    role: str | None = None
    access_token: str | None = None
    access_expires: float = 0.0
    refresh_token: str | None = None
    refresh_expires: float | None = None
    consistency: str | None = None
    consistency_at: float = 0.0
    flash: list[list[str]] = field(default_factory=list)  # [kind, text]
    dirty: bool = field(default=False, compare=False)

    @property
    def signed_in(self) -> bool:
        return self.access_token is not None

    @property
    def staff(self) -> bool:
        return self.role in ("instructor", "admin")

    def ensure_csrf(self) -> str:
        if not self.csrf:
            self.csrf = secrets.token_urlsafe(24)
            self.dirty = True
        return self.csrf

    def sign_in(self, tokens: Tokens, user: dict[str, Any]) -> None:
        self.set_tokens(tokens)
        self.user_id = str(user["id"])
        self.username = str(user["username"])
        self.role = str(user["role"])
        # A new sign-in gets a new CSRF token (a token planted before sign-in is useless).
        self.csrf = secrets.token_urlsafe(24)
        self.dirty = True

    def set_tokens(self, tokens: Tokens) -> None:
        self.access_token = tokens.access_token
        self.access_expires = tokens.access_expires
        if tokens.refresh_token:
            self.refresh_token = tokens.refresh_token
            self.refresh_expires = tokens.refresh_expires
        self.dirty = True

    def sign_out(self) -> None:
        """Forget the person (the caller revokes the refresh token first); the messages
        for the next page stay, the CSRF token is new."""
        for name in ("user_id", "username", "role", "access_token", "refresh_token"):
            setattr(self, name, None)
        self.refresh_expires = self.consistency = None
        self.access_expires = self.consistency_at = 0.0
        self.csrf = secrets.token_urlsafe(24)
        self.dirty = True

    def remember_consistency(self, token: str, now: float | None = None) -> None:
        if token and token != self.consistency:
            self.consistency = token
            self.dirty = True
        self.consistency_at = time.time() if now is None else now

    def current_consistency(self, keep_seconds: float, now: float | None = None) -> str | None:
        now = time.time() if now is None else now
        if self.consistency and now - self.consistency_at > keep_seconds:
            self.consistency = None
            self.dirty = True
        return self.consistency

    def say(self, text: str, kind: str = "error") -> None:
        """A message for the next page (after a redirect)."""
        self.flash.append([kind, text])
        self.dirty = True

    def take_flash(self) -> list[list[str]]:
        flash, self.flash = self.flash, []
        if flash:
            self.dirty = True
        return flash

    def max_age(self, default: int, now: float | None = None) -> int | None:
        """The cookie's lifetime: until the refresh token (else the access token) expires;
        None (a browser-session cookie) for a visitor who is not signed in."""
        if not self.signed_in:
            return None
        now = time.time() if now is None else now
        until = self.refresh_expires or (
            self.access_expires if not self.refresh_token else now + default
        )
        return max(0, int(until - now))


_STORED = [name for name in Session.__dataclass_fields__ if name != "dirty"]


class SessionCodec:
    """Seals a :class:`Session` into a cookie value and opens it again."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        # Fernet wants 32 url-safe base64 bytes; any long secret is stretched to that.
        key = hashlib.sha256(b"syllabus-web-session\0" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._max_age = max_age_seconds

    def seal(self, session: Session) -> str:
        data = {k: v for k, v in asdict(session).items() if k in _STORED and v}
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()

    def open(self, value: str) -> Session | None:
        try:
            raw = self._fernet.decrypt(value.encode(), ttl=self._max_age)
            data = json.loads(raw)
        except (InvalidToken, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        try:
            return Session(**{k: v for k, v in data.items() if k in _STORED})
        except TypeError:
            return None


def _cookie_from(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112  (a malformed Cookie header is no session)
                continue
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def _is_https(scope: Scope) -> bool:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"x-forwarded-proto":
            return value.decode("latin-1").split(",")[0].strip().lower() == "https"
    scheme: str = scope.get("scheme", "http")
    return scheme == "https"


class SessionMiddleware:
    """Opens the session cookie into ``request.state.session`` and writes it back (a
    ``Set-Cookie`` on the response's start) when the request changed it."""

    def __init__(
        self, app: ASGIApp, codec: SessionCodec, *, secure: bool | None, max_age: int
    ) -> None:
        self.app = app
        self.codec = codec
        self.secure = secure
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = _cookie_from(scope.get("headers", []))
        session = self.codec.open(value) if value else None
        if session is None:
            session = Session(dirty=value is not None)  # a bad or stale cookie is replaced
        scope.setdefault("state", {})["session"] = session
        secure = _is_https(scope) if self.secure is None else self.secure

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.dirty:
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", self._set_cookie(session, secure).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _set_cookie(self, session: Session, secure: bool) -> str:
        parts = [f"{COOKIE}={self.codec.seal(session)}", "Path=/", "HttpOnly", "SameSite=Lax"]
        max_age = session.max_age(self.max_age)
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if secure:
            parts.append("Secure")
        return "; ".join(parts)


def current_session(request: Request) -> Session:
    """The request's session (the middleware always puts one there)."""
    session: Session = request.state.session
    return session


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: refused with 403, nothing changed."""


async def csrf_protect(request: Request) -> None:
    """Every POST carries the session's CSRF token in its form (a hidden field)."""
    if request.method != "POST":
        return
    session = current_session(request)
    try:
        form = await request.form()
    except Exception as error:  # an unreadable body is no token either
        raise CsrfRefused from error
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not session.csrf:
        raise CsrfRefused
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused


class RefreshOnce:
    """Runs each refresh grant once per refresh token, however many requests need it.

    A refresh token is single-use (rotation) and presenting a used one revokes the whole
    sign-in, so two requests of one person arriving together (a page and the live stream,
    two tabs) must not both spend it. Requests that hold the same old refresh token await
    the same grant and get the same new pair; the answer is kept a little while for the
    ones that arrive after it. (Per process: replicas of the web each refresh on their
    own; the access token's margin makes such races rare, docs/web.md.)
    """

    def __init__(self, keep_seconds: float = 60.0) -> None:
        self._keep = keep_seconds
        self._pending: dict[str, asyncio.Future[Tokens | None]] = {}
        self._done: dict[str, tuple[float, Tokens | None]] = {}

    async def run(
        self, refresh_token: str, grant: Callable[[str], Awaitable[Tokens | None]]
    ) -> Tokens | None:
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        now = time.monotonic()
        for stale in [k for k, (at, _) in self._done.items() if now - at > self._keep]:
            del self._done[stale]
        if key in self._done:
            return self._done[key][1]
        if key in self._pending:
            return await asyncio.shield(self._pending[key])
        future: asyncio.Future[Tokens | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            tokens = await grant(refresh_token)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._pending.pop(key, None)
        self._done[key] = (time.monotonic(), tokens)
        future.set_result(tokens)
        return tokens
