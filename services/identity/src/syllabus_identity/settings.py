from __future__ import annotations

import base64
import binascii
import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from syllabus_shared.settings import ServiceSettings

from syllabus_identity.rules import IPNetwork, valid_password, valid_username

__all__ = ["IPNetwork", "Settings"]


class Settings(ServiceSettings):
    # Merged with the kernel's: a rejected value (a key-encryption key, a password) is not
    # echoed in the error, which reaches the logs.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service_name: str = "identity"

    # Access tokens: short-lived, so a role change or a retired key stops mattering soon.
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    # Refresh tokens (``sessions``): each one valid this long from its issue (30 days); a
    # sign-in lasts while it is refreshed at least this often, and ends at its logout.
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=60, le=366 * 86_400)

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

    # The key-encryption key (KEK) that seals the private signing keys at rest (AES-256-GCM;
    # ``keys.KeyEncryption``): base64 of 32 random bytes, e.g. ``openssl rand -base64 32``.
    # Required in production; elsewhere, without it, keys are kept in clear (with a warning).
    identity_key_encryption_key: SecretStr | None = None
    # The KEK being rotated out: only opens keys, which start-up re-seals with the current one.
    identity_key_encryption_key_previous: SecretStr | None = None
    # Or either one read from a file (a mounted Kubernetes Secret): ``<NAME>_FILE=/path``.
    identity_key_encryption_key_file: Path | None = None
    identity_key_encryption_key_previous_file: Path | None = None

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
        "identity_key_encryption_key",
        "identity_key_encryption_key_previous",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # The local runner passes these through even when its own environment lacks them.
        return None if value == "" else value

    @model_validator(mode="before")
    @classmethod
    def _kek_from_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in ("identity_key_encryption_key", "identity_key_encryption_key_previous"):
            path = data.get(f"{name}_file")
            if path in (None, ""):
                continue
            if data.get(name) not in (None, ""):
                raise ValueError(f"set {name.upper()} or {name.upper()}_FILE, not both")
            try:
                data = {**data, name: Path(path).read_text().strip()}
            except OSError as exc:
                raise ValueError(f"{name.upper()}_FILE: cannot read {path}: {exc}") from None
        return data

    @field_validator("identity_key_encryption_key", "identity_key_encryption_key_previous")
    @classmethod
    def _valid_kek(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            decode_kek(value.get_secret_value(), (info.field_name or "").upper())
        return value

    @model_validator(mode="after")
    def _kek_in_production(self) -> Settings:
        if self.identity_key_encryption_key is None:
            if self.service_env == "production":
                raise ValueError(
                    "IDENTITY_KEY_ENCRYPTION_KEY must be set in production: it seals the "
                    "token signing keys in identity's database (base64 of 32 random bytes, "
                    "e.g. `openssl rand -base64 32`; see docs/operations.md)"
                )
            if self.identity_key_encryption_key_previous is not None:
                raise ValueError(
                    "IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS needs IDENTITY_KEY_ENCRYPTION_KEY "
                    "(the key that re-seals what the previous one opens)"
                )
        return self

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
    def key_encryption_key(self) -> bytes | None:
        """The current KEK's 32 bytes (None: signing keys are kept in clear)."""
        secret = self.identity_key_encryption_key
        return None if secret is None else decode_kek(secret.get_secret_value())

    @property
    def previous_key_encryption_key(self) -> bytes | None:
        secret = self.identity_key_encryption_key_previous
        return None if secret is None else decode_kek(secret.get_secret_value())

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


KEK_BYTES = 32


def decode_kek(value: str, name: str = "IDENTITY_KEY_ENCRYPTION_KEY") -> bytes:
    """A key-encryption key from its base64 text (standard or URL-safe alphabet); a
    ``ValueError`` naming the variable (never the value) when it is not 32 bytes."""
    text = value.strip()
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} is not base64 (want base64 of 32 random bytes)") from None
    if len(raw) != KEK_BYTES:
        raise ValueError(
            f"{name} decodes to {len(raw)} bytes; want {KEK_BYTES} (e.g. `openssl rand -base64 32`)"
        )
    return raw
