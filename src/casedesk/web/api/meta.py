"""Health, metrics and the effective workflow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, text

from casedesk.context import Context
from casedesk.db.tables import Case
from casedesk.services import reports_metrics
from casedesk.web.deps import Principal, context, staff

router = APIRouter(tags=["meta"])
Ctx = Annotated[Context, Depends(context)]


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, str]:
    """200 when the database answers."""
    with ctx.db.read() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok", "database": ctx.db.dialect}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(ctx: Ctx) -> str:
    """Prometheus text format: open cases by status category."""
    with ctx.db.read() as s:
        rows = s.execute(select(Case.status_category, func.count()).group_by(Case.status_category))
        counts = dict(rows.tuples().all())
    lines = ["# HELP casedesk_cases Cases by status category", "# TYPE casedesk_cases gauge"]
    lines += [f'casedesk_cases{{category="{k}"}} {v}' for k, v in sorted(counts.items())]
    lines += reports_metrics.metric_lines(ctx)
    return "\n".join(lines) + "\n"


@router.get("/api/v1/workflow")
def workflow(ctx: Ctx, _: Annotated[Principal, Depends(staff)]) -> dict[str, Any]:
    """The effective workflow: statuses, categories, transitions and hold reasons."""
    wf = ctx.config.lifecycle
    return {
        "initial": wf.initial,
        "statuses": [{"id": s.id, "name": s.name, "category": s.category} for s in wf.statuses],
        "transitions": [
            {
                "from": sorted(t.sources),
                "to": t.target,
                "by": sorted(t.by),
                "requires": sorted(t.requires),
            }
            for t in wf.transitions
        ],
        "hold_reasons": list(wf.hold_reasons),
    }
