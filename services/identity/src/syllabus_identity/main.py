"""Identity service: accounts, roles, login, and the keys that sign access tokens."""

from __future__ import annotations

from fastapi import FastAPI
from syllabus_shared.messaging.consumer import Subscription
from syllabus_shared.runtime import Runtime, create_service_app

from syllabus_identity import keys, routes, service
from syllabus_identity.models import TABLES
from syllabus_identity.settings import Settings

__all__ = ["SUBSCRIPTIONS", "TABLES", "Settings", "create_app"]

# Identity consumes no events.
SUBSCRIPTIONS: tuple[Subscription, ...] = ()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start_identity(rt: Runtime) -> None:
        identity = service.Identity.build(settings)
        rt.extras["identity"] = identity
        await keys.ensure_signing_key(rt.db)
        # Identity has no JWKS URL to fetch from: it verifies its tokens from its own keys.
        app.state.token_verifier = keys.database_verifier(rt.db, settings)
        await service.ensure_bootstrap_admin(rt.db, rt.outbox, identity)

    app = create_service_app(
        settings=settings,
        tables=TABLES,
        title="Syllabus identity",
        description="Accounts and roles, login (OAuth2 password flow), and token signing keys.",
        routers=[routes.router],
        root_routers=[routes.well_known],
        subscriptions=SUBSCRIPTIONS,
        on_startup=[start_identity],
    )
    return app
