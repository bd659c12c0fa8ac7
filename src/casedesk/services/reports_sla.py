"""SLA: compliance per metric and policy from the SLA ledger (``sla_clocks``), warnings and
breaches per day and escalations by level from the audit trail (``sla.*`` events written by the
worker's sweep).

A clock counts in the period when it started in it. It *complied* when met without a breach,
*breached* when it has a breach time (met late, or still running past its target), and is
*open* while running or paused within its target. Compliance = complied / (complied + breached).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, cast, func, select

from casedesk.context import Context
from casedesk.db.sla_tables import SlaClock
from casedesk.db.tables import AuditEvent, Case
from casedesk.services.reports_common import (
    Report,
    ReportQuery,
    Table,
    bucket,
    bucket_labels,
    case_conditions,
    grouped_stats,
    in_period,
    read,
)

TITLE = "SLA"
TABLES = ("compliance", "alerts", "escalations")
EVENTS = ("sla.warning", "sla.breached", "sla.escalated")


def build(ctx: Context, q: ReportQuery) -> Report:
    report = Report("sla", TITLE, q)
    report.add(_compliance(ctx, q))
    report.add(_alerts(ctx, q))
    report.add(_escalations(ctx, q))
    if not ctx.config.sla.get("policies"):
        report.notes.append("No SLA policies are configured: cases carry no SLA clocks.")
    return report


def _compliance(ctx: Context, q: ReportQuery) -> Table:
    c = SlaClock
    breached = c.breached_at.is_not(None)
    complied = (c.state == "met") & ~breached
    open_ = c.state.in_(("running", "paused")) & ~breached
    table = Table(
        "compliance",
        "Compliance per metric and policy (clocks started in the period)",
        [
            "metric",
            "policy",
            "clocks",
            "complied",
            "breached",
            "open",
            "cancelled",
            "compliance_pct",
            "breach_median_s",
            "breach_p90_s",
        ],
        chart="stacked",
        x="metric",
        series=["complied", "breached", "open"],
    )

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    conditions = case_conditions(q)
    where = [in_period(c.started_at, q), *conditions]
    key = c.metric + "/" + c.policy_id

    def cases_if_filtered(query: Any) -> Any:
        # Join the cases only when a slice filter needs their columns.
        return query.join(Case, Case.number == c.case_number) if conditions else query

    with read(ctx.db) as s:
        rows = s.execute(
            cases_if_filtered(
                select(
                    c.metric,
                    c.policy_id,
                    func.count(),
                    counted(complied),
                    counted(breached),
                    counted(open_),
                    counted(c.state == "cancelled"),
                )
            )
            .where(*where)
            .group_by(c.metric, c.policy_id)
            .order_by(c.metric, c.policy_id)
        ).all()
        breaches: Any = cases_if_filtered(
            select(key.label("g"), c.breach_seconds.label("v"))
        ).where(*where, breached)
        stats = grouped_stats(s, ctx.db.dialect, breaches)
    for metric, policy, n, ok, bad, open_n, cancelled in rows:
        ok, bad = int(ok or 0), int(bad or 0)
        stat = stats.get(f"{metric}/{policy}")
        table.rows.append(
            [
                metric,
                policy,
                int(n),
                ok,
                bad,
                int(open_n or 0),
                int(cancelled or 0),
                round(ok * 100 / (ok + bad), 1) if ok + bad else None,
                stat.p50 if stat else None,
                stat.p90 if stat else None,
            ]
        )
    return table


def _events(q: ReportQuery, *actions: str) -> Any:
    e = AuditEvent
    query = select(e).where(e.action.in_(actions), in_period(e.occurred_at, q))
    conditions = case_conditions(q)
    if conditions:
        query = query.join(Case, Case.number == e.case_number).where(*conditions)
    return query.subquery("sla_events")


def _alerts(ctx: Context, q: ReportQuery) -> Table:
    ev = _events(q, "sla.warning", "sla.breached")
    b = bucket(ctx.db.dialect, ev.c.occurred_at, q.interval)
    metric = ev.c.data["metric"].as_string()
    table = Table(
        "alerts",
        f"SLA warnings and breaches per {q.interval}",
        [q.interval, "warnings", "breaches", "first_response", "next_response", "resolution"],
        chart="line",
        x=q.interval,
        series=["warnings", "breaches"],
    )
    counts: dict[str, dict[str, int]] = {}
    with read(ctx.db) as s:
        for label, action, m, n in s.execute(
            select(b, ev.c.action, metric, func.count()).group_by(b, ev.c.action, metric)
        ):
            day = counts.setdefault(str(label), {})
            kind = "warnings" if action == "sla.warning" else "breaches"
            day[kind] = day.get(kind, 0) + int(n)
            if kind == "breaches" and m:
                day[m] = day.get(m, 0) + int(n)
    for label in bucket_labels(q.since, q.until, q.interval):
        d = counts.get(label, {})
        table.rows.append([label, *(d.get(k, 0) for k in table.columns[1:])])
    return table


def _escalations(ctx: Context, q: ReportQuery) -> Table:
    ev = _events(q, "sla.escalated")
    level = cast(ev.c.data["level"].as_string(), Integer) + 1  # stored 0-based
    policy = ev.c.data["policy"].as_string()
    metric = ev.c.data["metric"].as_string()
    table = Table(
        "escalations",
        "Escalations by level",
        ["level", "policy", "metric", "escalations", "cases"],
        chart="bar",
        x="level",
        series=["escalations"],
    )
    with read(ctx.db) as s:
        rows = s.execute(
            select(level, policy, metric, func.count(), func.count(func.distinct(ev.c.case_number)))
            .group_by(level, policy, metric)
            .order_by(level, policy, metric)
        ).all()
    for lvl, pol, met, n, cases in rows:
        table.rows.append([int(lvl), pol, met, int(n), int(cases)])
    return table
