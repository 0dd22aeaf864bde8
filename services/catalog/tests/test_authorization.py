"""Who may do what: every catalog route x every kind of caller, and bad tokens."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from syllabus_catalog import schemas, service
from syllabus_catalog.models import Course, CourseModule, Module
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.auth import Principal, Role

from conftest import API, Catalog

ROLES = ("guest", "student", "owner", "other", "admin")


def expect(guest: int, student: int, owner: int, other: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (guest, student, owner, other, admin), strict=True))


EVERYONE = expect(200, 200, 200, 200, 200)
STAFF_READ = expect(401, 403, 200, 200, 200)
STAFF_CREATE = expect(401, 403, 201, 201, 201)
HIDDEN_READ = expect(404, 404, 200, 404, 200)  # a course only its owner and admins see


def edit(ok: int, *, visible_to_others: bool) -> dict[str, int]:
    """Owner/admin only: another instructor gets 403 if they can see it, 404 if not."""
    return expect(401, 403, ok, 403 if visible_to_others else 404, ok)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # placeholders: {course} {m0} {m1} {spare}
    expected: dict[str, int]
    status: str = "draft"  # the course's status
    visibility: str = "public"
    body: Any = None

    def __str__(self) -> str:
        return self.name


def _course_cases(status: str, visibility: str = "public") -> list[Case]:
    visible = status == "published" and visibility == "public"
    tag = f"{status}{'' if visibility == 'public' else '-private'}"
    read = EVERYONE if visible else HIDDEN_READ
    return [
        Case(f"GET course [{tag}]", "GET", "/courses/{course}", read, status, visibility),
        Case(
            f"PATCH course [{tag}]",
            "PATCH",
            "/courses/{course}",
            edit(200, visible_to_others=visible),
            status,
            visibility,
            {"title": "Changed"},
        ),
        Case(
            f"DELETE course [{tag}]",
            "DELETE",
            "/courses/{course}",
            edit(204 if status == "draft" else 409, visible_to_others=visible),
            status,
            visibility,
        ),
        Case(f"GET outline [{tag}]", "GET", "/courses/{course}/modules", read, status, visibility),
        Case(
            f"POST outline [{tag}]",
            "POST",
            "/courses/{course}/modules",
            edit(201, visible_to_others=visible),
            status,
            visibility,
            {"module_id": "{spare}"},
        ),
        Case(
            f"PATCH outline [{tag}]",
            "PATCH",
            "/courses/{course}/modules/{m0}",
            edit(200, visible_to_others=visible),
            status,
            visibility,
            {"position": 2},
        ),
        Case(
            f"PATCH outline gating [{tag}]",
            "PATCH",
            "/courses/{course}/modules/{m0}",
            edit(200, visible_to_others=visible),
            status,
            visibility,
            {"prerequisites": ["{m1}"], "unlock_at": "2030-01-01T00:00:00Z"},
        ),
        Case(
            f"PATCH course sequential [{tag}]",
            "PATCH",
            "/courses/{course}",
            edit(200, visible_to_others=visible),
            status,
            visibility,
            {"sequential": True},
        ),
        Case(
            f"PUT outline [{tag}]",
            "PUT",
            "/courses/{course}/modules",
            edit(200, visible_to_others=visible),
            status,
            visibility,
            {"module_ids": ["{m1}", "{m0}"]},
        ),
        Case(
            f"DELETE outline [{tag}]",
            "DELETE",
            "/courses/{course}/modules/{m0}",
            edit(204, visible_to_others=visible),
            status,
            visibility,
        ),
    ]


CASES = [
    Case("POST /courses", "POST", "/courses", STAFF_CREATE, body={"title": "New course"}),
    Case("GET /courses", "GET", "/courses", EVERYONE),
    *_course_cases("draft"),
    *_course_cases("published"),
    *_course_cases("published", "private"),
    *_course_cases("archived"),
    Case("POST /modules", "POST", "/modules", STAFF_CREATE, body={"title": "New module"}),
    Case("GET /modules", "GET", "/modules", STAFF_READ),
    Case("GET module", "GET", "/modules/{m0}", STAFF_READ),
    Case("GET module courses", "GET", "/modules/{m0}/courses", STAFF_READ),
    Case(
        "PATCH module",
        "PATCH",
        "/modules/{spare}",
        edit(200, visible_to_others=True),
        body={"title": "Renamed"},
    ),
    Case("DELETE module", "DELETE", "/modules/{spare}", edit(204, visible_to_others=True)),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _caller(catalog: Catalog, role: str, owner: uuid.UUID) -> dict[str, str]:
    headers: dict[str, dict[str, str]] = {
        "guest": {},
        "student": catalog.as_("student"),
        "owner": catalog.as_("instructor", owner),
        "other": catalog.as_("instructor"),
        "admin": catalog.as_("admin"),
    }
    return headers[role]


async def _world(catalog: Catalog, owner: uuid.UUID, case: Case) -> dict[str, str]:
    """The owner's course (in the case's state) with modules m0, m1 attached and a spare one.

    Built in one transaction through the service layer: the matrix has hundreds of cases.
    """
    who = Principal(user_id=owner, role=Role.instructor)
    rt = catalog.runtime
    uow = rt.unit_of_work()
    async with uow:  # the service functions below join this one transaction
        course = await service.create_course(
            uow,
            who,
            schemas.CourseCreate(
                title=f"Matrix {uuid.uuid4().hex[:8]}",
                visibility=schemas.Visibility(case.visibility),
            ),
        )
        steps = {"draft": [], "published": ["published"], "archived": ["published", "archived"]}
        for step in steps[case.status]:
            await service.update_course(
                uow,
                who,
                course.id,
                schemas.CourseUpdate(status=schemas.CourseStatus(step)),
            )
        modules = [
            await service.create_module(uow, who, schemas.ModuleCreate(title=f"M{i}"))
            for i in range(3)
        ]
        for m in modules[:2]:
            await service.attach_module(uow, who, course.id, schemas.AttachModule(module_id=m.id))
    return {
        "course": str(course.id),
        "m0": str(modules[0].id),
        "m1": str(modules[1].id),
        "spare": str(modules[2].id),
    }


async def _snapshot(catalog: Catalog, ids: dict[str, str]) -> tuple[Any, ...]:
    """The state a request could change, read straight from the database."""
    async with catalog.runtime.db.transaction() as session:
        course = await session.get(Course, uuid.UUID(ids["course"]))
        module = await session.get(Module, uuid.UUID(ids["spare"]))
        gating = await session.execute(
            select(CourseModule.module_id, CourseModule.prerequisites, CourseModule.unlock_at)
            .where(CourseModule.course_id == uuid.UUID(ids["course"]))
            .order_by(CourseModule.module_id)
        )
        return (
            course and (course.version, course.status, course.title, course.sequential),
            await catalog.db_positions(ids["course"]),
            [tuple(row) for row in gating],
            module and (module.version, module.title),
            await session.scalar(select(func.count()).select_from(Course)),
            await session.scalar(select(func.count()).select_from(Module)),
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=str)
async def test_route_access(shared_catalog: Catalog, case: Case, role: str) -> None:
    catalog = shared_catalog
    owner = uuid.uuid4()
    ids = await _world(catalog, owner, case)
    before = await _snapshot(catalog, ids)

    r = await catalog.client.request(
        case.method,
        API + case.path.format(**ids),
        json=_fill(case.body, ids),
        headers=_caller(catalog, role, owner),
    )

    expected = case.expected[role]
    assert r.status_code == expected, (case.name, role, r.text)
    if expected >= 400:
        assert_problem(r, expected)
        if expected == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")
        # A refused request changes nothing.
        assert await _snapshot(catalog, ids) == before


@pytest.mark.parametrize("role", ROLES)
async def test_list_shows_each_caller_what_they_may_see(shared_catalog: Catalog, role: str) -> None:
    catalog = shared_catalog
    owner = uuid.uuid4()
    courses = {
        name: (await catalog.course(owner, status=status, visibility=visibility))["id"]
        for name, status, visibility in (
            ("draft", "draft", "public"),
            ("published", "published", "public"),
            ("private", "published", "private"),
            ("archived", "archived", "public"),
        )
    }
    r = await catalog.client.get(
        f"{API}/courses",
        params={"creator_id": str(owner), "limit": 100},
        headers=_caller(catalog, role, owner),
    )
    assert r.status_code == 200
    seen = {name for name, cid in courses.items() if cid in {c["id"] for c in r.json()["items"]}}
    assert seen == ({"published"} if role in ("guest", "student", "other") else set(courses))


async def test_admin_may_change_any_course_but_does_not_take_it_over(
    shared_catalog: Catalog,
) -> None:
    catalog = shared_catalog
    owner = uuid.uuid4()
    course = await catalog.course(owner)
    r = await catalog.client.patch(
        f"{API}/courses/{course['id']}", json={"status": "published"}, headers=catalog.as_("admin")
    )
    assert r.status_code == 200
    assert r.json()["creator_id"] == str(owner)


async def test_instructor_may_not_edit_an_admins_course(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    admin = uuid.uuid4()
    course = await catalog.course(admin, role="admin", status="published")
    r = await catalog.client.patch(
        f"{API}/courses/{course['id']}",
        json={"title": "Mine now"},
        headers=catalog.as_("instructor"),
    )
    assert_problem(r, 403)


# ---------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(tokens: TokenFactory, **overrides: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _es256(
    tokens: TokenFactory, claims: dict[str, Any], key: Any = None, kid: str | None = None
) -> str:
    return jwt.encode(
        claims, key or tokens.private_key, algorithm="ES256", headers={"kid": kid or tokens.kid}
    )


def _bad_tokens(tokens: TokenFactory) -> dict[str, str]:
    """Tokens that must all be refused, built with the test issuer's real key."""
    kid = tokens.kid
    public_pem = tokens.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = _claims(tokens)
    hs_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    hs_sig = hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest()
    jwk_secret = json.dumps(tokens.jwks["keys"][0]).encode()
    hs_jwk_sig = hmac.new(jwk_secret, hs_input.encode(), hashlib.sha256).digest()
    good = _es256(tokens, claims)
    head, _, sig = good.split(".")
    escalated = _b64(json.dumps({**claims, "role": "admin", "sub": str(uuid.uuid4())}).encode())
    stranger = ec.generate_private_key(ec.SECP256R1())
    return {
        "garbage": "not-a-jwt",
        "three garbage parts": "a.b.c",
        "expired": tokens.token(uuid.uuid4(), "admin", expires_in=-60),
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims) + ".",
        "alg none, signature kept": _unsigned({"alg": "none", "kid": kid}, claims) + "." + sig,
        "HS256 with the public key (PEM)": f"{hs_input}.{_b64(hs_sig)}",
        "HS256 with the public key (JWK)": f"{hs_input}.{_b64(hs_jwk_sig)}",
        "wrong audience": _es256(tokens, _claims(tokens, aud="some-other-api")),
        "wrong issuer": _es256(tokens, _claims(tokens, iss="https://evil.example")),
        "no expiry": _es256(tokens, _claims(tokens, exp=None)),
        "no subject": _es256(tokens, _claims(tokens, sub=None)),
        "subject not a uuid": _es256(tokens, _claims(tokens, sub="alice")),
        "unknown role": _es256(tokens, _claims(tokens, role="superuser")),
        "no role": _es256(tokens, _claims(tokens, role=None)),
        "not yet valid": _es256(tokens, _claims(tokens, nbf=claims["iat"] + 3600)),
        "signed by another key, our kid": _es256(tokens, claims, key=stranger),
        "signed by another key, unknown kid": _es256(tokens, claims, key=stranger, kid="rogue"),
        "no kid": jwt.encode(claims, tokens.private_key, algorithm="ES256"),
        "payload tampered": f"{head}.{escalated}.{sig}",
        "signature stripped": f"{head}.{good.split('.')[1]}.",
    }


BAD_TOKEN_NAMES = [
    "garbage",
    "three garbage parts",
    "expired",
    "alg none",
    "alg none, signature kept",
    "HS256 with the public key (PEM)",
    "HS256 with the public key (JWK)",
    "wrong audience",
    "wrong issuer",
    "no expiry",
    "no subject",
    "subject not a uuid",
    "unknown role",
    "no role",
    "not yet valid",
    "signed by another key, our kid",
    "signed by another key, unknown kid",
    "no kid",
    "payload tampered",
    "signature stripped",
]


@pytest.mark.parametrize("name", BAD_TOKEN_NAMES)
async def test_bad_tokens_are_401(shared_catalog: Catalog, name: str) -> None:
    catalog = shared_catalog
    token = _bad_tokens(catalog.tokens)[name]
    headers = {"Authorization": f"Bearer {token}"}
    owner = uuid.uuid4()
    published = await catalog.course(owner, status="published")
    for method, path, body in (
        ("POST", "/courses", {"title": "Sneaky"}),
        # An invalid token is refused even where a guest would be let in.
        ("GET", "/courses", None),
        ("GET", f"/courses/{published['id']}", None),
        ("GET", "/modules", None),
    ):
        r = await catalog.client.request(method, API + path, json=body, headers=headers)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
    r = await catalog.client.get(
        f"{API}/courses", params={"q": "Sneaky"}, headers=catalog.as_("admin")
    )
    assert r.json()["items"] == []


def test_bad_token_list_is_complete(tokens: TokenFactory) -> None:
    """Every crafted token above is exercised by the parametrized test."""
    assert sorted(_bad_tokens(tokens)) == sorted(BAD_TOKEN_NAMES)


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc", "bearer"]
)
async def test_malformed_authorization_header_is_401(
    shared_catalog: Catalog, authorization: str
) -> None:
    r = await shared_catalog.client.get(f"{API}/courses", headers={"Authorization": authorization})
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_well_formed_tokens_are_accepted(shared_catalog: Catalog) -> None:
    """The crafted-token helpers do make valid tokens when nothing is wrong."""
    catalog = shared_catalog
    for token in (
        _es256(catalog.tokens, _claims(catalog.tokens, role="instructor")),
        catalog.tokens.token(uuid.uuid4(), "instructor", expires_in=5),
        # Inside the verifier's clock-skew leeway (10 s).
        catalog.tokens.token(uuid.uuid4(), "instructor", expires_in=-3),
    ):
        r = await catalog.client.post(
            f"{API}/courses",
            json={"title": "Legit"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    r = await catalog.client.get(
        f"{API}/courses", headers={"Authorization": "bearer " + catalog.tokens.token()}
    )
    assert r.status_code == 200  # the scheme is case-insensitive


async def test_operations_routes_are_open(shared_catalog: Catalog) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        r = await shared_catalog.client.get(path)
        assert r.status_code == 200, (path, r.text)
