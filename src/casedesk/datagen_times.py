"""Time stamps of generated rows: whole Unix seconds written as each database stores them and
as the audit chain hashes them, without ``strftime`` per value (the generator's hot path)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any


@functools.cache
def _day(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(days * 86400))


def _clock(t: int) -> str:
    seconds = t % 86400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def pg_ts(t: int) -> str:
    return f"{_day(t // 86400)} {_clock(t)}+00"


def sqlite_ts(t: int) -> str:
    """The text SQLAlchemy stores a UTC datetime as on SQLite."""
    return f"{_day(t // 86400)} {_clock(t)}.000000"


def iso_z(t: int) -> str:
    """``audit_chain.timestamp`` of a whole second."""
    return f"{_day(t // 86400)}T{_clock(t)}.000000Z"


def opt(ts: Callable[[int], str], t: Any) -> str | None:
    return ts(int(t)) if t else None
