"""``/admin/quarantine``, ``/admin/dead-letters``, ``/admin/audit``: what needs an admin's
attention, and the audit trail viewer with filters, verification and export (JSONL or CSV,
streamed with the chain and seal hashes, the same format as ``casedesk audit export``)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from casedesk.domain.errors import DomainError, InvalidInput
from casedesk.services import audit, audit_queries, cases, console_features
from casedesk.web.ui import csrf
from casedesk.web.ui.auth import StaffSession, admin_user
from casedesk.web.ui.forms import text
from casedesk.web.ui.pages import ctx_of, flash, redirect, render

router = APIRouter(
    dependencies=[Depends(admin_user), Depends(csrf.protect)], include_in_schema=False
)
AUDIT_PAGE = 100


@router.get("/admin/quarantine")
def quarantine_page(request: Request) -> Response:
    ctx = ctx_of(request)
    return render(
        request,
        "admin/quarantine.html",
        {"nav": "admin", "section": "quarantine", "listing": console_features.quarantine(ctx)},
    )


@router.post("/admin/quarantine/{qid}/reprocess")
def reprocess(qid: int, request: Request, who: StaffSession = Depends(admin_user)) -> Response:
    ctx = ctx_of(request)
    back = redirect("/admin/quarantine")
    try:
        done = console_features.reprocess_quarantined(ctx, qid, who.actor)
    except DomainError as exc:
        return flash(back, request, exc.detail, "error")
    if not done:
        return flash(back, request, "Re-processing is not available yet.", "error")
    return flash(back, request, f"Re-processed quarantined message {qid}.")


@router.get("/admin/dead-letters")
def dead_letters_page(request: Request) -> Response:
    ctx = ctx_of(request)
    return render(
        request,
        "admin/dead_letters.html",
        {"nav": "admin", "section": "dead-letters", "listing": console_features.dead_letters(ctx)},
    )


@router.post("/admin/dead-letters/{nid}/retry")
def retry(nid: int, request: Request, who: StaffSession = Depends(admin_user)) -> Response:
    ctx = ctx_of(request)
    back = redirect("/admin/dead-letters")
    try:
        done = console_features.retry_dead_letter(ctx, nid, who.actor)
    except DomainError as exc:
        return flash(back, request, exc.detail, "error")
    if not done:
        return flash(back, request, "Retrying is not available yet.", "error")
    return flash(back, request, f"Notification {nid} is queued again.")


# -- audit trail -------------------------------------------------------------------------------


def parse_when(raw: str, field: str) -> datetime | None:
    """A date (``2026-01-05``) or date and time (``2026-01-05T09:30``), in UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"'{raw}' is not a date; write it as 2026-01-05 or 2026-01-05T09:30", field=field
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def audit_filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    ctx = ctx_of(request)
    case_ref = text(params, "case")
    until = parse_when(text(params, "until"), "until")
    if until is not None and len(text(params, "until")) == 10:
        until += timedelta(days=1)  # a date as "until" includes that whole day
    return {
        "action": text(params, "action") or None,
        "actor": text(params, "actor") or None,
        "scope": text(params, "scope") or None,
        "case_number": cases.case_number(ctx.config, case_ref) if case_ref else None,
        "since": parse_when(text(params, "since"), "since"),
        "until": until,
    }


@router.get("/admin/audit")
def audit_page(request: Request) -> Response:
    ctx = ctx_of(request)
    params = request.query_params
    error = ""
    rows: list[Any] = []
    next_before = None
    try:
        filters = audit_filters(request)
        before = text(params, "before")
        rows, next_before = audit_queries.events_newest_first(
            ctx.db, **filters, before=int(before) if before.isdigit() else None, limit=AUDIT_PAGE
        )
    except DomainError as exc:
        error = exc.detail
    keep = [(k, text(params, k)) for k in ("action", "actor", "scope", "case", "since", "until")]
    keep = [(k, v) for k, v in keep if v]
    return render(
        request,
        "admin/audit.html",
        {
            "nav": "admin",
            "section": "audit",
            "events": rows,
            "error": error,
            "values": dict(keep),
            "next_url": f"/admin/audit?{urlencode([*keep, ('before', next_before)])}"
            if next_before
            else "",
            "export_query": urlencode([(k, v) for k, v in keep if k in ("since", "until")]),
        },
    )


def _stream(rows: Iterator[dict[str, Any]], fmt: str, batch: int = 1000) -> Iterator[str]:
    """The export in chunks, written by ``audit.write_export`` so the format is the CLI's."""
    first = True
    pending: list[dict[str, Any]] = []

    def flush() -> str:
        nonlocal first
        buf = io.StringIO()
        audit.write_export(iter(pending), buf, fmt)
        out = buf.getvalue()
        if fmt == "csv" and not first:
            out = out.split("\r\n", 1)[1]  # the header only once
        first = False
        pending.clear()
        return out

    for row in rows:
        pending.append(row)
        if len(pending) >= batch:
            yield flush()
    if pending or first:
        yield flush()


@router.get("/admin/audit/export")
def audit_export(request: Request, format: str = "jsonl") -> Response:
    ctx = ctx_of(request)
    if format not in ("jsonl", "csv"):
        raise InvalidInput("format must be jsonl or csv", field="format")
    filters = audit_filters(request)
    rows = audit.export_rows(ctx.db, since=filters["since"], until=filters["until"])
    stamp = ctx.clock.now().strftime("%Y%m%dT%H%M%SZ")
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        _stream(rows, format),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="casedesk-audit-{stamp}.{format}"'},
    )


@router.post("/admin/audit/verify")
def audit_verify(request: Request) -> Response:
    ctx = ctx_of(request)
    while audit.seal(ctx.db, now=ctx.clock.now()) > 0:
        pass
    result = audit.verify(ctx.db)
    back = redirect("/admin/audit")
    if result.ok:
        return flash(
            back, request, f"Audit trail intact: {result.events} events, {result.seals} sealed."
        )
    return flash(back, request, f"Audit trail TAMPERED — first bad: {result.first}", "error")
