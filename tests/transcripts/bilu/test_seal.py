from __future__ import annotations

import stat
from pathlib import Path

import pytest

from transcripts.bilu.seal import (
    ServerKey,
    SigningKeyError,
    canonical_json,
    key_id_of,
    load_or_create_key,
    verify_seal,
)


def test_key_is_created_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_key(path)
    assert again.public_key == key.public_key and key.key_id == key_id_of(key.public_key)


def test_seal_binds_every_field() -> None:
    key = ServerKey.generate()
    statement = {"signer": "申请人 张伟", "version": 1, "sha256": "ab" * 32}
    seal = key.seal(statement)
    assert verify_seal(key.public_key, statement, seal)
    assert verify_seal(key.public_key, dict(reversed(statement.items())), seal)  # order is canonical
    assert not verify_seal(key.public_key, {**statement, "version": 2}, seal)
    assert not verify_seal(key.public_key, {**statement, "signer": "被申请人 周强"}, seal)
    assert not verify_seal(ServerKey.generate().public_key, statement, seal)
    assert not verify_seal(key.public_key, statement, "zz")
    assert canonical_json({"b": 1, "a": "仲"}) == '{"a":"仲","b":1}'.encode()


def test_a_bad_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_text("not a key")
    with pytest.raises(SigningKeyError, match="cannot read the signing key"):
        load_or_create_key(path)
