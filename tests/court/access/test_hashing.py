"""Password and token hashing, and what of a secret may be shown."""

from __future__ import annotations

from court.access.hashing import hash_password, tail, token_hash, verify_password


def test_password_hash_round_trip_and_salt() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert hash_password("correct horse") != stored  # salted


def test_a_malformed_or_foreign_hash_never_verifies() -> None:
    stored = hash_password("correct horse")
    assert not verify_password("correct horse", "bcrypt" + stored.removeprefix("scrypt"))
    assert not verify_password("correct horse", "not a hash")
    assert not verify_password("correct horse", stored.replace("$8$", "$x$"))


def test_token_hash_and_tail() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert tail("ABCD-EFGH") == "…GH"
    assert tail("ab") == "…" and tail("") == "…"
