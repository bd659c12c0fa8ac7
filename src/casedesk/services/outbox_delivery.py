"""Delivering the outbox: claim due rows, send them, record the verdict.

A pass claims due rows in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers never claim the same row) and leases them: ``next_attempt_at`` moves ``LEASE`` ahead and
a ``claim_token`` marks the holder. Delivery then runs outside any transaction, one thread per
destination, and each verdict is written only where the token still matches. A worker that dies
mid-pass loses nothing: its rows fall due again when the lease ends (at least once; receivers see
the same ``Idempotency-Key``).

Verdicts: delivered; a transient failure is retried after ``backoff_seconds`` (never sooner than
the receiver's ``Retry-After``) until ``max_attempts``, then it is a dead letter; a permanent
failure is a dead letter at once. When a destination fails transiently, the rest of its rows in
the pass are put back untried (their attempts not counted), so an outage of an hour costs a few
attempts, not the whole queue's.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, cast

import httpx
from sqlalchemy import Row, Table, bindparam, select, update

from casedesk.config_notify import DestinationConfig, NotifySettings, notify_settings
from casedesk.db.sla_tables import OutboxItem
from casedesk.notify.delivery import (
    DeliveryResult,
    Destination,
    backoff_seconds,
    deliver,
    make_client,
)
from casedesk.notify.email import SmtpSession, build_notice_email
from casedesk.notify.message import CaseNotice
from casedesk.services.outbox import DEAD, DELIVERED, PENDING, SMTP

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.outbox")
T = cast(Table, OutboxItem.__table__)
BATCH = 200
LEASE = timedelta(minutes=5)
THREADS = 4
MAX_ROUNDS = 50
# A destination's share of a pass stops after this long, so the lease never runs out mid-pass.
GROUP_BUDGET = LEASE.total_seconds() / 3


@dataclass(frozen=True)
class Verdict:
    id: int
    token: str
    result: DeliveryResult | None  # None: not tried in this pass, released


def deliver_due(ctx: Context, *, batch: int = BATCH) -> int:
    """Deliver due rows until none is left (or ``MAX_ROUNDS`` batches); returns how many were
    delivered."""
    settings = notify_settings(ctx.config)
    delivered = 0
    with make_client(settings.timeout) as client:
        for _ in range(MAX_ROUNDS):
            claimed, token = claim(ctx, batch)
            if not claimed:
                break
            delivered += _deliver(ctx, settings, client, claimed, token)
            if len(claimed) < batch:
                break
    return delivered


def claim(ctx: Context, batch: int) -> tuple[list[Row[Any]], str]:
    """Lease up to ``batch`` due rows for this worker."""
    now = ctx.clock.now()
    token = uuid.uuid4().hex
    with ctx.db.write() as s:
        ids = s.scalars(
            select(T.c.id)
            .where(T.c.status == PENDING, T.c.next_attempt_at <= now)
            .order_by(T.c.next_attempt_at, T.c.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not ids:
            return [], token
        s.execute(
            update(T)
            .where(T.c.id.in_(ids))
            .values(next_attempt_at=now + LEASE, claim_token=token, updated_at=now)
        )
        rows = s.execute(select(T).where(T.c.id.in_(ids)).order_by(T.c.id)).all()
    return list(rows), token


def _deliver(
    ctx: Context,
    settings: NotifySettings,
    client: httpx.Client,
    rows: list[Row[Any]],
    token: str,
) -> int:
    groups: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        groups[row.destination].append(row)
    if len(groups) == 1:
        verdicts = [_run_group(ctx, settings, client, next(iter(groups.values())), token)]
    else:
        with ThreadPoolExecutor(min(THREADS, len(groups)), "casedesk-outbox") as pool:
            futures = [
                pool.submit(_run_group, ctx, settings, client, group, token)
                for group in groups.values()
            ]
            verdicts = [f.result() for f in futures]
    return sum(verdicts)


def _run_group(
    ctx: Context,
    settings: NotifySettings,
    client: httpx.Client,
    rows: list[Row[Any]],
    token: str,
) -> int:
    """Deliver one destination's rows in order; stop at its first transient failure."""
    verdicts: list[Verdict] = []
    started = time.monotonic()
    smtp = SmtpSession(settings.outbound) if settings.outbound else None
    try:
        for i, row in enumerate(rows):
            if time.monotonic() - started > GROUP_BUDGET:
                verdicts += [Verdict(r.id, token, None) for r in rows[i:]]
                break
            result = send(ctx, settings, client, smtp, row)
            verdicts.append(Verdict(row.id, token, result))
            if not result.ok and result.retry:
                verdicts += [Verdict(r.id, token, None) for r in rows[i + 1 :]]
                break
    finally:
        if smtp is not None:
            smtp.close()
    return record(ctx, settings, rows, verdicts)


def send(
    ctx: Context,
    settings: NotifySettings,
    client: httpx.Client,
    smtp: SmtpSession | None,
    row: Row[Any],
) -> DeliveryResult:
    """One attempt at one row; never raises."""
    try:
        if row.destination == SMTP:
            if smtp is None:
                return _failure("no [email.outbound] is configured to send e-mail", retry=True)
            raw = row.payload["raw"]
            message = email.message_from_string(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            return smtp.send(message)
        dest = settings.destinations.get(row.destination)
        if dest is None:
            return _failure(f"destination '{row.destination}' is no longer configured", retry=False)
        notice = _notice(ctx, row.payload["notice"])
        if dest.kind == "email":
            if smtp is None or settings.outbound is None:
                return _failure("no [email.outbound] is configured to send e-mail", retry=True)
            message = build_notice_email(
                notice,
                sender=settings.outbound.sender,
                to=row.payload["to"],
                dedupe_key=row.dedupe_key,
            )
            return smtp.send(message)
        target = resolve(dest)
        if isinstance(target, DeliveryResult):
            return target
        return deliver(client, target, notice, dedupe_key=row.dedupe_key, timeout=settings.timeout)
    except Exception as exc:  # a bug must not stop the queue; the row is retried
        log.exception("delivering outbox row %s failed", row.id)
        return _failure(f"internal error: {type(exc).__name__}", retry=True)


def _notice(ctx: Context, data: dict[str, Any]) -> CaseNotice:
    url = data.get("case_url") or ""
    if url.startswith("/"):
        data = {**data, "case_url": ctx.settings.base_url.rstrip("/") + url}
    return CaseNotice.from_dict(data)


def resolve(dest: DestinationConfig) -> Destination | DeliveryResult:
    """The destination with its secrets read from the environment now, or why it cannot be."""
    url = os.environ.get(dest.webhook_url_env, "") if dest.webhook_url_env else ""
    token = os.environ.get(dest.token_env) if dest.token_env else None
    for name, value in ((dest.webhook_url_env, url), (dest.token_env, token)):
        if name and not value:
            return _failure(f"{dest.id}: environment variable {name} is not set", retry=True)
    try:
        return Destination(dest.id, dest.delivery_kind, url=url, token=token, channel=dest.channel)
    except ValueError as exc:
        return _failure(str(exc), retry=False)


def _failure(text: str, *, retry: bool) -> DeliveryResult:
    return DeliveryResult(ok=False, retry=retry, error=text)


_RECORD = (
    update(T)
    .where(T.c.id == bindparam("b_id"), T.c.claim_token == bindparam("b_token"))
    .values(
        status=bindparam("v_status"),
        attempts=bindparam("v_attempts"),
        next_attempt_at=bindparam("v_next"),
        claim_token=None,
        last_error=bindparam("v_error"),
        last_status=bindparam("v_http"),
        updated_at=bindparam("v_now"),
        delivered_at=bindparam("v_delivered"),
        dead_at=bindparam("v_dead"),
    )
)


def record(
    ctx: Context, settings: NotifySettings, rows: list[Row[Any]], verdicts: list[Verdict]
) -> int:
    """Write the verdicts of one destination's rows; returns how many were delivered."""
    now = ctx.clock.now()
    by_id = {r.id: r for r in rows}
    params = []
    retry_at: datetime | None = None
    delivered = 0
    for v in verdicts:
        row = by_id[v.id]
        values = _outcome(row, v.result, now, settings.max_attempts, retry_at)
        if v.result is not None and not v.result.ok and values["v_status"] == PENDING:
            retry_at = values["v_next"]  # the rows behind a failure wait as long as it does
        delivered += values["v_status"] == DELIVERED
        params.append({"b_id": v.id, "b_token": v.token, **values})
        if values["v_status"] == DEAD:
            log.warning(
                "notification %s to %s is a dead letter after %s attempts: %s",
                v.id,
                row.destination,
                values["v_attempts"],
                values["v_error"],
            )
    if params:
        with ctx.db.write() as s:
            s.execute(_RECORD, params)
    return delivered


def _outcome(
    row: Row[Any],
    result: DeliveryResult | None,
    now: datetime,
    max_attempts: int,
    retry_at: datetime | None,
) -> dict[str, Any]:
    base = {
        "v_status": PENDING,
        "v_attempts": row.attempts,
        "v_next": retry_at or now,
        "v_error": row.last_error,
        "v_http": row.last_status,
        "v_now": now,
        "v_delivered": None,
        "v_dead": None,
    }
    if result is None:  # released untried
        return base
    attempts = row.attempts + 1
    base.update(v_attempts=attempts, v_error=result.error, v_http=result.status)
    if result.ok:
        return {**base, "v_status": DELIVERED, "v_next": None, "v_delivered": now}
    if result.retry and attempts < max_attempts:
        delay = backoff_seconds(attempts, result.retry_after)
        return {**base, "v_next": now + timedelta(seconds=delay)}
    return {**base, "v_status": DEAD, "v_next": None, "v_dead": now}
