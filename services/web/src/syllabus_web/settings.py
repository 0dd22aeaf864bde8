"""Web settings, from ``WEB_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What the web needs: where the public API is, and the secret its cookies are sealed
    with. There is no default secret: a web without one refuses to start."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", frozen=True)

    # The gateway (the public API's base URL, without /api/v1): the web reaches the services
    # only through it, like any other client.
    api_url: str = "http://127.0.0.1:8000"
    # Seals the session cookie (encrypted and authenticated); at least 32 characters.
    # Rotating it signs everybody out.
    session_secret: SecretStr = Field(min_length=32)
    # None: Secure when the request came over https (Caddy's X-Forwarded-Proto), else not.
    cookie_secure: bool | None = None
    # Refresh the access token when it has fewer seconds left than this.
    refresh_margin_seconds: int = Field(default=60, ge=0)
    # How long a signed-in session lasts when the API gives no refresh-token lifetime.
    session_max_age_seconds: int = Field(default=30 * 86_400, ge=60)
    # A read-your-writes token older than this is dropped: by then its events have long
    # been applied everywhere (they take 2 s), and the cookie stays small.
    consistency_keep_seconds: int = Field(default=120, ge=1)
    # Each API call's timeout; the live relay's stream has no read timeout.
    api_timeout_seconds: float = Field(default=15.0, gt=0)
    page_size: int = Field(default=20, ge=1, le=100)
    log_level: str = "INFO"
