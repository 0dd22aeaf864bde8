"""Settings base shared by every service (pydantic-settings, environment only)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every Syllabus service reads from its environment.

    Secrets come from the environment only; nothing here has a production default
    that could leak (there is no default signing key, no default password).
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "service"
    service_env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    # 20 kept connections and no overflow: the same ceiling as 10 + 10, but a burst above 10
    # no longer opens and closes a connection per request (docs/performance.md).
    database_pool_size: int = 20
    database_max_overflow: int = 0
    # A pooled connection unused for longer than this is pinged before use (a database
    # restart costs no request); one used more recently is not (a round trip per
    # transaction saved). 0: ping on every checkout (SQLAlchemy's ``pool_pre_ping``).
    database_ping_after_idle_seconds: float = Field(default=1.0, ge=0)
    nats_url: str = "nats://127.0.0.1:4222"
    # Prefix for every subject and stream name, so tests (and several stacks) can
    # share one NATS server without seeing each other's events. Empty in production.
    event_namespace: str = ""
    # JetStream replicas for this service's stream (3 on a clustered NATS in production).
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    # JetStream AckWait of this service's durable consumers: how long events fetched by a
    # process that died (SIGKILL, OOM, a lost node) wait before they are redelivered to
    # another replica or to its restart. A batch is applied in milliseconds; a slower one
    # is only delivered again, and the inbox applies it once (docs/reliability.md).
    consumer_ack_wait_seconds: float = Field(default=5.0, ge=1, le=300)
    # Run the outbox relay / event consumers inside this process (turn off to run
    # them as their own deployments, or in tests that drive them by hand).
    run_relay: bool = True
    run_consumers: bool = True
    # Requests one process works on at once; the excess is answered 503 (overloaded) with
    # Retry-After at once instead of queueing (syllabus_shared.overload; /healthz, /readyz
    # and /metrics exempt). 0: no bound. Chosen from a measurement (docs/performance.md).
    max_in_flight_requests: int = Field(default=32, ge=0)
    log_level: str = "INFO"
    log_json: bool = True
    # OpenTelemetry traces (see syllabus_shared.tracing): "otlp" exports over OTLP/HTTP to
    # OTEL_EXPORTER_OTLP_ENDPOINT; "memory" keeps spans in the process (tests only).
    otel_exporter: Literal["none", "otlp", "memory"] = "none"

    # Access-token verification (every service verifies tokens itself).
    auth_issuer: str = "syllabus-identity"
    auth_audience: str = "syllabus"
    auth_jwks_url: str | None = None
    # A static JWKS document (JSON) instead of fetching one: for tests and air-gapped runs.
    auth_jwks_json: str | None = None
    auth_leeway_seconds: int = 10
    # The longest an access token can live (identity's ACCESS_TOKEN_TTL_SECONDS at most):
    # deleted accounts are remembered in memory this long to refuse their tokens.
    auth_max_token_age_seconds: int = Field(default=86_400, ge=60)

    # Read-your-writes: how long a request may wait for a projection to catch up.
    consistency_wait_seconds: float = Field(default=2.0, ge=0, le=10)

    # Test-only fault injection hook; impossible to enable in production (see validator).
    fault_injection: bool = False
    # Bench-only endpoints (``/api/v1/_floor/...``: the read and write floors ``make bench``
    # measures on the same stack); refused in production like fault injection.
    bench_endpoints: bool = False

    @model_validator(mode="after")
    def _production_is_safe(self) -> ServiceSettings:
        if self.service_env == "production" and self.fault_injection:
            raise ValueError("fault_injection cannot be enabled when service_env=production")
        if self.service_env == "production" and self.bench_endpoints:
            raise ValueError("bench_endpoints cannot be enabled when service_env=production")
        if self.service_env == "production" and self.otel_exporter == "memory":
            raise ValueError("otel_exporter=memory is for tests (it keeps every span)")
        if self.service_env == "production" and self.auth_jwks_json is not None:
            raise ValueError("production must fetch signing keys from auth_jwks_url")
        return self
