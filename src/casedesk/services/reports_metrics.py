"""Report-related gauges for ``/metrics`` (Prometheus text format), cheap enough for every
scrape: a few index lookups, no scan of the cases.

``metric_lines(ctx)`` is meant to be appended by the ``/metrics`` route (``web/api/meta.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from casedesk.db.report_tables import ReportCluster, ReportJob
from casedesk.db.tables import Case

if TYPE_CHECKING:
    from casedesk.context import Context


def metric_lines(ctx: Context) -> list[str]:
    now = ctx.clock.now()
    open_statuses = ctx.config.lifecycle.ids_in("new", "open", "pending")
    with ctx.db.read() as s:
        # The oldest open case is the lowest open number: one probe of (status, number).
        oldest_number = s.scalar(
            select(func.min(Case.number)).where(Case.status.in_(open_statuses))
        )
        oldest = (
            s.scalar(select(Case.created_at).where(Case.number == oldest_number))
            if oldest_number is not None
            else None
        )
        clusters = s.scalar(select(func.count()).select_from(ReportCluster)) or 0
        jobs = s.execute(select(ReportJob.name, ReportJob.last_run_at)).all()
    lines = [
        "# HELP casedesk_backlog_oldest_open_age_seconds Age of the oldest case not yet solved",
        "# TYPE casedesk_backlog_oldest_open_age_seconds gauge",
        f"casedesk_backlog_oldest_open_age_seconds {_age(now, oldest)}",
        "# HELP casedesk_report_clusters Clusters of similar recent cases the worker keeps",
        "# TYPE casedesk_report_clusters gauge",
        f"casedesk_report_clusters {clusters}",
        "# HELP casedesk_report_job_age_seconds Seconds since a worker report job last ran",
        "# TYPE casedesk_report_job_age_seconds gauge",
    ]
    lines += [
        f'casedesk_report_job_age_seconds{{job="{name}"}} {_age(now, at)}' for name, at in jobs
    ]
    return lines


def _age(now: datetime, then: datetime | None) -> str:
    return "0" if then is None else f"{max(0.0, (now - then).total_seconds()):.0f}"
