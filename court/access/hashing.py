"""Password, token and invitation-code hashing, and how much of a secret the audit log may keep.

Passwords are stored as salted scrypt hashes, session tokens as their SHA-256 (a token is already
random, so a fast hash suffices and a copy of the database hands out no live session). Invitation
codes are short (8 characters of 31, about 40 bits): a fast hash of every possible code is an
afternoon's work, so they get scrypt too — with a fixed salt, because a code is looked up by its hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

# scrypt at n=2**14, r=8 costs about 16 MiB and tens of milliseconds: cheap for one login, dear for
# guessing offline. The parameters are stored with each hash, so raising them later stays compatible.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_LEN = 32


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_SCRYPT_LEN
    )
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 2**20,
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Checked against when the username is unknown, so that a miss costs as long as a wrong password
# and the response time does not tell which usernames exist.
@functools.cache
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# A per-purpose constant, not a per-row salt: redeeming looks the code up by its hash. What makes a
# stolen table useless is the cost: every guess costs what one redemption costs the server (~30 ms),
# and trying all 31**8 codes would take one core centuries, against a code that lives a week at most.
_CODE_SALT = b"court.invitation-code.v1"


def code_hash(canonical_code: str) -> str:
    """The stored form of an invitation code (its canonical ``ABCD-EFGH`` form): 64 hex digits."""
    return hashlib.scrypt(
        canonical_code.encode("utf-8"), salt=_CODE_SALT, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    ).hex()


def tail(secret: str) -> str:
    """What the audit log may keep of a secret: its last two characters."""
    return "…" + secret[-2:] if len(secret) > 2 else "…"
