"""Secrets the local stack makes for itself, kept under its data directory.

Identity seals its private signing keys with a key-encryption key (KEK); in a deployment
it comes from a Secret. The local stack makes one on its first run,
``<data dir>/secrets/identity-key-encryption-key`` (mode 0600, directory 0700), and
hands identity its path (``IDENTITY_KEY_ENCRYPTION_KEY_FILE``), so the key outlives
restarts with the database it sealed, and ``make clean`` removes both together. A KEK in
the runner's own environment (``IDENTITY_KEY_ENCRYPTION_KEY[_FILE]``, and the
``_PREVIOUS`` ones while rotating) is passed on instead.

The web seals its session cookies with ``WEB_SESSION_SECRET``; the local stack makes one
the same way, ``<data dir>/secrets/web-session-secret``, so sessions outlive a restart of
the stack (and ``make clean`` signs everybody out). The runner's own
``WEB_SESSION_SECRET`` is passed on instead when it has one.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

KEK_FILE = Path("secrets") / "identity-key-encryption-key"
WEB_SECRET_FILE = Path("secrets") / "web-session-secret"
KEK_VARIABLES = (
    "IDENTITY_KEY_ENCRYPTION_KEY",
    "IDENTITY_KEY_ENCRYPTION_KEY_FILE",
    "IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS",
    "IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS_FILE",
)


def identity_kek_file(data_dir: Path) -> Path:
    """The local stack's KEK file: made (32 random bytes, base64) on first use, then kept."""
    return _random_secret_file(data_dir / KEK_FILE)


def _random_secret_file(path: Path) -> Path:
    """``path`` holding 32 random bytes (base64): made on first use (mode 0600), then kept."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        # O_EXCL: never overwrite a key that sealed something (two runners cannot race
        # here anyway: the data directory is locked by the one running).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return path


def identity_secrets(data_dir: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """What identity's environment gets from the runner: the runner's own KEK variables
    when it has any, else the path of the generated KEK file."""
    environ = dict(os.environ) if environ is None else environ
    given = {name: environ[name] for name in KEK_VARIABLES if environ.get(name)}
    if "IDENTITY_KEY_ENCRYPTION_KEY" in given or "IDENTITY_KEY_ENCRYPTION_KEY_FILE" in given:
        return given
    return {**given, "IDENTITY_KEY_ENCRYPTION_KEY_FILE": str(identity_kek_file(data_dir))}


def web_secrets(data_dir: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """What the web's environment gets from the runner: the runner's own
    ``WEB_SESSION_SECRET`` when it has one, else the generated one's value."""
    environ = dict(os.environ) if environ is None else environ
    if secret := environ.get("WEB_SESSION_SECRET"):
        return {"WEB_SESSION_SECRET": secret}
    path = _random_secret_file(data_dir / WEB_SECRET_FILE)
    return {"WEB_SESSION_SECRET": path.read_text().strip()}
