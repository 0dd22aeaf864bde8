"""Content's rules that need no database: plain functions, tested without one."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syllabus_shared.auth import Principal
from syllabus_shared.contracts import content as ev
from syllabus_shared.pagination import PageParams
from syllabus_shared.problems import invalid

from syllabus_content import schemas
from syllabus_content.models import Post


def may_edit(who: Principal | None, creator_id: uuid.UUID | None) -> bool:
    """The module's owner and admins write its posts, and see all of them."""
    return who is not None and (who.is_admin or creator_id == who.user_id)


def post_view(post: Post, *, answers: bool) -> schemas.PostPublic:
    """The post's view; quiz answers only when ``answers`` (the module's owner and admins)."""
    view = schemas.PostPublic.model_validate(post)
    if not answers and isinstance(view.content, schemas.QuizView):
        for question in view.content.questions:
            question.answer_index = None  # left out of the JSON
    return view


def derived_tag(post: Post) -> str:
    """What changes a post's representation without an edit: its place and its counts
    (completions from progress, submitters from assessment)."""
    return f"{post.position}-{post.completion_count}-{post.submission_count}"


def cursor_position(page: PageParams) -> int | None:
    """The position a page starts after (its cursor); 400 when the cursor is not one."""
    if page.after is None:
        return None
    value = page.after.get("position")
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(["query", "cursor"], "cursor is not valid", status=400)
    return value


# ---------------------------------------------------------------- order


def moved_rows(before: Sequence[uuid.UUID], after: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """The rows whose position changes from ``before`` to ``after`` (positions 1..n), as
    ``{"id", "position"}`` for a bulk UPDATE; a post only in ``after`` is not one of them
    (it is inserted, not moved)."""
    old = {p: i for i, p in enumerate(before, 1)}
    return [{"id": p, "position": i} for i, p in enumerate(after, 1) if old.get(p, i) != i]


def posts_reordered(module_id: uuid.UUID, order: Sequence[uuid.UUID]) -> ev.ModulePostsReordered:
    """The whole order of a module's posts, as its event."""
    return ev.ModulePostsReordered(
        module_id=module_id,
        posts=[ev.PostPlacement(post_id=p, position=i) for i, p in enumerate(order, 1)],
    )


# ---------------------------------------------------------------- editing


GRADABLE = ("assignment", "quiz")


def with_defaults(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """Stored content as it reads today: documents stored before a gradable kind had
    ``due_at`` / ``attempts`` get their defaults (a quiz 1 attempt, an assignment
    unlimited), so comparing an edit with them sees no change where there is none."""
    if kind not in GRADABLE:
        return content
    default = schemas.QUIZ_DEFAULT_ATTEMPTS if kind == "quiz" else None
    return {"due_at": None, "attempts": default, **content}


def _due_at(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def post_state(post: Post, event: type[ev.PostState]) -> ev.PostState:
    """The post's whole state as ``event``. Gradable kinds add what assessment grades
    with: ``max_points``, ``due_at``, the effective ``attempts`` (a quiz's default 1
    included; null: unlimited) and, for a quiz, its answer key, question and choice counts
    (the bus is internal: the key reaches no client)."""
    state: dict[str, Any] = {
        "post_id": post.id,
        "module_id": post.module_id,
        "title": post.title,
        "kind": post.kind,
        "status": post.status,
        "position": post.position,
        "creator_id": post.creator_id,
    }
    if post.kind in GRADABLE:
        content = with_defaults(post.kind, post.content)
        state |= {
            "max_points": _int_or_none(content.get("max_points")),
            "due_at": _due_at(content.get("due_at")),
            "attempts": _int_or_none(content.get("attempts")),
        }
    if post.kind == "quiz":
        questions = post.content.get("questions") or []
        state |= {
            "answer_key": [q["answer_index"] for q in questions],
            "question_count": len(questions),
            "choice_counts": [len(q["choices"]) for q in questions],
        }
    return event(**state)


def same_kind(current: str, wanted: str) -> None:
    """A post keeps its kind: 422 for content of another kind."""
    if wanted != current:
        raise invalid(
            ["body", "content", "kind"],
            f"a {current} post keeps its kind; create a new post for {wanted}",
        )


@dataclass(frozen=True)
class Edit:
    """What a PATCH changed in a post's own state."""

    edited: bool  # title or content
    status_changed: bool

    @property
    def changed(self) -> bool:
        return self.edited or self.status_changed


def apply_edit(post: Post, data: schemas.PostUpdate) -> Edit:
    """Apply a PATCH's title, content (same kind) and status to ``post`` (in memory; the
    position is the module's order, not the post's state). Nothing is marked changed when
    the values are the ones it already has (nulls were refused by
    the kernel's ``require_present``)."""
    edited = False
    if data.title is not None and data.title != post.title:
        post.title = data.title
        edited = True
    if data.content is not None:
        same_kind(post.kind, data.content.kind)
        content = data.content.model_dump(mode="json")
        if content != with_defaults(post.kind, post.content):
            post.content = content
            edited = True
    new_status = data.status.value if data.status is not None else post.status
    status_changed = new_status != post.status
    post.status = new_status
    return Edit(edited, status_changed)


def edit_event(post: Post, edit: Edit) -> ev.PostState | None:
    """The one post event an edit publishes, if any: a status change wins
    (PostPublished/PostUnpublished carry the whole state), else PostUpdated."""
    if edit.status_changed:
        return post_state(
            post, ev.PostPublished if post.status == "published" else ev.PostUnpublished
        )
    if edit.edited:
        return post_state(post, ev.PostUpdated)
    return None
