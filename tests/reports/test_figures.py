"""Report figures on the known data set (see conftest), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from casedesk.domain.sla import business_time_between
from casedesk.services import reports
from casedesk.services.reports_calendar import choose
from tests.reports.conftest import NOW, T0, Known

PERIOD = {"since": "2026-01-05", "until": "2026-01-06"}  # until is inclusive: < Jan 7 00:00


def run(known: Known, name: str, **params: str) -> dict[str, list[dict[str, Any]]]:
    q = reports.parse_query(params, now=known.ctx.clock.now())
    report = reports.run(known.ctx, name, q)
    return {n: t.as_dicts() for n, t in report.tables.items()}


def test_response_and_resolution_times(known: Known) -> None:
    [row] = run(known, "timelines", **PERIOD)["response_times"]
    assert row == {
        "slice": "all",
        "created": 4,
        "responded": 3,
        # first responses 1800, 3600, 10800 s: median 3600, p90 interpolated 9360
        "first_response_median_s": 3600.0,
        "first_response_p90_s": 9360.0,
        "first_response_business_median_s": 3600.0,
        "first_response_business_p90_s": 9360.0,
        # resolved C1 (created -> latest resolution 7h) and C2 (30h)
        "resolved": 2,
        "resolution_median_s": 66600.0,
        "resolution_p90_s": 99720.0,
        # office hours Mon-Fri 09-17: C1 7h, C2 Mon 11-17 + Tue 09-17 = 14h
        "resolution_business_median_s": 37800.0,
        "resolution_business_p90_s": 47880.0,
    }


def test_business_time_agrees_with_the_sla_clock_arithmetic(known: Known) -> None:
    calendar = choose(known.ctx.config, "office")
    c2_created, c2_resolved = T0 + timedelta(hours=2), T0 + timedelta(hours=32)
    assert business_time_between(calendar, c2_created, c2_resolved).total_seconds() == 50400


def test_timelines_by_team(known: Known) -> None:
    rows = {r["slice"]: r for r in run(known, "timelines", by="team", **PERIOD)["response_times"]}
    assert set(rows) == {"(none)", "tier1", "tier2"}
    assert (rows["tier1"]["created"], rows["tier1"]["first_response_median_s"]) == (2, 2700.0)
    assert rows["tier1"]["first_response_p90_s"] == 3420.0
    assert rows["tier1"]["resolution_median_s"] == 25200.0
    assert rows["tier2"]["resolution_business_median_s"] == 50400.0
    assert (rows["(none)"]["created"], rows["(none)"]["responded"]) == (1, 0)


def test_filters_narrow_every_figure(known: Known) -> None:
    [row] = run(known, "timelines", tag="points", **PERIOD)["response_times"]
    assert (row["created"], row["responded"], row["resolved"]) == (2, 2, 1)
    [row] = run(known, "timelines", channel="chat", **PERIOD)["response_times"]
    assert (row["created"], row["first_response_median_s"]) == (1, 10800.0)
    [row] = run(known, "timelines", agent="a1@example.com", **PERIOD)["response_times"]
    assert row["created"] == 2
    rows = run(known, "timelines", priority="urgent", **PERIOD)["response_times"]
    assert rows == []


def test_volume_per_day_and_week(known: Known) -> None:
    volume = run(known, "timelines", **PERIOD)["volume"]
    assert volume == [
        {"day": "2026-01-05", "created": 4, "resolved": 1, "closed": 0},
        {"day": "2026-01-06", "created": 0, "resolved": 1, "closed": 0},
    ]
    weekly = run(known, "timelines", interval="week", **PERIOD)["volume"]
    assert weekly == [{"week": "2026-01-05", "created": 4, "resolved": 2, "closed": 0}]


def test_time_in_status(known: Known) -> None:
    rows = {r["status"]: r for r in run(known, "bottlenecks", **PERIOD)["time_in_status"]}
    assert list(rows) == ["open", "in_progress", "on_hold", "resolved"]
    assert rows["open"] == {
        "slice": "all", "status": "open", "stretches": 4, "cases": 4, "ongoing": 1,
        "total_s": 174600.0, "avg_s": 43650.0, "median_s": 7200.0, "p90_s": 114120.0,
    }  # fmt: skip
    assert rows["in_progress"] == {
        "slice": "all", "status": "in_progress", "stretches": 5, "cases": 3, "ongoing": 0,
        "total_s": 30600.0, "avg_s": 6120.0, "median_s": 3600.0, "p90_s": 11520.0,
    }  # fmt: skip
    assert rows["on_hold"]["total_s"] == 244800.0
    assert (rows["on_hold"]["median_s"], rows["on_hold"]["p90_s"]) == (122400.0, 151200.0)
    assert (rows["resolved"]["stretches"], rows["resolved"]["ongoing"]) == (3, 2)
    assert (rows["resolved"]["median_s"], rows["resolved"]["p90_s"]) == (57600.0, 129600.0)


def test_hold_reasons_longest_waits_and_reopens(known: Known) -> None:
    tables = run(known, "bottlenecks", **PERIOD)
    assert [
        (r["reason"], r["stretches"], r["ongoing"], r["total_s"]) for r in tables["hold_reasons"]
    ] == [
        ("third_party", 1, 1, 158400.0),
        ("awaiting_customer", 1, 0, 86400.0),
    ]
    waits = tables["longest_waits"]
    assert [(w["case"], w["status"], w["waited_s"]) for w in waits] == [
        (known.tid(3), "on_hold", 158400.0),
        (known.tid(4), "open", 158400.0),
    ]
    assert waits[0]["assignee"] == "a1@example.com" and waits[0]["team"] == "tier1"
    assert tables["reopens"] == [{"slice": "all", "resolved": 2, "reopened": 1, "reopen_rate": 0.5}]


def test_bottlenecks_by_tag(known: Known) -> None:
    rows = run(known, "bottlenecks", by="tag", **PERIOD)["time_in_status"]
    points = {r["status"]: r for r in rows if r["slice"] == "points"}
    assert points["on_hold"]["stretches"] == 1  # C3 only
    assert points["in_progress"]["stretches"] == 3  # C1 twice, C3 once


def test_backlog(known: Known) -> None:
    tables = run(known, "backlog")
    ages = {r["age"]: r for r in tables["age"]}
    assert ages["1-3 days"] == {
        "age": "1-3 days", "open": 1, "in_progress": 0, "on_hold": 1, "total": 2
    }  # fmt: skip
    assert sum(r["total"] for r in tables["age"]) == 2
    assert [(r["agent"], r["open_total"], r["new"], r["pending"]) for r in tables["agents"]] == [
        ("(none)", 1, 1, 0),
        ("a1@example.com", 1, 0, 1),
    ]
    teams = {r["team"]: r for r in tables["teams"]}
    assert teams["tier1"]["oldest_age_s"] == 162000.0  # C3, created 45 h ago
    assert teams["(none)"]["oldest_age_s"] == 158400.0


def test_patterns_week_over_week(known: Known) -> None:
    tables = run(known, "patterns")
    assert [(r["value"], r["this_week"]) for r in tables["tags"]] == [
        ("points", 2),
        ("redemption", 1),
        ("vip", 1),
    ]
    assert {r["value"]: r["this_week"] for r in tables["channels"]} == {
        "email": 2,
        "chat": 1,
        "phone": 1,
    }
    assert all(r["spike"] is False for r in tables["categories"])


def test_a_spike_is_flagged(fresh_known: Known) -> None:
    known = fresh_known
    from casedesk.services import cases
    from tests.conftest import SETUP

    ctx = known.ctx
    for i, days_ago in enumerate([9, 1, 1, 2, 2, 3, 3]):
        ctx.clock.current = NOW - timedelta(days=days_ago, hours=i)  # type: ignore[attr-defined]
        cases.create_case(
            ctx.db,
            ctx.config,
            cases.NewCase(subject=f"App crash {i}", tags=["app-crash"]),
            actor=SETUP,
            now=ctx.clock.now(),
        )
    ctx.clock.current = NOW  # type: ignore[attr-defined]
    [row] = [r for r in run(known, "patterns")["tags"] if r["value"] == "app-crash"]
    assert (row["last_week"], row["this_week"], row["change_pct"], row["spike"]) == (
        1,
        6,
        500.0,
        True,
    )


def test_sla_compliance_and_alerts(fresh_known: Known) -> None:
    known = fresh_known
    from casedesk.services import sla

    ctx = known.ctx
    # C4 (low: first response within 1 day) breaches at T0 + 28h; the sweep runs at 30h.
    ctx.clock.current = T0 + timedelta(hours=30)  # type: ignore[attr-defined]
    sla.sweep(ctx)
    ctx.clock.current = NOW  # type: ignore[attr-defined]
    tables = run(known, "sla", **PERIOD)
    rows = {(r["metric"], r["policy"]): r for r in tables["compliance"]}
    low = rows[("first_response", "default-low")]
    assert (low["clocks"], low["complied"], low["breached"], low["compliance_pct"]) == (
        1,
        0,
        1,
        0.0,
    )
    high = rows[("first_response", "default-high")]
    assert (high["complied"], high["breached"], high["compliance_pct"]) == (1, 0, 100.0)
    normal = rows[("first_response", "default-normal")]
    assert (normal["clocks"], normal["complied"]) == (2, 2)
    by_day = {r["day"]: r for r in tables["alerts"]}
    assert by_day["2026-01-06"]["breaches"] >= 1
    assert by_day["2026-01-06"]["first_response"] >= 1
    assert by_day["2026-01-05"]["breaches"] == 0
