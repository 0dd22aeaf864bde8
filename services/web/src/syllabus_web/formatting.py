"""What people read: Markdown as safe HTML, dates in words, numbers as people write them.

Post bodies, instructions and submitted answers are Markdown written by users. They are
rendered by markdown-it (CommonMark, raw HTML off: typed tags come out as text) and the
result is cleaned again by nh3 (the Ammonia sanitizer) with a short list of tags and
attributes and only http(s)/mailto links, so no script, no event handler and no
``javascript:`` URL can reach a page whatever the renderer lets through. Images become
links (pages load nothing from other origins), and headings move one level down (the
page's own title is the only ``h1``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del", "s",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


# Render rules are bound to the renderer: (renderer, tokens, idx, options, env).
def _heading_one_level_down(
    renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    token = tokens[idx]
    level = min(int(token.tag[1]) + 1, 6)
    return f"<{'/' if token.nesting < 0 else ''}h{level}>"


def _image_as_link(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = token.content or "image"
    return f'<a href="{escape(src)}">{escape(alt)} (image)</a>'


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_markdown.enable("strikethrough")
_markdown.add_render_rule("heading_open", _heading_one_level_down)
_markdown.add_render_rule("heading_close", _heading_one_level_down)
_markdown.add_render_rule("image", _image_as_link)


def markdown(text: str | None) -> Markup:
    """User Markdown as HTML that is safe to put in a page."""
    html = _markdown.render(text or "")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704  (sanitized just above)


def parse_time(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def in_words(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """``in 3 days``, ``2 hours ago``, ``just now``: a time relative to ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    if span < 45:
        return "just now"
    for size, unit in ((86_400 * 365, "year"), (86_400 * 30, "month"), (86_400, "day"),
                       (3_600, "hour"), (60, "minute")):  # fmt: skip
        if span >= size * 0.95 or unit == "minute":
            n = max(1, round(span / size))
            return f"in {_plural(n, unit)}" if seconds > 0 else f"{_plural(n, unit)} ago"
    raise AssertionError("unreachable")


def exact(moment: dt.datetime) -> str:
    """The exact time, for the hover title: ``Tuesday 4 March 2025, 14:05 UTC``."""
    utc = moment.astimezone(dt.UTC)
    return f"{utc:%A} {utc.day} {utc:%B %Y, %H:%M} UTC"


def exact_time(value: str | dt.datetime | None) -> str:
    """The exact time of an API value in words (empty when there is none): for teachers,
    who set dates to the minute."""
    moment = parse_time(value)
    return exact(moment) if moment else ""


def time_element(value: str | dt.datetime | None, prefix: str = "") -> Markup:
    """A ``<time>`` with the time in words, and the exact time as its title."""
    moment = parse_time(value)
    if moment is None:
        return Markup("")
    return Markup('<time datetime="{}" title="{}">{}{}</time>').format(
        moment.isoformat(), exact(moment), prefix, in_words(moment)
    )


def number(value: float | int | None) -> str:
    """``2``, ``1.5``, ``33.33``: no ``.0``, at most two decimals, thousands separated."""
    if value is None:
        return "\u2013"  # an en dash: no value
    rounded = round(float(value), 2)
    if rounded == int(rounded):
        return f"{int(rounded):,}"
    return f"{rounded:,.2f}".rstrip("0")


def duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
