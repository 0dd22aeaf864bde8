"""The local stack's own secrets: identity's key-encryption key under the data directory."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

from syllabus_devstack.secrets import KEK_FILE, identity_kek_file, identity_secrets


def test_the_kek_is_made_once_private_and_kept(tmp_path: Path) -> None:
    path = identity_kek_file(tmp_path)
    assert path == tmp_path / KEK_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    value = path.read_text()
    assert len(base64.b64decode(value.strip())) == 32
    # The next run keeps it: it sealed the keys in the database beside it.
    assert identity_kek_file(tmp_path).read_text() == value


def test_identity_gets_the_file_unless_the_runner_was_given_a_kek(tmp_path: Path) -> None:
    made = identity_secrets(tmp_path, {})
    assert made == {"IDENTITY_KEY_ENCRYPTION_KEY_FILE": str(tmp_path / KEK_FILE)}
    given = {
        "IDENTITY_KEY_ENCRYPTION_KEY": "new",
        "IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS": "old",
        "UNRELATED": "x",
    }
    assert identity_secrets(tmp_path / "other", given) == {
        "IDENTITY_KEY_ENCRYPTION_KEY": "new",
        "IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS": "old",
    }
    assert not (tmp_path / "other").exists()
    # Rotating the generated key: the old one as _PREVIOUS beside the file.
    rotating = identity_secrets(tmp_path, {"IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS": "old"})
    assert rotating == {
        "IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS": "old",
        "IDENTITY_KEY_ENCRYPTION_KEY_FILE": str(tmp_path / KEK_FILE),
    }
