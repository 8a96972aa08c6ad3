"""Failed sign-ins counted so that guessing costs time: a password per account, an invitation code per
client address.

Each attempt is counted against a few keys; past a key's free allowance every further failure blocks
that key for twice as long as the one before, up to the key's cap, and a blocked key is refused at
once (HTTP 429 with Retry-After) without running the password hash, so guessing also stops costing
the server its scrypt time. The keys, and why each:

- ``address``: one machine guessing many accounts;
- ``account``: many machines guessing one account (the clerk's);
- ``account_address``: one account from one machine (the person at the console who mistypes);
- ``join_address``: one machine guessing invitation codes.

An attacker must not be able to lock the clerk out: an address the account has signed in from before
is exempt from the ``account`` and ``address`` blocks (there only its own failures count), and the
``account`` block, the one strangers can raise, is capped at 30 s. Counts are forgotten a quarter of
an hour after the last failure. The state lives in this process's memory: a restart forgets it, which
costs an attacker nothing they could not get by waiting, and the audit log keeps what happened.

An attempt is counted as a failure when it begins (and given back if it succeeds): a burst of
parallel guesses cannot all slip through before the first of them has failed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from court.access.principals import Throttled

Key = tuple[str, str]
"""(kind, value): ``("account", "clerk")``, ``("address", "10.0.0.7")``."""


@dataclass(frozen=True)
class Rule:
    free: int
    """Failures allowed before the first block."""
    first: float
    """The first block (seconds); each further failure doubles it."""
    cap: float
    """The longest block."""
    forget: float = 900.0
    """A key with no failure for this long starts again from nothing."""
    reset_on_success: bool = True
    """A success clears the key (it proves the password); an address's count is only given back the
    attempt, so one good account does not wash out guesses at others."""


RULES: Mapping[str, Rule] = {
    "account": Rule(free=5, first=1.0, cap=30.0),
    "address": Rule(free=20, first=1.0, cap=300.0, reset_on_success=False),
    "account_address": Rule(free=5, first=1.0, cap=300.0),
    # Parties behind one carrier's NAT share an address: ten mistyped codes before the first block.
    "join_address": Rule(free=10, first=2.0, cap=300.0, reset_on_success=False),
}


@dataclass(frozen=True)
class Block:
    """A key blocked by a failure: what the audit log records."""

    kind: str
    key: str
    failures: int
    seconds: float


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0


class SignInThrottle:
    """The counters (module doc). Thread-safe: sign-ins run on the server's worker threads."""

    def __init__(
        self,
        rules: Mapping[str, Rule] = RULES,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 20_000,
        remember_seconds: float = 30 * 86400,
    ) -> None:
        self.rules = dict(rules)
        self._clock = clock
        self._max_keys = max_keys
        self._remember = remember_seconds
        self._counts: dict[Key, _Count] = {}
        self._known: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    # which keys an attempt counts against

    def login_keys(self, username: str, address: str) -> list[Key]:
        keys: list[Key] = [("account_address", f"{username}\n{address}")]
        with self._lock:
            seen = self._known.get((username, address))
            known = seen is not None and self._clock() - seen < self._remember
        if not known:
            keys += [("account", username), ("address", address)]
        return keys

    def join_keys(self, address: str) -> list[Key]:
        return [("join_address", address)]

    # one attempt

    def begin(self, keys: Sequence[Key]) -> None:
        """Refuse with :class:`Throttled` while any key is blocked; else count the attempt."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            for key in keys:
                count = self._fresh(key, now)
                if count is not None:
                    wait = max(wait, count.until - now)
            if wait > 0:
                raise Throttled(max(1, math.ceil(wait)))
            for key in keys:
                rule = self.rules[key[0]]
                count = self._counts.setdefault(key, _Count())
                count.failures += 1
                count.last = now
                if count.failures > rule.free:
                    count.until = now + min(rule.cap, rule.first * 2 ** (count.failures - rule.free - 1))
            if len(self._counts) > self._max_keys:
                self._prune(now)

    def failed(self, keys: Sequence[Key]) -> list[Block]:
        """The attempt failed (it was counted when it began): the blocks it set, for the audit."""
        with self._lock:
            now = self._clock()
            blocks = []
            for kind, value in keys:
                count = self._counts.get((kind, value))
                if count is not None and count.until > now:
                    blocks.append(Block(kind, value, count.failures, round(count.until - now, 1)))
            return blocks

    def succeeded(self, keys: Sequence[Key], *, remember: tuple[str, str] | None = None) -> None:
        """The attempt succeeded: the keys it proved are cleared, the others given the attempt back;
        ``remember`` (account, address) exempts that address from the account's wider blocks."""
        with self._lock:
            for key in keys:
                if self.rules[key[0]].reset_on_success:
                    self._counts.pop(key, None)
                else:
                    self._give_back(key)
            if remember is not None:
                self._known[remember] = self._clock()
                if len(self._known) > self._max_keys:
                    for old in sorted(self._known, key=self._known.__getitem__)[: len(self._known) // 2]:
                        del self._known[old]

    def abandoned(self, keys: Sequence[Key]) -> None:
        """The attempt neither failed nor succeeded (the store was unreachable): not counted."""
        with self._lock:
            for key in keys:
                self._give_back(key)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._known.clear()

    # bookkeeping

    def _fresh(self, key: Key, now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last > self.rules[key[0]].forget:
            del self._counts[key]
            return None
        return count

    def _give_back(self, key: Key) -> None:
        count = self._counts.get(key)
        if count is None:
            return
        count.failures -= 1
        if count.failures <= self.rules[key[0]].free:
            count.until = 0.0
        if count.failures <= 0:
            del self._counts[key]

    def _prune(self, now: float) -> None:
        """Forget what is stale; under a flood of fresh keys, the half least recently touched."""
        for key in [k for k, c in self._counts.items() if now - c.last > self.rules[k[0]].forget]:
            del self._counts[key]
        if len(self._counts) > self._max_keys:
            for key in sorted(self._counts, key=lambda k: self._counts[k].last)[: len(self._counts) // 2]:
                del self._counts[key]
