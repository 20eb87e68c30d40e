"""Join codes, teacher keys, nicknames and rate limits: the classroom's rules, with no database.

A join code is a word and three digits (``KITE-427``): easy to read aloud and type, and one of
over 100,000, so that guessing one is slow work against the rate limits (a few wrong codes per
tab, and a ceiling per server). A teacher's key is 32 random bytes; only its SHA-256 digest is
stored, so a copy of the database opens no class. Every refusal is one sentence for the reader.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable

__all__ = [
    "MAX_NICKNAME",
    "RateLimiter",
    "Refused",
    "check_nickname",
    "digest",
    "matches",
    "new_code",
    "new_key",
    "normal_code",
]

MAX_NICKNAME = 30
"""The longest nickname, in characters."""

_WORDS = (
    "ACORN ANCHOR APPLE ARROW ATLAS BADGE BAKER BASIL BEACH BERRY BIRCH BISON BLAZE BLOOM BRAVE BREAD "
    "BRICK BROOK CABIN CAMEL CANDY CANOE CEDAR CHALK CHESS CHIME CIDER CLOUD CLOVER COBALT COMET CORAL "
    "CRANE CREEK CROWN DAISY DELTA DINGO DRIFT EAGLE EMBER FABLE FALCON FERN FIELD FLAME FLINT FORGE "
    "FROST GECKO GLADE GRAPE GROVE HAVEN HAZEL HERON HONEY IGLOO IVORY JADE JUMBO KAYAK KITE KOALA "
    "LATCH LEMON LILAC LINEN LOTUS LUNAR MANGO MAPLE MARSH MEADOW MELON MINT MOOSE NOBLE NORTH OASIS "
    "OCEAN OLIVE ORBIT OTTER PANDA PEACH PEARL PEBBLE PIANO PILOT PLUM POLAR PRISM QUAIL QUILL RAVEN "
    "REEF RIVER ROBIN SAGE SHELL SOLAR SPARK SPRUCE STONE SWIFT TIGER TULIP VELVET WALNUT WILLOW ZEBRA"
).split()
_CODE = re.compile(r"([A-Z]{3,8})-?(\d{3})")
_NICKNAME = re.compile(r"[\w .'-]+")
_KEY = re.compile(r"[A-Za-z0-9_-]{20,100}")


class Refused(ValueError):
    """A request the classroom turns down; ``str()`` is the one sentence the page shows."""


def new_code(choose: Callable[[list[str]], str] = secrets.choice) -> str:
    """A fresh join code: a word, a hyphen, three digits."""
    return f"{choose(list(_WORDS))}-{choose([f'{n:03d}' for n in range(1000)])}"


def normal_code(text: str) -> str | None:
    """The join code a reader typed, as stored (``kite 427`` -> ``KITE-427``); None when it has
    not the shape of a code (then no database is asked)."""
    if len(text) > 40:
        return None
    squeezed = re.sub(r"[\s_]+", "-", text.strip().upper())
    found = _CODE.fullmatch(squeezed)
    return f"{found[1]}-{found[2]}" if found else None


def new_key() -> str:
    """A teacher's secret key, for the teacher link (URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(key: str) -> str:
    """What is stored of a key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def matches(key: str, stored: str) -> bool:
    """Whether ``key`` is the one whose digest is ``stored`` (in constant time)."""
    if not _KEY.fullmatch(key):
        return False
    return hmac.compare_digest(digest(key), stored)


def check_nickname(text: object) -> str:
    """The nickname to store, or :class:`Refused` saying why not.

    Letters (any script), digits, spaces and ``.'-_``; at most :data:`MAX_NICKNAME` characters.
    The length is checked first, so a huge value is refused without being scanned.
    """
    if not isinstance(text, str):
        raise Refused("Choose a nickname.")
    if len(text) > MAX_NICKNAME * 4:
        raise Refused(f"That nickname is too long: at most {MAX_NICKNAME} characters.")
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise Refused("Choose a nickname.")
    if len(name) > MAX_NICKNAME:
        raise Refused(f"That nickname is too long: at most {MAX_NICKNAME} characters.")
    if not _NICKNAME.fullmatch(name):
        raise Refused("A nickname is letters, digits, spaces and . ' - _ only.")
    return name


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds for each key (thread-safe).

    Used for wrong join codes and wrong teacher keys: per browser tab, and with the key ``"*"``
    for the whole server, so that opening new tabs does not buy more guesses.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def blocked(self, key: str) -> bool:
        """True while ``key`` has used up its events in the window."""
        with self._lock:
            now = self._clock()
            blocked = len(self._recent(key, now)) >= self.limit
            if len(self._events) > 10_000:  # forget quiet keys: the table must not grow forever
                self._events = {k: v for k, v in self._events.items() if self._recent(k, now)}
            return blocked

    def count(self, key: str) -> None:
        """Count one event of ``key``."""
        with self._lock:
            self._recent(key, self._clock()).append(self._clock())
