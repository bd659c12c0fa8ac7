"""The console's door to features built in other modules (SLA ledger, notification outbox,
e-mail quarantine, channel health, the phone call log).

Each feature is reached through one named function of its module, looked up when called. When
the module or function is not there (yet), the adapter answers "not available" and the page
says so ("no SLA policy", "nothing quarantined") instead of failing. The lookups:

=============================================  ================================================
``services.sla.ledger_of(ctx, number)``        the case page's SLA timers (one dict per clock:
                                               ``metric, cycle, state, due_at, met_at,
                                               breached, target_seconds, fired, policy``)
``services.console_sla``                       the queue's SLA order, filter and badges (read
                                               queries over ``sla_clocks``, in this package)
``services.notifications.dead_letters``        ``(ctx, *, limit) -> (rows, cursor)``
``services.notifications.retry``               ``(ctx, nid, *, actor)``
``services.notifications.send_test``           ``(ctx, destination, *, actor) -> TestResult``
``channels.email.quarantine.list_quarantined`` ``(db, *, limit) -> list[item]``; item: ``id,
                                               received_at, sender, subject, reason, size``
``channels.email.quarantine.reprocess``        ``(ctx, qid, *, actor)``
``channels.health.channel_health``             ``(ctx) -> list[item]``; item: ``channel, ok,
                                               last_received_at, last_error, last_error_at``
``channels.phone.log_call``                    ``(ctx, ref, call: dict, *, actor) -> None``
``channels.phone.calls_of``                    ``(ctx, ref) -> list[call]``; call: ``direction,
                                               number, status, duration_seconds,
                                               recording_url, transcript, created_at``
=============================================  ================================================

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


def sla_policies(ctx: Context) -> list[dict[str, Any]] | None:
    """The effective SLA policies (configured, or the SLA module's built-in defaults) for
    display; ``None`` when the SLA module is not there."""
    fn = lookup("config_sla", "sla_settings")
    if fn is None:
        return None
    out = []
    for p in fn(ctx.config).policies:
        levels = []
        for level in field(p, "escalation", ()) or ():
            parts = [f"at {field(field(level, 'at'), 'text', field(level, 'at'))}"]
            if field(level, "metrics"):
                parts.append("for " + ", ".join(sorted(field(level, "metrics"))))
            if field(level, "notify"):
                parts.append("notify " + ", ".join(field(level, "notify")))
            for name, label in (
                ("assign_team", "assign to team"),
                ("assign_user", "assign to"),
                ("raise_priority", "raise priority"),
            ):
                if field(level, name):
                    parts.append(f"{label} {field(level, name)}")
            if field(level, "add_tags"):
                parts.append("tag " + ", ".join(field(level, "add_tags")))
            levels.append(" · ".join(parts))
        when = {k: sorted(v) for k, v in (field(p, "when") or {}).items()}
        when.update({f"custom {k}": sorted(v) for k, v in (field(p, "custom_when") or {}).items()})
        out.append(
            {
                "id": field(p, "id"),
                "name": field(p, "name") or field(p, "id"),
                "calendar": field(p, "calendar"),
                "when": when,
                "targets": {
                    metric: f"{_target(int(t.duration.total_seconds()))} ({t.calendar})"
                    for metric, t in (field(p, "targets") or {}).items()
                },
                "warn_at": [f"{int(w * 100)}%" for w in field(p, "warn_at", ())],
                "escalation": levels,
            }
        )
    return out


def sla_configured(ctx: Context) -> bool:
    """True when SLA clocks exist for cases: the SLA module is there with any policy."""
    if lookup("services.sla", "ledger_of") is None:
        return False
    return bool(sla_policies(ctx))


def sla_queue_available(ctx: Context) -> bool:
    return sla_configured(ctx) and _console_sla() is not None


def _display_state(clock: Any) -> str:
    """What an agent needs to know of a clock: ok, warning, breached, paused or met."""
    state = str(field(clock, "state", "running"))
    fired = field(clock, "fired") or []
    keys = [str(field(f, "checkpoint", f)) for f in fired]
    if field(clock, "breached") or field(clock, "breached_at"):
        return "met late" if state == "met" else "breached"
    if state in ("met", "paused", "cancelled"):
        return state
    return "warning" if any(k.startswith("warn") for k in keys) else "ok"


def case_timers(ctx: Context, number: int) -> list[Timer] | None:
    """The SLA clocks of a case (the latest cycle of each metric), or ``None`` when SLAs are
    not available."""
    fn = lookup("services.sla", "ledger_of")
    if fn is None or not sla_configured(ctx):
        return None
    latest: dict[str, Any] = {}
    for clock in fn(ctx, number):
        metric = str(field(clock, "metric", ""))
        if metric not in latest or field(clock, "cycle", 0) >= field(latest[metric], "cycle", 0):
            latest[metric] = clock
    order = {"first_response": 0, "next_response": 1, "resolution": 2}
    return [
        Timer(
            metric=metric,
            state=_display_state(clock),
            due_at=field(clock, "due_at"),
            target=_target(field(clock, "target_seconds")),
            policy=_text(field(clock, "policy")),
            met_at=field(clock, "met_at"),
        )
        for metric, clock in sorted(latest.items(), key=lambda kv: order.get(kv[0], 9))
        if field(clock, "state") != "cancelled"
    ]


def _target(seconds: Any) -> str | None:
    if not isinstance(seconds, int) or seconds <= 0:
        return None
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours >= 24 and hours % 24 == 0 and not minutes:
        return f"{hours // 24}d"
    if hours and minutes:
        return f"{hours}h {minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"


def _console_sla() -> Any:
    try:
        from casedesk.services import console_sla
    except ImportError:  # the SLA ledger tables are not there
        return None
    return console_sla


def queue_states(ctx: Context, numbers: Sequence[int]) -> dict[int, QueueSla]:
    module = _console_sla()
    if module is None or not numbers or not sla_configured(ctx):
        return {}
    found = module.badges(ctx.db, list(numbers), now=ctx.clock.now())
    return {int(n): QueueSla(v.state, v.due_at) for n, v in found.items()}


def sla_queue_page(
    ctx: Context, f: CaseFilter, *, sla_state: str | None, cursor: str | None, limit: int, me: int
) -> Page | None:
    """The queue ordered by SLA due time (and filtered by SLA state), or ``None`` when there
    are no SLA clocks to order by."""
    module = _console_sla()
    if module is None or not sla_configured(ctx):
        return None
    page: Page = module.queue_page(
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
    fn = lookup("services.notifications", "dead_letters")
    if fn is None:
        return Listing(False, [])
    rows, _ = fn(ctx, limit=limit)
    names = (
        "id",
        "destination",
        "event",
        "case_number",
        "attempts",
        "last_error",
        "dead_at",
        "created_at",
    )
    return Listing(True, [{n: field(r, n) for n in names} for r in rows])


def retry_dead_letter(ctx: Context, nid: int, actor: Actor) -> bool:
    fn = lookup("services.notifications", "retry")
    if fn is None:
        return False
    fn(ctx, nid, actor=actor)
    return True


def send_test(ctx: Context, destination_id: str, actor: Actor) -> tuple[bool, str] | None:
    """Send a test notice now: (delivered, what happened); ``None`` when tests are not
    available."""
    fn = lookup("services.notifications", "send_test")
    if fn is None:
        return None
    result = fn(ctx, destination_id, actor=actor)
    if field(result, "ok", False):
        return True, f"Test notification delivered to {destination_id}."
    status = field(result, "status")
    error = field(result, "error") or "no answer"
    return False, f"Test to {destination_id} failed: {error}" + (
        f" (HTTP {status})" if status else ""
    )


def quarantine(ctx: Context, limit: int = 200) -> Listing:
    names = (
        "id",
        "received_at",
        "sender",
        "subject",
        "reason",
        "kind",
        "source",
        "size",
        "status",
        "case_number",
    )
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
    """Channel health rows: the channels' own report when there is one, else the IMAP
    mailboxes' poll state."""
    names = ("channel", "ok", "last_received_at", "last_error", "last_error_at")
    fn = lookup("channels.health", "channel_health")
    if fn is not None:
        return _listing(fn, names, ctx)
    mailboxes = lookup("channels.email.imap", "mailbox_status")
    if mailboxes is None:
        return Listing(False, [])
    rows = [
        {
            "channel": f"E-mail (IMAP {field(m, 'key')})",
            "ok": field(m, "ok"),
            "last_received_at": field(m, "last_ok_at"),
            "last_error": field(m, "last_error"),
            "last_error_at": field(m, "last_error_at"),
        }
        for m in mailboxes(ctx)
    ]
    return Listing(True, rows)


def log_phone_call(ctx: Context, ref: str, call: dict[str, Any], actor: Actor) -> bool:
    """Store a call on the case through the phone channel; ``False`` when it has not landed
    (the caller then keeps the call as an internal note)."""
    fn = lookup("channels.phone", "log_call")
    if fn is None:
        return False
    fn(ctx, ref, call, actor=actor)
    return True


def phone_calls(ctx: Context, ref: str) -> list[dict[str, Any]] | None:
    """The call log of a case (newest last), or ``None`` when the phone channel is not there.
    A recording link is kept only when it is an https URL."""
    fn = lookup("channels.phone", "calls_of")
    if fn is None:
        return None
    names = (
        "id",
        "direction",
        "number",
        "status",
        "duration_seconds",
        "recording_url",
        "transcript",
        "source",
        "created_at",
    )
    out = []
    for call in fn(ctx, ref):
        row = {n: field(call, n) for n in names}
        url = str(row["recording_url"] or "")
        row["recording_url"] = url if url.lower().startswith("https://") else None
        out.append(row)
    return out
