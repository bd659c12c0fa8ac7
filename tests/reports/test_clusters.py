"""Clusters of similar cases: computed by the worker job on a schedule, read by the report."""

from __future__ import annotations

from datetime import timedelta

from casedesk.context import Context
from casedesk.services import cases, patterns, reports
from tests.conftest import SETUP

GROUPS = {
    "redemption": [
        ("Redemption failing after the catalogue sync", "Every redemption fails since the sync"),
        ("Redemption error since catalogue sync", "The catalogue sync broke redemption"),
        ("Catalogue sync broke my redemption", "Redemption fails with an error"),
        ("Redemption fails after catalogue sync", "Cannot redeem since the catalogue sync"),
    ],
    "points": [
        ("Points not credited after purchase", "Bought groceries, points never credited"),
        ("Missing points after my purchase", "The purchase points are not credited"),
        ("Purchase points not credited", "Points for the purchase are missing"),
    ],
    "password": [
        ("Password reset e-mail not arriving", "The reset e-mail never arrives"),
        ("No password reset e-mail", "I asked for a reset e-mail twice, nothing arrives"),
        ("Reset e-mail for password missing", "Password reset e-mail does not arrive"),
    ],
}


def add(ctx: Context, subject: str, description: str, days_ago: float) -> int:
    now = ctx.clock.now()
    return cases.create_case(
        ctx.db,
        ctx.config,
        cases.NewCase(subject=subject, description=description, channel="email"),
        actor=SETUP,
        now=now - timedelta(days=days_ago),
    ).number


def test_clusters_are_found_labelled_and_compared_with_the_week_before(ctx: Context) -> None:
    for name, variants in GROUPS.items():
        count = {"redemption": 12, "points": 8, "password": 6}[name]
        for i in range(count):
            subject, description = variants[i % len(variants)]
            add(ctx, subject, description, days_ago=0.1 + i * 0.4)
    for i in range(3):  # the week before: a few of the redemption kind already
        add(ctx, *GROUPS["redemption"][i], days_ago=8 + i)
    clustered = patterns.refresh_clusters(ctx)
    assert clustered == 26
    q = reports.parse_query({}, now=ctx.clock.now())
    rows = reports.run(ctx, "patterns", q).tables["clusters"].as_dicts()
    assert [r["cases"] for r in rows] == [12, 8, 6]
    top = rows[0]
    assert "redemption" in top["label"].lower() and "catalogue" in top["label"].lower()
    assert top["previous_window"] == 3
    assert "catalogue" in top["terms"] and top["top_channel"] == "email"
    assert len(top["examples"].split()) == patterns.SAMPLE


def test_the_job_runs_only_when_due(ctx: Context) -> None:
    for i in range(8):
        add(ctx, *GROUPS["points"][i % 3], days_ago=1)
    assert patterns.refresh_clusters(ctx) == 8
    assert patterns.refresh_clusters(ctx) == 0  # ran a moment ago: one cheap read, no work
    ctx.clock.advance(patterns.INTERVAL)  # type: ignore[attr-defined]
    assert patterns.refresh_clusters(ctx) == 8


def test_too_few_cases_make_no_clusters(ctx: Context) -> None:
    add(ctx, "Lonely case", "", days_ago=1)
    assert patterns.refresh_clusters(ctx) == 0
    q = reports.parse_query({}, now=ctx.clock.now())
    assert reports.run(ctx, "patterns", q).tables["clusters"].rows == []


def test_report_metrics(ctx: Context) -> None:
    from casedesk.services.reports_metrics import metric_lines

    add(ctx, "Old one", "", days_ago=3)
    patterns.refresh_clusters(ctx)
    ctx.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    lines = dict(line.rsplit(" ", 1) for line in metric_lines(ctx) if not line.startswith("#"))
    assert lines["casedesk_backlog_oldest_open_age_seconds"] == str(3 * 86400 + 120)
    assert lines["casedesk_report_clusters"] == "0"
    assert lines['casedesk_report_job_age_seconds{job="clusters"}'] == "120"
