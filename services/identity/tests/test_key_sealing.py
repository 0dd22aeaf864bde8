"""Signing keys sealed at rest (issue 17): no private key in clear in identity's database."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine
from syllabus_devkit.testing.plugin import Databases
from syllabus_identity import keys
from syllabus_identity.keys import KeyEncryption, SealedKeyError, kek_id
from syllabus_identity.models import SigningKey
from syllabus_identity.settings import Settings

from conftest import API, KEK, MIGRATIONS, Identity, new_kek, running_identity

PG_DUMP = next(
    (
        path
        for path in (shutil.which("pg_dump"), "/usr/lib/postgresql/15/bin/pg_dump")
        if path and Path(path).exists()
    ),
    None,
)


def _secrets(key: ec.EllipticCurvePrivateKey) -> dict[str, bytes]:
    """Every form the private key could leak in: its scalar, DER and PEM."""
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return {"scalar": scalar, "pkcs8 der": der}


async def _dump(url: str) -> bytes:
    """The whole database as pg_dump writes it (else every column of every table)."""
    if PG_DUMP is not None:
        libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
        done = await asyncio.to_thread(
            subprocess.run,
            [PG_DUMP, "--no-owner", "--data-only", libpq],
            capture_output=True,
            timeout=60,
        )
        if b"version mismatch" not in done.stderr:  # else: an older pg_dump than the server
            assert done.returncode == 0, done.stderr.decode()
            return done.stdout
    engine = create_async_engine(url)
    try:
        metadata = MetaData()
        async with engine.connect() as conn:
            await conn.run_sync(metadata.reflect)
            out = []
            for table in metadata.sorted_tables:
                out.append(f"-- table {table.name}".encode())
                for row in await conn.execute(select(table)):
                    out.append(repr(tuple(row)).encode())
        return b"\n".join(out)
    finally:
        await engine.dispose()


def _forms(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


async def test_a_dump_of_the_database_holds_no_private_key(identity: Identity) -> None:
    user = await identity.register()
    await identity.token(user["username"])  # the signer has opened the key
    await keys.rotate_signing_key(identity.runtime.unit_of_work(), identity.settings)
    await identity.token(user["username"])
    async with identity.runtime.db.transaction() as session:
        rows = (await session.scalars(select(SigningKey))).all()
    assert len(rows) == 2
    keks = KeyEncryption.from_settings(identity.settings)
    dump = await _dump(identity.settings.database_url)
    assert b"signing_keys" in dump or PG_DUMP is None
    assert b"PRIVATE KEY" not in dump
    for row in rows:
        assert row.private_key_pem is None
        assert row.sealed_with == kek_id(base64.b64decode(KEK))
        key = keks.open(row.kid, row.private_key_pem, row.private_key_sealed, row.sealed_with)
        for name, secret in _secrets(key).items():
            for form in _forms(secret):
                assert form not in dump, f"the {name} of {row.kid} is in the dump"
    # Nor the key-encryption key.
    for form in _forms(base64.b64decode(KEK)):
        assert form not in dump


async def test_a_restart_still_verifies_old_tokens(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        user = await identity.register()
        headers = await identity.headers(user["username"])
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        assert (await identity.client.get(f"{API}/users/me", headers=headers)).status_code == 200
        # ...and signs new ones with the same (opened) key.
        assert (await identity.login(user["username"])).status_code == 200


async def test_a_wrong_or_missing_kek_stops_start_up_with_a_clear_error(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with running_identity(databases, nats_url, namespace, database_url=url):
        pass
    other = new_kek()
    with pytest.raises(SealedKeyError) as wrong:
        async with running_identity(
            databases, nats_url, namespace, database_url=url, identity_key_encryption_key=other
        ):
            raise AssertionError("started with the wrong key-encryption key")
    message = str(wrong.value)
    assert kek_id(base64.b64decode(KEK)) in message  # the key it needs, by id
    assert kek_id(base64.b64decode(other)) in message  # and the one it was given
    assert "IDENTITY_KEY_ENCRYPTION_KEY" in message
    assert KEK not in message and other not in message  # never the keys themselves

    with pytest.raises(SealedKeyError, match="IDENTITY_KEY_ENCRYPTION_KEY is not set"):
        async with running_identity(
            databases, nats_url, namespace, database_url=url, identity_key_encryption_key=None
        ):
            raise AssertionError("started without the key-encryption key")


async def test_rotating_the_kek_reseals_every_key(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    old, new = KEK, new_kek()
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        await keys.rotate_signing_key(identity.runtime.unit_of_work(), identity.settings)
        user = await identity.register()
        headers = await identity.headers(user["username"])

    async def sealed_with() -> set[str | None]:
        async with identity.runtime.db.transaction() as session:
            return set((await session.scalars(select(SigningKey.sealed_with))).all())

    rotation = {
        "identity_key_encryption_key": new,
        "identity_key_encryption_key_previous": old,
    }
    async with running_identity(
        databases, nats_url, namespace, database_url=url, **rotation
    ) as identity:
        assert await sealed_with() == {kek_id(base64.b64decode(new))}
        assert (await identity.client.get(f"{API}/users/me", headers=headers)).status_code == 200
    # Once re-sealed, the previous key is no longer needed; and no longer enough.
    async with running_identity(
        databases, nats_url, namespace, database_url=url, identity_key_encryption_key=new
    ) as identity:
        assert (await identity.client.get(f"{API}/users/me", headers=headers)).status_code == 200
    with pytest.raises(SealedKeyError):
        async with running_identity(databases, nats_url, namespace, database_url=url):
            pass


async def test_keys_kept_in_clear_are_sealed_at_the_next_start(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    """A database from before sealing (or a development run without a KEK): start-up seals
    its keys once a KEK is given, and they keep their ids, so tokens stay valid."""
    url = await databases.create(MIGRATIONS)
    async with running_identity(
        databases, nats_url, namespace, database_url=url, identity_key_encryption_key=None
    ) as identity:
        user = await identity.register()
        headers = await identity.headers(user["username"])
        async with identity.runtime.db.transaction() as session:
            clear = (await session.scalars(select(SigningKey))).one()
        assert clear.private_key_pem is not None
        assert "BEGIN PRIVATE KEY" in clear.private_key_pem
        assert clear.private_key_sealed is None
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        async with identity.runtime.db.transaction() as session:
            sealed = (await session.scalars(select(SigningKey))).one()
        assert (sealed.kid, sealed.private_key_pem) == (clear.kid, None)
        assert sealed.private_key_sealed is not None
        assert (await identity.client.get(f"{API}/users/me", headers=headers)).status_code == 200
        assert b"PRIVATE KEY" not in await _dump(url)


# ---------------------------------------------------------------- without a database


def test_sealed_keys_are_bound_to_their_kid_and_their_bytes() -> None:
    keks = KeyEncryption(base64.b64decode(new_kek()))
    row = keys.new_signing_key(keks)
    assert row.private_key_pem is None and row.private_key_sealed is not None
    opened = keks.open(row.kid, None, row.private_key_sealed, row.sealed_with)
    assert opened.public_key().public_numbers().x > 0
    # Moved to another row (another kid): refused.
    with pytest.raises(SealedKeyError, match="does not open"):
        keks.open("another-kid", None, row.private_key_sealed, row.sealed_with)
    # Any bit changed: refused.
    tampered = bytearray(row.private_key_sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealedKeyError, match="does not open"):
        keks.open(row.kid, None, bytes(tampered), row.sealed_with)
    # Sealing twice gives different bytes (a fresh nonce each time).
    again = keys.new_signing_key(keks)
    assert again.private_key_sealed is not None
    assert again.private_key_sealed[:12] != row.private_key_sealed[:12]


def test_production_needs_a_kek_and_a_kek_must_be_32_bytes() -> None:
    with pytest.raises(ValidationError, match="IDENTITY_KEY_ENCRYPTION_KEY must be set"):
        Settings(service_env="production")
    assert Settings(service_env="production", identity_key_encryption_key=KEK).key_encryption_key
    short = base64.b64encode(os.urandom(16)).decode()
    for bad in ("not base64 at all!", short):
        with pytest.raises(ValidationError, match="IDENTITY_KEY_ENCRYPTION_KEY") as error:
            Settings(identity_key_encryption_key=bad)
        assert bad not in str(error.value)  # a secret is never echoed back
    with pytest.raises(ValidationError, match="_PREVIOUS needs IDENTITY_KEY_ENCRYPTION_KEY"):
        Settings(identity_key_encryption_key_previous=KEK)
    # URL-safe base64 and an empty value (unset) are accepted.
    raw = os.urandom(32)
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert Settings(identity_key_encryption_key=urlsafe).key_encryption_key == raw
    assert Settings(identity_key_encryption_key="").key_encryption_key is None


def test_the_kek_can_come_from_a_mounted_file(tmp_path: Path) -> None:
    raw = os.urandom(32)
    secret = tmp_path / "kek"
    secret.write_text(base64.b64encode(raw).decode() + "\n")
    settings = Settings(service_env="production", identity_key_encryption_key_file=str(secret))
    assert settings.key_encryption_key == raw
    with pytest.raises(ValidationError, match="not both"):
        Settings(identity_key_encryption_key_file=str(secret), identity_key_encryption_key=KEK)
    with pytest.raises(ValidationError, match="cannot read"):
        Settings(identity_key_encryption_key_file=str(tmp_path / "missing"))


async def test_production_without_a_kek_does_not_start() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IDENTITY_", "DATABASE_URL"))
    }
    env.update({"SERVICE_ENV": "production", "AUTH_JWKS_URL": "http://127.0.0.1:9/jwks"})
    with contextlib.suppress(KeyError):
        del env["AUTH_JWKS_JSON"]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "syllabus_identity", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "IDENTITY_KEY_ENCRYPTION_KEY must be set in production" in done.stderr
