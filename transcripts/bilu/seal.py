"""Sealing versions and signatures with the server's Ed25519 key.

Every locked version and every signature (or refusal) is a *statement* — a flat JSON object that
binds who, what (hearing, version number, content hash) and when — sealed with the server's private
key. Anyone holding the record and the server's public key can check a seal; nobody without the
private key can make one. So a signature row copied to another version or signer ("moved"), or one
inserted into the store by hand ("forged"), fails its seal.

Ed25519 (not an HMAC) so that checking needs only the public key, which the store and every JSON
export carry; the private key stays in a file the store never holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEAL_CODE_LENGTH = 16
"""Hex characters of a seal printed beside a signature in an export (the whole seal is in the record)."""


class SigningKeyError(Exception):
    """The signing key file cannot be read or created."""


def canonical_json(statement: Mapping[str, Any]) -> bytes:
    """The exact bytes a seal covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:32]


@dataclass(frozen=True)
class ServerKey:
    private: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def seal(self, statement: Mapping[str, Any]) -> str:
        return self.private.sign(canonical_json(statement)).hex()

    @classmethod
    def generate(cls) -> ServerKey:
        return cls(Ed25519PrivateKey.generate())


def load_or_create_key(path: Path) -> ServerKey:
    """Read the PEM private key at ``path``, or create one there (mode 0600) when there is none."""
    if path.is_file():
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(
                f"签名密钥文件无法读取 (cannot read the signing key {path}): {exc}"
            ) from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise SigningKeyError(f"签名密钥不是 Ed25519 密钥 (the signing key {path} is not an Ed25519 key)")
        return ServerKey(loaded)
    key = ServerKey.generate()
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile: use theirs
        return load_or_create_key(path)
    except OSError as exc:
        raise SigningKeyError(f"无法创建签名密钥 (cannot create the signing key {path}): {exc}") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def verify_seal(public_key: bytes, statement: Mapping[str, Any], seal: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(bytes.fromhex(seal), canonical_json(statement))
    except (InvalidSignature, ValueError):
        return False
    return True
