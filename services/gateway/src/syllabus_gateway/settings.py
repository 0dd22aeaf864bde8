"""Gateway sidecar settings, from ``GATEWAY_*`` environment variables."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """What the sidecar needs to know: where the services are, and a few timings.

    ``GATEWAY_UPSTREAMS`` is a JSON object of service name → base URL, or a list of base
    URLs when the service runs replicated, e.g.
    ``{"identity": "http://127.0.0.1:8101", "catalog": ["http://…:8102", "http://…:8103"]}``.
    """

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    upstreams: dict[str, list[str]] = Field(default_factory=dict)
    # How long a merged OpenAPI document is served from memory (seconds).
    openapi_cache_seconds: float = Field(default=10.0, ge=0)
    # Timeout of each call to an upstream's /readyz or /openapi.json.
    upstream_timeout_seconds: float = Field(default=3.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    api_title: str = "Syllabus API"
    api_version: str = "1.0.0"

    @field_validator("upstreams", mode="before")
    @classmethod
    def _single_url_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: [urls] if isinstance(urls, str) else urls for name, urls in value.items()}
        return value

    @field_validator("upstreams")
    @classmethod
    def _strip_trailing_slash(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, urls in value.items():
            if not urls:
                raise ValueError(f"service {name!r} has no upstream URL")
        return {name: [url.rstrip("/") for url in urls] for name, urls in value.items()}
