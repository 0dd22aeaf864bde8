"""The public API, as the web calls it: one HTTP client per app, one :class:`Api` per request.

Calls go through the generated client (``syllabus_client``, from the OpenAPI document):
typed parameters and bodies, and every answer parsed by its model, so a drift between the
web and the API fails loudly. Pages get the API's JSON as it came, to render.

Everything about calling as a signed-in person is here and only here: the bearer token
(refreshed when it is about to expire, or once when a call answers 401), the
read-your-writes token (kept from every write's ``Syllabus-Consistency`` answer and sent
on every later call), the caller's address for the sign-in throttle, and problems turned
into :class:`ApiError`. The generated client's headers belong to the whole client, and
this one client serves everybody: the person's headers travel in a context variable that
an httpx hook puts on each request of the current task, never on the shared client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextvars import ContextVar
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import httpx
from syllabus_client import Client
from syllabus_client.api.auth import auth_logout, auth_register, auth_token
from syllabus_client.api.completions import me_completions_mark, me_completions_unmark
from syllabus_client.api.course_modules import (
    course_module_overrides_delete,
    course_module_overrides_list,
    course_module_overrides_set,
    course_modules_attach,
    course_modules_detach,
    course_modules_list,
    course_modules_reorder,
    course_modules_update,
    course_overrides_list,
)
from syllabus_client.api.courses import courses_create, courses_get, courses_list, courses_update
from syllabus_client.api.enrollments import (
    course_enrollments_create,
    course_enrollments_drop,
    me_enrollments_list,
)
from syllabus_client.api.grades import course_grades_list, me_course_grades_get
from syllabus_client.api.groups import (
    course_groups_follow,
    course_groups_list,
    course_groups_unfollow,
    group_members_add_many,
    group_members_list,
    group_members_remove,
    groups_create,
    groups_delete,
    groups_get,
    groups_list,
    groups_update,
    me_groups_list,
)
from syllabus_client.api.modules import (
    module_courses_list,
    modules_create,
    modules_get,
    modules_list,
    modules_update,
)
from syllabus_client.api.posts import (
    module_posts_create,
    module_posts_list,
    module_posts_reorder,
    post_overrides_delete,
    post_overrides_list,
    post_overrides_set,
    posts_delete,
    posts_get,
    posts_update,
)
from syllabus_client.api.progress import course_progress_list, me_course_progress_get
from syllabus_client.api.submissions import (
    course_submissions_list,
    post_submissions_create,
    post_submissions_list,
    submissions_grade,
)
from syllabus_client.api.users import (
    users_delete,
    users_directory_list,
    users_get,
    users_list,
    users_me_get,
    users_update,
)
from syllabus_client.models import (
    AttachModule,
    BodyAuthToken,
    CourseCreate,
    CourseModuleOverridesDeleteKind,
    CourseModuleOverridesSetKind,
    CourseUpdate,
    DueOverrideBody,
    GradeInput,
    GroupCreate,
    GroupMembersAdd,
    GroupUpdate,
    Logout,
    ModuleCreate,
    ModuleUpdate,
    MoveModule,
    PostCreate,
    PostOverridesDeleteKind,
    PostOverridesSetKind,
    PostUpdate,
    Problem,
    ReorderModules,
    ReorderPosts,
    SubmissionCreate,
    SubmissionStatus,
    UnlockOverrideBody,
    UserRegister,
    UserUpdate,
)
from syllabus_client.types import UNSET, Response, Unset

from syllabus_web.session import RefreshOnce, Session, Tokens
from syllabus_web.settings import Settings

log = logging.getLogger("syllabus_web.api")

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
    def from_answer(cls, status: int, content: bytes, headers: Mapping[str, str]) -> ApiError:
        try:
            body = json.loads(content)
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        errors = body.get("errors")
        return cls(
            status,
            str(body.get("detail") or ""),
            title=str(body.get("title") or ""),
            errors=errors if isinstance(errors, list) else [],
            retry_after=headers.get("Retry-After"),
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


# The headers of the person the current task calls for (see the module docstring).
_CALLER: ContextVar[Mapping[str, str] | None] = ContextVar("syllabus_web_caller", default=None)


async def _caller_headers(request: httpx.Request) -> None:
    request.headers.update(_CALLER.get() or {})


Operation = Callable[..., Awaitable[Response[Any]]]


class ApiClient:
    """The app's one HTTP client to the gateway (built in the lifespan), the generated
    client over it, and the refresh grants it runs at most once per refresh token."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.http = httpx.AsyncClient(
            base_url=settings.api_url.rstrip("/"),
            timeout=settings.api_timeout_seconds,
            transport=transport,
            headers={"User-Agent": "syllabus-web"},
            event_hooks={"request": [_caller_headers]},
        )
        # No cookie kept: the API's cookies (its consistency cookie) belong to one person,
        # and this client serves everybody. The web keeps that token in each session. The
        # policy goes on the client's own jar: httpx copies a jar it is given into a new
        # one, without the copy's policy.
        self.http.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.typed = Client(base_url=settings.api_url.rstrip("/")).set_async_httpx_client(self.http)
        self.refreshes = RefreshOnce()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def refresh_grant(self, refresh_token: str) -> Tokens | None:
        """A new token pair for ``refresh_token``; None when it is refused (used, revoked,
        expired, or refresh tokens are not offered)."""
        grant = BodyAuthToken(grant_type="refresh_token", refresh_token=refresh_token)
        try:
            answer = await auth_token.asyncio_detailed(client=self.typed, body=grant)
        except httpx.HTTPError as error:
            raise ApiError(503, "the API did not answer") from error
        if answer.status_code == 200:
            return Tokens.from_grant(json.loads(answer.content))
        if answer.status_code in (400, 401, 403, 422):
            return None
        raise ApiError.from_answer(answer.status_code, answer.content, answer.headers)


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

    async def call(
        self,
        operation: Operation,
        *args: Any,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run a generated operation (its ``asyncio_detailed``) as the session's person (a
        guest with ``auth=False``) and return the answer's JSON (None when empty).

        Raises :class:`ApiError` for a problem and :class:`SignedOut` when the session's
        tokens are refused."""
        token = await self._token() if auth else None
        for attempt in range(2):
            reset = _CALLER.set({**self._headers(token), **(headers or {})})
            try:
                answer = await operation(*args, client=self.client.typed, **kwargs)
            except httpx.HTTPError as error:
                raise ApiError(503, "the API did not answer") from error
            except (KeyError, TypeError, ValueError) as error:
                # The answer does not fit the document's model: say so, loudly, in the
                # log; the person gets "try again in a moment", never a traceback.
                log.error("%s: an answer that does not fit its model: %r", operation, error)
                raise ApiError(502, "the API's answer was not understood") from error
            finally:
                _CALLER.reset(reset)
            if answer.status_code == 401 and token and attempt == 0:
                # Expired early (clock skew) or revoked: one refresh, one retry.
                if not self.session.refresh_token:
                    self.session.sign_out()
                    raise SignedOut
                await self._refresh()
                token = self.session.access_token
                continue
            break
        return self._answer(answer, token)

    def _answer(self, answer: Response[Any], token: str | None) -> Any:
        status = int(answer.status_code)
        if status == 401 and token:
            self.session.sign_out()
            raise SignedOut
        if written := _header(answer.headers, CONSISTENCY):
            self.session.remember_consistency(written)
        if status >= 400 or isinstance(answer.parsed, Problem):
            raise ApiError.from_answer(status, answer.content, answer.headers)
        return json.loads(answer.content) if answer.content else None

    # -- identity ---------------------------------------------------------------------

    async def sign_in(self, username: str, password: str) -> None:
        """Exchange a password for tokens and put the person in the session."""
        grant = BodyAuthToken(username=username, password=password)
        body = await self.call(auth_token.asyncio_detailed, auth=False, body=grant)
        tokens = Tokens.from_grant(body)
        bearer = {"Authorization": f"Bearer {tokens.access_token}"}
        me = await self.call(users_me_get.asyncio_detailed, auth=False, headers=bearer)
        self.session.sign_in(tokens, me)

    async def register(self, username: str, email: str, password: str) -> JSON:
        person = UserRegister(username=username, email=email, password=password)
        user: JSON = await self.call(auth_register.asyncio_detailed, auth=False, body=person)
        return user

    async def sign_out(self) -> None:
        """Revoke the refresh token (best effort: signing out never fails), then forget."""
        if refresh_token := self.session.refresh_token:
            with contextlib.suppress(ApiError, httpx.HTTPError):
                await self.call(
                    auth_logout.asyncio_detailed,
                    auth=False,
                    body=Logout(refresh_token=refresh_token),
                )
        self.session.sign_out()

    # -- catalog ----------------------------------------------------------------------

    async def courses(self, q: str | None, cursor: str | None) -> JSON:
        page: JSON = await self.call(
            courses_list.asyncio_detailed,
            q=q or None,
            cursor=cursor or None,
            limit=self.client.settings.page_size,
        )
        return page

    async def course(self, course_id: str) -> JSON:
        course: JSON = await self.call(courses_get.asyncio_detailed, uuid.UUID(course_id))
        return course

    async def course_modules(self, course_id: str) -> list[JSON]:
        modules: list[JSON] = await self.call(
            course_modules_list.asyncio_detailed, uuid.UUID(course_id)
        )
        return modules

    # -- progress ---------------------------------------------------------------------

    async def my_enrollments(self) -> list[JSON]:
        """Every enrollment of the person (all pages)."""
        items: list[JSON] = []
        cursor: str | None = None
        for _ in range(20):  # 2,000 enrollments: more is not a page people read
            page = await self.call(me_enrollments_list.asyncio_detailed, limit=100, cursor=cursor)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items

    async def enroll(self, course_id: str) -> None:
        await self.call(course_enrollments_create.asyncio_detailed, uuid.UUID(course_id))

    async def leave(self, course_id: str) -> None:
        await self.call(course_enrollments_drop.asyncio_detailed, uuid.UUID(course_id))

    async def progress(self, course_id: str) -> JSON | None:
        """The person's progress document in the course; None when not enrolled."""
        try:
            doc: JSON = await self.call(
                me_course_progress_get.asyncio_detailed, uuid.UUID(course_id)
            )
        except ApiError as error:
            if error.status in (403, 404):
                return None
            raise
        return doc

    async def mark_done(self, post_id: str, done: bool) -> None:
        operation = me_completions_mark if done else me_completions_unmark
        await self.call(operation.asyncio_detailed, uuid.UUID(post_id))

    # -- content ----------------------------------------------------------------------

    async def post(self, post_id: str) -> JSON:
        post: JSON = await self.call(posts_get.asyncio_detailed, uuid.UUID(post_id))
        return post

    # -- assessment -------------------------------------------------------------------

    async def my_submissions(self, post_id: str) -> list[JSON]:
        assert self.session.user_id is not None
        page = await self.call(
            post_submissions_list.asyncio_detailed,
            uuid.UUID(post_id),
            user_id=uuid.UUID(self.session.user_id),
            limit=100,
        )
        items: list[JSON] = page["items"]
        return items

    async def submit(self, post_id: str, body: JSON) -> JSON:
        submission: JSON = await self.call(
            post_submissions_create.asyncio_detailed,
            uuid.UUID(post_id),
            body=SubmissionCreate.from_dict(body),
        )
        return submission

    async def grades(self, course_id: str) -> JSON:
        grades: JSON = await self.call(me_course_grades_get.asyncio_detailed, uuid.UUID(course_id))
        return grades

    # -- teaching (issue 25, part A): courses, modules and posts as their author edits them

    async def _every_page(self, operation: Operation, *args: Any, **kwargs: Any) -> list[JSON]:
        """Every item of a paginated list (up to 2,000: more is not a page people read)."""
        items: list[JSON] = []
        cursor: str | None = None
        for _ in range(20):
            page = await self.call(operation, *args, limit=100, cursor=cursor, **kwargs)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items

    def _me(self) -> uuid.UUID:
        assert self.session.user_id is not None
        return uuid.UUID(self.session.user_id)

    async def authored_courses(self) -> list[JSON]:
        """The person's own courses, every status."""
        return await self._every_page(courses_list.asyncio_detailed, creator_id=self._me())

    async def create_course(self, fields: JSON) -> JSON:
        course: JSON = await self.call(
            courses_create.asyncio_detailed, body=CourseCreate.from_dict(fields)
        )
        return course

    async def update_course(self, course_id: str, changes: JSON) -> JSON:
        course: JSON = await self.call(
            courses_update.asyncio_detailed,
            uuid.UUID(course_id),
            body=CourseUpdate.from_dict(changes),
        )
        return course

    async def module_library(self, q: str | None = None) -> list[JSON]:
        """The person's own modules (``q`` filters them, as the API searches)."""
        return await self._every_page(
            modules_list.asyncio_detailed, q=q or None, creator_id=self._me()
        )

    async def module(self, module_id: str) -> JSON:
        module: JSON = await self.call(modules_get.asyncio_detailed, uuid.UUID(module_id))
        return module

    async def module_courses(self, module_id: str) -> list[JSON]:
        """The courses that use the module, with its position in each."""
        page = await self.call(module_courses_list.asyncio_detailed, uuid.UUID(module_id))
        items: list[JSON] = page["items"]
        return items

    async def create_module(self, fields: JSON) -> JSON:
        module: JSON = await self.call(
            modules_create.asyncio_detailed, body=ModuleCreate.from_dict(fields)
        )
        return module

    async def update_module(self, module_id: str, changes: JSON) -> JSON:
        module: JSON = await self.call(
            modules_update.asyncio_detailed,
            uuid.UUID(module_id),
            body=ModuleUpdate.from_dict(changes),
        )
        return module

    async def attach_module(self, course_id: str, module_id: str) -> list[JSON]:
        outline: list[JSON] = await self.call(
            course_modules_attach.asyncio_detailed,
            uuid.UUID(course_id),
            body=AttachModule(module_id=uuid.UUID(module_id)),
        )
        return outline

    async def detach_module(self, course_id: str, module_id: str) -> None:
        await self.call(
            course_modules_detach.asyncio_detailed, uuid.UUID(course_id), uuid.UUID(module_id)
        )

    async def change_course_module(
        self,
        course_id: str,
        module_id: str,
        *,
        position: int | Unset = UNSET,
        prerequisites: list[str] | Unset = UNSET,
        unlock_at: dt.datetime | Unset | None = UNSET,
    ) -> list[JSON]:
        """Move an attached module, or set its gating in the course (absent: kept)."""
        change = MoveModule(
            position=position,
            prerequisites=UNSET
            if isinstance(prerequisites, Unset)
            else [uuid.UUID(m) for m in prerequisites],
            unlock_at=unlock_at,
        )
        outline: list[JSON] = await self.call(
            course_modules_update.asyncio_detailed,
            uuid.UUID(course_id),
            uuid.UUID(module_id),
            body=change,
        )
        return outline

    async def reorder_course_modules(self, course_id: str, module_ids: list[str]) -> list[JSON]:
        outline: list[JSON] = await self.call(
            course_modules_reorder.asyncio_detailed,
            uuid.UUID(course_id),
            body=ReorderModules(module_ids=[uuid.UUID(m) for m in module_ids]),
        )
        return outline

    async def module_posts(self, module_id: str) -> list[JSON]:
        """Every post of the module in order (drafts too, for its author)."""
        return await self._every_page(module_posts_list.asyncio_detailed, uuid.UUID(module_id))

    async def create_post(self, module_id: str, body: JSON) -> JSON:
        post: JSON = await self.call(
            module_posts_create.asyncio_detailed,
            uuid.UUID(module_id),
            body=PostCreate.from_dict(body),
        )
        return post

    async def update_post(self, post_id: str, changes: JSON) -> JSON:
        post: JSON = await self.call(
            posts_update.asyncio_detailed, uuid.UUID(post_id), body=PostUpdate.from_dict(changes)
        )
        return post

    async def delete_post(self, post_id: str) -> None:
        await self.call(posts_delete.asyncio_detailed, uuid.UUID(post_id))

    async def reorder_posts(self, module_id: str, post_ids: list[str]) -> list[JSON]:
        order: list[JSON] = await self.call(
            module_posts_reorder.asyncio_detailed,
            uuid.UUID(module_id),
            body=ReorderPosts(post_ids=[uuid.UUID(p) for p in post_ids]),
        )
        return order

    # -- running a course, and admin (issue 25, part B): roster, grading, gradebook, users

    async def roster(
        self, course_id: str, cursor: str | None, limit: int, group_id: str | None = None
    ) -> JSON:
        """A page of the course's roster: each student's names, status and progress
        (``group_id``: only that group's current members)."""
        page: JSON = await self.call(
            course_progress_list.asyncio_detailed,
            uuid.UUID(course_id),
            limit=limit,
            cursor=cursor or None,
            group_id=uuid.UUID(group_id) if group_id else None,
        )
        return page

    async def course_submissions(
        self, course_id: str, status: str | None, cursor: str | None, limit: int
    ) -> JSON:
        """A page of the course's submissions, oldest first (``status``: ``submitted``,
        the work waiting for a grade, or ``graded``)."""
        page: JSON = await self.call(
            course_submissions_list.asyncio_detailed,
            uuid.UUID(course_id),
            status=SubmissionStatus(status) if status else None,
            limit=limit,
            cursor=cursor or None,
        )
        return page

    async def grade(
        self, submission_id: str, score: float, feedback: str | None, version: int | None
    ) -> JSON:
        """Grade or regrade; ``version`` (the one the grader saw) goes as ``If-Match``, so
        a grade given meanwhile by someone else is not overwritten unseen (412)."""
        submission: JSON = await self.call(
            submissions_grade.asyncio_detailed,
            uuid.UUID(submission_id),
            body=GradeInput(score=score, feedback=feedback),
            if_match=f'"{version}"' if version is not None else UNSET,
        )
        return submission

    async def gradebook(
        self, course_id: str, cursor: str | None, limit: int, group_id: str | None = None
    ) -> JSON:
        """A page of the gradebook: its columns (``posts``) and a row per student
        (``group_id``: only that group's current members)."""
        page: JSON = await self.call(
            course_grades_list.asyncio_detailed,
            uuid.UUID(course_id),
            limit=limit,
            cursor=cursor or None,
            group_id=uuid.UUID(group_id) if group_id else None,
        )
        return page

    async def open_gradebook_csv(
        self, course_id: str, group_id: str | None = None
    ) -> httpx.Response:
        """The whole gradebook as CSV (``Accept: text/csv``), opened as a stream: the
        caller passes its bytes on and closes it. Not through the generated operation,
        which would read the whole file (a large course's is large). A refusal is raised
        as :class:`ApiError` before anything is streamed."""
        token = await self._token()
        headers = {**self._headers(token), "Accept": "text/csv"}
        params = {"group_id": str(uuid.UUID(group_id))} if group_id else None
        request = self.client.http.build_request(
            "GET",
            f"/api/v1/courses/{uuid.UUID(course_id)}/grades",
            headers=headers,
            params=params,
        )
        try:
            answer = await self.client.http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise ApiError(503, "the API did not answer") from error
        if answer.status_code != 200:
            content = await answer.aread()
            await answer.aclose()
            if answer.status_code == 401 and token:
                self.session.sign_out()
                raise SignedOut
            raise ApiError.from_answer(answer.status_code, content, answer.headers)
        return answer

    async def users(self, q: str | None, cursor: str | None, limit: int) -> JSON:
        """A page of users (admins): ``q`` matches username, email or display name."""
        page: JSON = await self.call(
            users_list.asyncio_detailed, q=q or None, limit=limit, cursor=cursor or None
        )
        return page

    async def user(self, user_id: str) -> JSON:
        user: JSON = await self.call(users_get.asyncio_detailed, uuid.UUID(user_id))
        return user

    async def change_role(self, user_id: str, role: str) -> JSON:
        user: JSON = await self.call(
            users_update.asyncio_detailed,
            uuid.UUID(user_id),
            body=UserUpdate.from_dict({"role": role}),
        )
        return user

    async def delete_user(self, user_id: str) -> None:
        await self.call(users_delete.asyncio_detailed, uuid.UUID(user_id))

    # -- groups and cohorts (issue 26): groups, members, follows, dates per group/student

    async def groups(self, q: str | None, cursor: str | None, limit: int) -> JSON:
        """A page of the groups the person may see (their own and those following their
        courses; admins: all), newest first; ``q`` matches the name."""
        page: JSON = await self.call(
            groups_list.asyncio_detailed, q=q or None, limit=limit, cursor=cursor or None
        )
        return page

    async def every_group(self) -> list[JSON]:
        """Every group the person may see (up to 2,000), to choose one from."""
        return await self._every_page(groups_list.asyncio_detailed)

    async def group(self, group_id: str) -> JSON:
        group: JSON = await self.call(groups_get.asyncio_detailed, uuid.UUID(group_id))
        return group

    async def create_group(self, name: str, description: str | None) -> JSON:
        body = GroupCreate(name=name, description=description)
        group: JSON = await self.call(groups_create.asyncio_detailed, body=body)
        return group

    async def update_group(self, group_id: str, name: str, description: str | None) -> JSON:
        body = GroupUpdate(name=name, description=description)
        group: JSON = await self.call(
            groups_update.asyncio_detailed, uuid.UUID(group_id), body=body
        )
        return group

    async def delete_group(self, group_id: str) -> None:
        await self.call(groups_delete.asyncio_detailed, uuid.UUID(group_id))

    async def group_members(self, group_id: str, cursor: str | None, limit: int) -> JSON:
        """A page of the group's members, by username."""
        page: JSON = await self.call(
            group_members_list.asyncio_detailed,
            uuid.UUID(group_id),
            limit=limit,
            cursor=cursor or None,
        )
        return page

    async def add_group_members(self, group_id: str, user_ids: list[str]) -> JSON:
        """Up to 1,000 users at once: ``{added, already_members, unknown_user_ids}``."""
        body = GroupMembersAdd(user_ids=[uuid.UUID(u) for u in user_ids])
        result: JSON = await self.call(
            group_members_add_many.asyncio_detailed, uuid.UUID(group_id), body=body
        )
        return result

    async def remove_group_member(self, group_id: str, user_id: str) -> None:
        await self.call(
            group_members_remove.asyncio_detailed, uuid.UUID(group_id), uuid.UUID(user_id)
        )

    async def my_groups(self) -> list[JSON]:
        """The groups the person is a member of (up to 2,000)."""
        return await self._every_page(me_groups_list.asyncio_detailed)

    async def directory(self, usernames: list[str]) -> list[JSON]:
        """The accounts with these usernames (ignoring case): ``{id, username,
        display_name}`` each, for staff. Asked 100 names at a time (a query string stays
        short), a few calls at once."""
        batches = [usernames[i : i + 100] for i in range(0, len(usernames), 100)]
        calls = asyncio.Semaphore(4)

        async def look_up(batch: list[str]) -> list[JSON]:
            async with calls:
                page = await self.call(
                    users_directory_list.asyncio_detailed, username=batch, limit=100
                )
                items: list[JSON] = page["items"]
                return items

        found = await asyncio.gather(*(look_up(batch) for batch in batches))
        return [entry for batch in found for entry in batch]

    async def course_groups(self, course_id: str, *, average: bool = True) -> list[JSON]:
        """The groups the course follows, each with its members' standing in the course
        (``average=False``: without their average percent, which costs progress an
        evaluation of every enrolled member: pages that only name the groups)."""
        groups: list[JSON] = await self.call(
            course_groups_list.asyncio_detailed,
            uuid.UUID(course_id),
            average=UNSET if average else False,  # the default goes unsaid (a clean URL)
        )
        return groups

    async def follow_group(self, course_id: str, group_id: str) -> JSON:
        follow: JSON = await self.call(
            course_groups_follow.asyncio_detailed, uuid.UUID(course_id), uuid.UUID(group_id)
        )
        return follow

    async def unfollow_group(self, course_id: str, group_id: str) -> None:
        await self.call(
            course_groups_unfollow.asyncio_detailed, uuid.UUID(course_id), uuid.UUID(group_id)
        )

    async def course_overrides(self, course_id: str) -> list[JSON]:
        """Every unlock date per group or per student in the course, in course order."""
        found: list[JSON] = await self.call(
            course_overrides_list.asyncio_detailed, uuid.UUID(course_id)
        )
        return found

    async def module_overrides(self, course_id: str, module_id: str) -> list[JSON]:
        found: list[JSON] = await self.call(
            course_module_overrides_list.asyncio_detailed,
            uuid.UUID(course_id),
            uuid.UUID(module_id),
        )
        return found

    async def set_unlock_override(
        self, course_id: str, module_id: str, kind: str, target_id: str, unlock_at: dt.datetime
    ) -> JSON:
        """The module opens at ``unlock_at`` for a group (``kind`` groups) or a student
        (``kind`` users) instead of the course's date."""
        found: JSON = await self.call(
            course_module_overrides_set.asyncio_detailed,
            uuid.UUID(course_id),
            uuid.UUID(module_id),
            CourseModuleOverridesSetKind(kind),
            uuid.UUID(target_id),
            body=UnlockOverrideBody(unlock_at=unlock_at),
        )
        return found

    async def remove_unlock_override(
        self, course_id: str, module_id: str, kind: str, target_id: str
    ) -> None:
        await self.call(
            course_module_overrides_delete.asyncio_detailed,
            uuid.UUID(course_id),
            uuid.UUID(module_id),
            CourseModuleOverridesDeleteKind(kind),
            uuid.UUID(target_id),
        )

    async def post_overrides(self, post_id: str) -> list[JSON]:
        found: list[JSON] = await self.call(
            post_overrides_list.asyncio_detailed, uuid.UUID(post_id)
        )
        return found

    async def set_due_override(
        self, post_id: str, kind: str, target_id: str, due_at: dt.datetime
    ) -> JSON:
        """The post is due at ``due_at`` for a group (``kind`` groups) or a student
        (``kind`` users) instead of its own date."""
        found: JSON = await self.call(
            post_overrides_set.asyncio_detailed,
            uuid.UUID(post_id),
            PostOverridesSetKind(kind),
            uuid.UUID(target_id),
            body=DueOverrideBody(due_at=due_at),
        )
        return found

    async def remove_due_override(self, post_id: str, kind: str, target_id: str) -> None:
        await self.call(
            post_overrides_delete.asyncio_detailed,
            uuid.UUID(post_id),
            PostOverridesDeleteKind(kind),
            uuid.UUID(target_id),
        )

    # -- live -------------------------------------------------------------------------

    async def open_stream(self, last_event_id: str | None) -> httpx.Response:
        """The person's live stream (``GET /me/stream``), opened: the caller looks at its
        status, reads its bytes, and closes it (``await response.aclose()``). Not through
        the generated operation, which reads a whole body: a stream never ends."""
        token = await self._token()
        headers = {**self._headers(token), "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self.client.settings.api_timeout_seconds, read=None)
        request = self.client.http.build_request(
            "GET", "/api/v1/me/stream", headers=headers, timeout=timeout
        )
        try:
            return await self.client.http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise ApiError(503, "the API did not answer") from error


def _header(headers: MutableMapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value
