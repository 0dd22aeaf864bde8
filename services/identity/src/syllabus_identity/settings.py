from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode
from syllabus_shared.settings import ServiceSettings

from syllabus_identity.rules import IPNetwork, valid_password, valid_username

__all__ = ["IPNetwork", "Settings"]


class Settings(ServiceSettings):
    service_name: str = "identity"

    # Access tokens: short-lived, so a role change or a retired key stops mattering soon.
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)

    # Login throttling (see ``service.LoginThrottle``): failures counted in a sliding window.
    login_failure_window_seconds: float = Field(default=900.0, gt=0, le=86_400)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    # Peers whose X-Forwarded-For is believed (the gateway). Addresses or CIDR networks,
    # comma-separated in the environment: TRUSTED_PROXIES=127.0.0.1,::1,10.0.0.0/8
    trusted_proxies: Annotated[list[str], NoDecode] = ["127.0.0.1", "::1"]

    # Argon2id cost (pwdlib's recommended parameters by default) and how many hashes may
    # run at once in one process: each takes ``memory_kib`` of memory and a core.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65_536, ge=1024)
    password_hash_parallelism: int = Field(default=4, ge=1)
    password_hash_concurrency: int = Field(default=4, ge=1)

    # The admin that must exist after start-up (created, or promoted and given this password).
    identity_bootstrap_admin_username: str | None = None
    identity_bootstrap_admin_password: SecretStr | None = None
    identity_bootstrap_admin_email: str | None = None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @field_validator(
        "identity_bootstrap_admin_username",
        "identity_bootstrap_admin_password",
        "identity_bootstrap_admin_email",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # The local runner passes these through even when its own environment lacks them.
        return None if value == "" else value

    @model_validator(mode="after")
    def _bootstrap_admin_is_complete(self) -> Settings:
        username, password = (
            self.identity_bootstrap_admin_username,
            self.identity_bootstrap_admin_password,
        )
        if (username is None) != (password is None):
            raise ValueError(
                "set both IDENTITY_BOOTSTRAP_ADMIN_USERNAME and "
                "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD, or neither"
            )
        if username is not None and not valid_username(username):
            raise ValueError("IDENTITY_BOOTSTRAP_ADMIN_USERNAME must be 3-150 of [A-Za-z0-9_]")
        if password is not None and not valid_password(password.get_secret_value()):
            raise ValueError("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD must be 8-1024 characters")
        return self

    @property
    def trusted_proxy_networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies]

    @property
    def bootstrap_admin_email(self) -> str | None:
        if self.identity_bootstrap_admin_username is None:
            return None
        email = (
            self.identity_bootstrap_admin_email
            or f"{self.identity_bootstrap_admin_username}@localhost.invalid"
        )
        return email.lower()
