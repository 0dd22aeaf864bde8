"""Identity service: accounts, roles, login, the keys that sign access tokens, and groups.

Identity publishes ``UserRegistered``, ``UserRoleChanged``, ``UserProfileChanged`` and
``UserDeleted``, and owns groups and their members (``GroupCreated/Updated/Deleted``,
``GroupMemberAdded/Removed``). It consumes only what tells it which groups an instructor
sees (``handlers.py``: course owners from catalog, follows from progress). It verifies
access tokens with its own keys, read from its database, rather than from a JWKS URL, and
refuses those of deleted accounts (``Runtime.revoked``). Its private signing keys are
sealed with the key-encryption key from its environment (``keys.KeyEncryption``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from syllabus_shared.declaration import ServiceDeclaration
from syllabus_shared.messaging.replay import Projection
from syllabus_shared.runtime import Runtime

from syllabus_identity import keys, routes, service
from syllabus_identity.handlers import SUBSCRIPTIONS
from syllabus_identity.models import METADATA, PROJECTED_AGGREGATES, PROJECTION_TABLES, TABLES
from syllabus_identity.settings import Settings


async def start_identity(rt: Runtime, settings: Settings) -> service.Identity:
    """The ``Identity`` part (password hasher, token signer); the signing keys sealed and
    one signing, and the bootstrap admin, in the database; and the verifier of identity's
    own tokens."""
    identity = await service.start(rt.unit_of_work(), settings)
    # Identity has no JWKS URL to fetch from: it verifies its tokens from its own keys,
    # refusing deleted accounts' (this process learns of a deletion at once, the other
    # replicas by the NOTIFY of ``deleted_users``).
    rt.token_verifier = keys.database_verifier(rt.db, settings, rt.revoked)
    return identity


def rotate_keys(settings: Settings) -> int:
    """Add a new token signing key; the old one keeps verifying until its tokens expire."""
    rt = SERVICE.runtime(settings)

    async def rotate() -> str:
        try:
            return await keys.rotate_signing_key(rt.unit_of_work(), settings)
        finally:
            await rt.db.dispose()

    kid = asyncio.run(rotate())
    print(f"identity: new signing key {kid}")
    return 0


SERVICE = ServiceDeclaration(
    name="identity",
    title="Syllabus identity",
    description=(
        "Accounts and roles, login (OAuth2 password flow), token signing keys, and groups."
    ),
    settings=Settings,
    metadata=METADATA,
    tables=TABLES,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    routers=[routes.router],
    root_routers=[routes.well_known],
    subscriptions=SUBSCRIPTIONS,
    parts=[start_identity],
    # Course owners and follows (``python -m syllabus_identity replay`` empties them and
    # replays catalog's and progress's streams); groups and memberships are identity's own.
    projection=Projection(tables=PROJECTION_TABLES, aggregates=PROJECTED_AGGREGATES),
    commands={"rotate-keys": rotate_keys},
)

# The ASGI app factory (``uvicorn --factory syllabus_identity.main:create_app``).
create_app = SERVICE.create_app
