"""Content's rules that need no database: plain functions, tested without one."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syllabus_shared.auth import Principal
from syllabus_shared.contracts import content as ev
from syllabus_shared.contracts.catalog import OverrideKind
from syllabus_shared.pagination import PageParams
from syllabus_shared.problems import invalid, not_found

from syllabus_content import schemas
from syllabus_content.models import GRADABLE, Post

# Enrollment statuses that count as enrolled (who may get a due override).
ENROLLED = ("active", "completed")

# ``{kind}`` in an override's path → the override's ``kind``.
OVERRIDE_KINDS: dict[str, OverrideKind] = {"groups": "group", "users": "user"}


def override_kind(path_kind: str) -> OverrideKind:
    """The kind an override path names (``groups``, ``users``); any other is no such
    collection (404)."""
    kind = OVERRIDE_KINDS.get(path_kind)
    if kind is None:
        raise not_found(f"override collection '{path_kind}' (groups or users)")
    return kind


def may_edit(who: Principal | None, creator_id: uuid.UUID | None) -> bool:
    """The module's owner and admins write its posts, and see all of them."""
    return who is not None and (who.is_admin or creator_id == who.user_id)


_VIEW_FIELDS = tuple(name for name in schemas.PostPublic.model_fields if name != "completion")


def post_view(post: Post, *, answers: bool) -> schemas.PostPublic:
    """The post's view, its effective completion rule included; quiz answers only when
    ``answers`` (the module's owner and admins)."""
    fields = {name: getattr(post, name) for name in _VIEW_FIELDS}
    view = schemas.PostPublic.model_validate({**fields, "completion": completion_of(post)})
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


# ---------------------------------------------------------------- completion rules

Rule = schemas.CompletionRuleName
GRADED_RULES = (Rule.submit, Rule.min_score)


def default_completion(kind: str) -> schemas.CompletionRuleView:
    """A post created without a rule: ``submit`` for the gradable kinds, else ``mark_done``."""
    return schemas.CompletionRuleView(rule=Rule.submit if kind in GRADABLE else Rule.mark_done)


def completion_of(post: Post) -> schemas.CompletionRuleView:
    """The post's effective completion rule (its kind's default when it has none)."""
    if not post.completion_rule:
        return default_completion(post.kind)
    rule = Rule(post.completion_rule)
    return schemas.CompletionRuleView(
        rule=rule, min_score=post.completion_min_score if rule is Rule.min_score else None
    )


COMPLETION_RULE = ("body", "completion", "rule")
COMPLETION_MIN_SCORE = ("body", "completion", "min_score")
CONTENT_MAX_POINTS = ("body", "content", "max_points")


def checked_completion(
    kind: str,
    content: dict[str, Any],
    wanted: schemas.CompletionRuleIn | schemas.CompletionRuleView | None,
    *,
    bound_field: Sequence[str] = COMPLETION_MIN_SCORE,
) -> schemas.CompletionRuleView:
    """The rule a post of ``kind`` with ``content`` gets for ``wanted`` (None: the kind's
    default), or a 422: ``submit`` and ``min_score`` need a gradable kind
    (``completion.rule``), ``min_score`` may not exceed ``max_points`` (``bound_field``:
    ``completion.min_score``, or ``content.max_points`` when a PATCH lowers the points under
    the rule it keeps). The shape (min_score with that rule only, > 0) is the schema's."""
    if wanted is None:
        return default_completion(kind)
    if wanted.rule in GRADED_RULES and kind not in GRADABLE:
        raise invalid(
            list(COMPLETION_RULE),
            f"{wanted.rule} completes gradable posts only (assignment, quiz); "
            f"a {kind} post is completed by mark_done or view",
        )
    if wanted.rule is Rule.min_score:
        assert wanted.min_score is not None  # the schema requires it with this rule
        max_points = content.get("max_points")
        if isinstance(max_points, int | float) and wanted.min_score > max_points:
            raise invalid(
                list(bound_field),
                f"min_score {wanted.min_score:g} is above the post's max_points {max_points}",
            )
        return schemas.CompletionRuleView(rule=Rule.min_score, min_score=wanted.min_score)
    return schemas.CompletionRuleView(rule=wanted.rule)


def set_completion(post: Post, completion: schemas.CompletionRuleView) -> None:
    post.completion_rule = completion.rule.value
    post.completion_min_score = completion.min_score


def completion_rule(post: Post) -> ev.CompletionRule:
    """The effective rule as post events carry it."""
    current = completion_of(post)
    return ev.CompletionRule(rule=current.rule.value, min_score=current.min_score)


# ---------------------------------------------------------------- editing


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
    """The post's whole state as ``event``, its effective completion rule included.
    Gradable kinds add what assessment grades
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
        "completion": completion_rule(post),
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

    edited: bool  # title, content or completion rule
    status_changed: bool

    @property
    def changed(self) -> bool:
        return self.edited or self.status_changed


def apply_edit(post: Post, data: schemas.PostUpdate) -> Edit:
    """Apply a PATCH's title, content (same kind), completion rule and status to ``post``
    (in memory; the position is the module's order, not the post's state). Nothing is
    marked changed when the values are the ones it already has (nulls were refused by
    the kernel's ``require_present``). The rule, new or kept, is checked against the
    content after the edit (lowering ``max_points`` under a kept ``min_score`` is a 422
    on ``content.max_points``); nothing is applied when it is refused."""
    content: dict[str, Any] | None = None
    if data.content is not None:
        same_kind(post.kind, data.content.kind)
        content = data.content.model_dump(mode="json")
    current = completion_of(post)
    if data.completion is not None:
        completion = checked_completion(post.kind, content or post.content, data.completion)
    elif content is not None:
        completion = checked_completion(post.kind, content, current, bound_field=CONTENT_MAX_POINTS)
    else:
        completion = current
    edited = False
    if data.title is not None and data.title != post.title:
        post.title = data.title
        edited = True
    if content is not None and content != with_defaults(post.kind, post.content):
        post.content = content
        edited = True
    if completion != current or not post.completion_rule:
        set_completion(post, completion)
        edited = edited or completion != current
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
