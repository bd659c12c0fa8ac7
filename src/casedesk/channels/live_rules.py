"""Plain rules the live channels share: signed tokens, e-mail address checks, subjects that
cannot thread by tag, and the per-connection flood limit. No database, no I/O, no wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$")


def valid_email(address: str) -> bool:
    """A plausible single mailbox ``local@domain.tld`` (no display name, no lists); stricter
    than ``users.normalise_email`` because visitors type these by hand."""
    address = address.strip()
    return len(address) <= 320 and bool(_EMAIL.match(address))


def digest(token: str) -> str:
    """What is stored of a secret token: its SHA-256 (the token itself never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(secret: str, purpose: str, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{purpose}:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def sign_token(secret: str, purpose: str, issued_at: int) -> str:
    """A new random token for ``purpose`` (``chat``, ``portal-link``) with its issue time and an
    HMAC over both under the site's secret key: forged or mangled tokens are refused before
    any lookup, and rotating the secret key retires every outstanding token."""
    body = f"{issued_at}.{secrets.token_urlsafe(24)}"
    return f"{body}.{_mac(secret, purpose, body)}"


def verify_token(secret: str, purpose: str, token: str) -> int | None:
    """The issue time (epoch seconds) of a genuine token, else ``None``."""
    body, _, mac = token.strip().rpartition(".")
    issued, _, rand = body.partition(".")
    if not (issued.isdigit() and rand and mac and len(token) < 200):
        return None
    if not hmac.compare_digest(mac, _mac(secret, purpose, body)):
        return None
    return int(issued)


def untaggable(subject: str) -> str:
    """A subject that never threads by a ``[CASE-000123]`` tag: a visitor's words must open a
    new case, not write into someone else's (intake threads tagged subjects by sender)."""
    return subject.replace("[", "(").replace("]", ")")


def first_line(text: str, limit: int = 80) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass
class FloodGate:
    """A token bucket per connection: ``capacity`` messages at once, refilled at ``capacity``
    per ``per`` seconds. ``take`` answers how long to wait (0 when allowed); a sender refused
    ``strikes_to_close`` times within one window is flooding and gets disconnected."""

    capacity: int
    per: float
    strikes_to_close: int = 10
    tokens: float = field(init=False)
    updated: float | None = field(default=None, init=False)
    strikes: list[float] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)

    def take(self, now: float) -> float:
        if self.updated is not None:
            self.tokens = min(
                float(self.capacity), self.tokens + (now - self.updated) * self.capacity / self.per
            )
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        self.strikes = [t for t in self.strikes if now - t < self.per] + [now]
        return (1 - self.tokens) * self.per / self.capacity

    def flooding(self) -> bool:
        return len(self.strikes) >= self.strikes_to_close
