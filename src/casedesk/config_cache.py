"""Per-config caches: what a feature derives from an ``AppConfig`` is computed once.

The hot paths (every case change runs the SLA and notification hooks) must not re-parse
calendars, policies or routes. ``per_config`` memoises a function of an ``AppConfig`` for as long
as that config object lives; a new config (a reload, another test) gets its own entry.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from casedesk.config import AppConfig

T = TypeVar("T")


def per_config(fn: Callable[[AppConfig], T]) -> Callable[[AppConfig], T]:
    """Memoise ``fn(config)`` per config object (by identity, dropped when it is collected).

    Exceptions are not cached, so a config that cannot be used fails the same way every time.
    """
    cache: dict[int, T] = {}
    lock = threading.Lock()

    def cached(config: AppConfig) -> T:
        key = id(config)
        try:
            return cache[key]
        except KeyError:
            pass
        value = fn(config)
        with lock:
            if key not in cache:
                cache[key] = value
                # ids are reused after collection: forget the entry with its config
                weakref.finalize(config, cache.pop, key, None)
            return cache[key]

    cached.__doc__ = fn.__doc__
    cached.__name__ = getattr(fn, "__name__", "cached")
    return cached
