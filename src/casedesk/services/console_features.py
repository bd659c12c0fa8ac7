"""The console's door to features built in other modules (SLA ledger, notification outbox,
e-mail quarantine, channel health, the phone call log).

Each feature is reached through one named function of its module, looked up when called. When
the module or function is not there yet, the adapter answers "not available" and the page says
so ("no SLA policy", "nothing quarantined") instead of failing. The lookups, with the signature
each adapter calls:

========================================  =====================================================
``services.sla.case_timers``              ``(db, config, number, *, now) -> list[timer]``;
                                          timer: ``metric, due_at, state`` (``ok``, ``warning``,
                                          ``breached``, ``met``, ``paused``), optional
                                          ``target``, ``policy``, ``met_at``
``services.sla.queue_states``             ``(db, numbers, *, now) -> {number: item}``; item:
                                          ``state, due_at`` (the next due clock of the case)
``services.sla.queue_page``               ``(db, case_filter, *, sla_state, cursor, limit, me,
                                          now) -> case_queries.Page`` ordered by SLA due time,
                                          optionally only cases in ``sla_state``
``services.outbox.dead_letters``          ``(db, *, limit) -> list[item]``; item: ``id,
                                          destination, event, case_number, attempts,
                                          last_error, created_at``
``services.outbox.retry_dead_letter``     ``(db, nid, *, actor, now)``
``services.outbox.send_test``             ``(ctx, destination_id, *, actor) -> str | None``
``channels.email.quarantine.list_quarantined``  ``(db, *, limit) -> list[item]``; item: ``id,
                                          received_at, sender, subject, reason, size``
``channels.email.quarantine.reprocess``   ``(ctx, qid, *, actor)``
``channels.health.channel_health``        ``(ctx) -> list[item]``; item: ``channel, ok,
                                          last_received_at, last_error, last_error_at``
``channels.phone.log_call``               ``(ctx, ref, call: dict, *, actor) -> None``
========================================  =====================================================

Results are read with ``getattr`` (or ``[]`` for dicts), so dataclasses, rows and dicts all do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casedesk.context import Context
    from casedesk.domain.actors import Actor
    from casedesk.services.case_queries import CaseFilter, Page

SLA_STATES = ("ok", "warning", "breached")


def lookup(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if both exist, else ``None``."""
    try:
        mod = importlib.import_module(f"casedesk.{module}")
    except ImportError:
        return None
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


@dataclass(frozen=True)
class Timer:
    metric: str
    state: str
    due_at: datetime | None
    target: str | None = None
    policy: str | None = None
    met_at: datetime | None = None


@dataclass(frozen=True)
class QueueSla:
    state: str
    due_at: datetime | None


def sla_configured(ctx: Context) -> bool:
    return bool(ctx.config.sla.get("policies"))


def sla_queue_available(ctx: Context) -> bool:
    return sla_configured(ctx) and lookup("services.sla", "queue_page") is not None


def case_timers(ctx: Context, number: int) -> list[Timer] | None:
    """The SLA clocks of a case, or ``None`` when SLAs are not available."""
    fn = lookup("services.sla", "case_timers")
    if fn is None or not sla_configured(ctx):
        return None
    return [
        Timer(
            metric=str(field(t, "metric", "")),
            state=str(field(t, "state", "ok")),
            due_at=field(t, "due_at"),
            target=_text(field(t, "target")),
            policy=_text(field(t, "policy")),
            met_at=field(t, "met_at"),
        )
        for t in fn(ctx.db, ctx.config, number, now=ctx.clock.now())
    ]


def queue_states(ctx: Context, numbers: Sequence[int]) -> dict[int, QueueSla]:
    fn = lookup("services.sla", "queue_states")
    if fn is None or not numbers or not sla_configured(ctx):
        return {}
    found = fn(ctx.db, list(numbers), now=ctx.clock.now())
    return {
        int(n): QueueSla(str(field(v, "state", "ok")), field(v, "due_at")) for n, v in found.items()
    }


def sla_queue_page(
    ctx: Context, f: CaseFilter, *, sla_state: str | None, cursor: str | None, limit: int, me: int
) -> Page | None:
    """The queue ordered by SLA due time (and filtered by SLA state), or ``None`` when the SLA
    module cannot do that yet."""
    fn = lookup("services.sla", "queue_page")
    if fn is None or not sla_configured(ctx):
        return None
    page: Page = fn(
        ctx.db, f, sla_state=sla_state, cursor=cursor, limit=limit, me=me, now=ctx.clock.now()
    )
    return page


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- admin: notifications, quarantine, channels ------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """Rows of an optional feature, or ``available=False`` when it has not landed."""

    available: bool
    rows: list[dict[str, Any]]


def _listing(fn: Callable[..., Any] | None, names: Sequence[str], *args: Any, **kw: Any) -> Listing:
    if fn is None:
        return Listing(False, [])
    return Listing(True, [{n: field(item, n) for n in names} for item in fn(*args, **kw)])


def dead_letters(ctx: Context, limit: int = 200) -> Listing:
    names = ("id", "destination", "event", "case_number", "attempts", "last_error", "created_at")
    return _listing(lookup("services.outbox", "dead_letters"), names, ctx.db, limit=limit)


def retry_dead_letter(ctx: Context, nid: int, actor: Actor) -> bool:
    fn = lookup("services.outbox", "retry_dead_letter")
    if fn is None:
        return False
    fn(ctx.db, nid, actor=actor, now=ctx.clock.now())
    return True


def send_test(ctx: Context, destination_id: str, actor: Actor) -> str | None:
    """Queue a test notification; ``None`` when the outbox cannot send tests yet."""
    fn = lookup("services.outbox", "send_test")
    if fn is None:
        return None
    result = fn(ctx, destination_id, actor=actor)
    return str(result) if result else f"test notification queued for {destination_id}"


def quarantine(ctx: Context, limit: int = 200) -> Listing:
    names = ("id", "received_at", "sender", "subject", "reason", "size")
    return _listing(
        lookup("channels.email.quarantine", "list_quarantined"), names, ctx.db, limit=limit
    )


def reprocess_quarantined(ctx: Context, qid: int, actor: Actor) -> bool:
    fn = lookup("channels.email.quarantine", "reprocess")
    if fn is None:
        return False
    fn(ctx, qid, actor=actor)
    return True


def channel_health(ctx: Context) -> Listing:
    names = ("channel", "ok", "last_received_at", "last_error", "last_error_at")
    return _listing(lookup("channels.health", "channel_health"), names, ctx)


def log_phone_call(ctx: Context, ref: str, call: dict[str, Any], actor: Actor) -> bool:
    """Store a call on the case through the phone channel; ``False`` when it has not landed
    (the caller then keeps the call as an internal note)."""
    fn = lookup("channels.phone", "log_call")
    if fn is None:
        return False
    fn(ctx, ref, call, actor=actor)
    return True
