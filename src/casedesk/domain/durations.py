"""Durations written as ``"5d"``, ``"2h30m"`` or ``"90s"`` in the config."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_LONGEST = 100 * 365 * 86400


def parse_duration(text: str) -> timedelta:
    """``parse_duration("1d12h") == timedelta(days=1, hours=12)``; raises ``ValueError``."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise ValueError(f"'{text}' is not a duration; write it like '30m', '8h', '5d' or '1d12h'")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds > _LONGEST:
        raise ValueError(f"'{text}' is too long a duration; keep it under 100 years")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
