"""Which notification goes to which destination: the ``[[notify.routes]]`` rules.

A route names the events it listens to, an optional ``when`` filter over a case's facts and the
destination ids to notify. Routes are plain values; matching is a pure function, so the worker
(and ``casedesk config check``) can evaluate them without a database or network.

```toml
[[notify.routes]]
events = ["case.created", "sla.breached"]
when = { priority = ["high", "urgent"], tags = ["vip"] }
to = ["slack-support", "teams-leads"]
```

A ``when`` key matches when the case's value is one of the listed values (for ``tags``: when any
of the case's tags is listed); a key that is absent matches anything; every present key must match.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NOTIFY_EVENTS: tuple[str, ...] = (
    "case.created",
    "case.assigned",
    "case.status_changed",
    "case.customer_replied",
    "sla.warning",
    "sla.breached",
    "case.escalated",
    "test",
)
WHEN_KEYS: tuple[str, ...] = ("team", "priority", "channel", "category", "tags")
_ROUTE_KEYS = ("events", "when", "to")

Facts = Mapping[str, str | Sequence[str] | None]


@dataclass(frozen=True)
class Route:
    """Send ``events`` about cases matching ``when`` to the destinations ``to`` (in order)."""

    events: frozenset[str]
    when: dict[str, frozenset[str]]
    to: tuple[str, ...]

    def matches(self, event: str, facts: Facts) -> bool:
        if event not in self.events:
            return False
        return all(_key_matches(key, allowed, facts.get(key)) for key, allowed in self.when.items())


def _key_matches(key: str, allowed: frozenset[str], value: str | Sequence[str] | None) -> bool:
    if value is None:
        return False
    values = [value] if isinstance(value, str) else list(value)
    if key == "tags":
        values = [v.lower() for v in values]
    return any(v in allowed for v in values)


def routes_from_config(
    items: Sequence[Mapping[str, Any]], *, known_destinations: Collection[str] | None = None
) -> list[Route]:
    """Routes from the ``[[notify.routes]]`` tables; ``ValueError`` names the first bad entry.

    With ``known_destinations``, a ``to`` id that is not among them is an error as well.
    """
    return [_route(i, item, known_destinations) for i, item in enumerate(items)]


def _route(
    index: int, item: Mapping[str, Any], known_destinations: Collection[str] | None
) -> Route:
    where = f"notify.routes[{index}]"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: a route must be a table with events, when and to")
    unknown = sorted(set(item) - set(_ROUTE_KEYS))
    if unknown:
        raise ValueError(
            f"{where}: unknown key '{unknown[0]}'; a route has {', '.join(_ROUTE_KEYS)}"
        )
    events = _strings(item.get("events"), f"{where}.events")
    for event in events:
        if event not in NOTIFY_EVENTS:
            raise ValueError(
                f"{where}.events: unknown event '{event}'; known events: {', '.join(NOTIFY_EVENTS)}"
            )
    to = _strings(item.get("to"), f"{where}.to")
    if known_destinations is not None:
        for dest in to:
            if dest not in known_destinations:
                known = ", ".join(sorted(known_destinations)) or "none are configured"
                raise ValueError(
                    f"{where}.to: unknown destination '{dest}'; known destinations: {known}"
                )
    return Route(
        events=frozenset(events),
        when=_when(item.get("when"), f"{where}.when"),
        to=tuple(dict.fromkeys(to)),
    )


def _when(raw: Any, where: str) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f'{where}: must be a table such as {{ priority = ["urgent"] }}')
    when: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        if key not in WHEN_KEYS:
            raise ValueError(
                f"{where}: unknown key '{key}'; a route can filter on {', '.join(WHEN_KEYS)}"
            )
        values = _strings(value, f"{where}.{key}")
        if key == "tags":
            values = [v.lower() for v in values]
        when[key] = frozenset(values)
    return when


def _strings(raw: Any, where: str) -> list[str]:
    """A non-empty list of non-empty strings (a single string counts as a list of one)."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError(f"{where}: must be a non-empty list of names")
    for value in raw:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {value!r} is not a name")
    return [v.strip() for v in raw]


def destinations_for(routes: Iterable[Route], event: str, facts: Facts) -> list[str]:
    """Destination ids for ``event`` about a case with ``facts``: route order, no duplicates.

    ``facts`` holds the case's ``team``, ``priority``, ``channel``, ``category`` (text or
    ``None``) and ``tags`` (a sequence of tags). ``ValueError`` for an unknown event name.
    """
    if event not in NOTIFY_EVENTS:
        raise ValueError(f"unknown event '{event}'; known events: {', '.join(NOTIFY_EVENTS)}")
    out: dict[str, None] = {}
    for route in routes:
        if route.matches(event, facts):
            out.update(dict.fromkeys(route.to))
    return list(out)
