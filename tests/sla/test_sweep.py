"""The worker's SLA sweep: warnings, breaches and escalation levels fire once each, at the right
moment, with the system as actor, into the audit trail and the outbox; never while paused or
after the metric is met; and never twice, however many passes or workers run."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from casedesk import worker
from casedesk.config import parse_config
from casedesk.context import Context
from casedesk.db.sla_tables import OutboxItem
from casedesk.db.tables import AuditEvent
from casedesk.services import audit, sla
from casedesk.services.sla_sweep import sweep_batch
from tests.sla.conftest import SLA_CONFIG, Desk, H, M


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def actions(desk: Desk, case: object) -> list[tuple[str, str]]:
    return [(e.action, e.data.get("checkpoint", "")) for e in desk.events(case)]  # type: ignore[arg-type]


def test_warnings_at_75_and_90_percent_then_the_breach(desk: Desk) -> None:
    case = desk.open()  # standard: 4h from Monday 09:00, due 13:00
    desk.clock.current = at(2026, 1, 5, 11, 59)
    assert sla.sweep(desk.ctx) == 0
    desk.clock.current = at(2026, 1, 5, 12)
    assert sla.sweep(desk.ctx) == 1
    assert actions(desk, case) == [("sla.warning", "warn:0.75")]
    desk.clock.current = at(2026, 1, 5, 12, 36)
    sla.sweep(desk.ctx)
    desk.clock.current = at(2026, 1, 5, 13)
    sla.sweep(desk.ctx)
    assert actions(desk, case) == [
        ("sla.warning", "warn:0.75"),
        ("sla.warning", "warn:0.9"),
        ("sla.breached", "breach"),
        ("sla.escalated", "esc:standard:0"),
    ]
    breach = desk.events(case)[2]
    assert breach.actor_kind == "system" and breach.actor_label == "system"
    assert breach.data["metric"] == "first_response" and breach.data["target"] == "4h"
    assert breach.data["due_at"] == "2026-01-05T13:00:00+00:00"
    first = desk.clocks(case)["first_response"]
    assert first["breached"] and first["breached_at"] == at(2026, 1, 5, 13)
    # the escalation raised the priority and tagged the case, as the system
    after = desk.get(case)
    assert after.priority == 2 and "sla-breached" in after.tags
    (updated,) = desk.events(case, "case.updated")
    assert (
        updated.actor_kind == "system"
        and updated.data["escalation"] == f"sla:{case.number}:first_response:1:esc:standard:0"
    )
    # routed notifications: slack-support hears of every SLA event
    assert Counter(o.event for o in desk.outbox(case)) == {
        "sla.warning": 2,
        "sla.breached": 1,
        "case.escalated": 1,
    }


def test_each_level_fires_exactly_once_over_many_passes(desk: Desk) -> None:
    case = desk.open("urgent")  # 1h on 24x7 from 09:00
    fired = []
    for minute in range(0, 181, 5):
        desk.clock.current = at(2026, 1, 5, 9) + minute * M
        for _ in range(3):
            fired.append(sla.sweep(desk.ctx))
    checkpoints = Counter(
        e.data["checkpoint"] for e in desk.events(case) if e.data.get("metric") == "first_response"
    )
    assert checkpoints == {
        "warn:0.75": 1,
        "esc:urgent:0": 1,
        "warn:0.9": 1,
        "breach": 1,
        "esc:urgent:1": 1,
        "esc:urgent:2": 1,
    }
    after = desk.get(case)
    assert after.team is not None and after.team.name == "tier2"
    assert after.assignee is not None and after.assignee.email == "lead@example.com"
    assert "escalated" in after.tags
    assigned = desk.events(case, "case.assigned")
    assert [(e.actor_kind, e.data["after"]) for e in assigned] == [("system", "lead@example.com")]
    # level notify lists add their destinations to the routed ones, once per destination
    escalated = [
        (o.destination, o.dedupe_key.split(":")[-2])
        for o in desk.outbox(case)
        if o.event == "case.escalated"
    ]
    assert sorted(escalated) == sorted(
        [
            ("slack-support", "0"),
            ("teams-leads", "0"),
            ("slack-support", "1"),
            ("slack-support", "2"),
            ("teams-leads", "2"),
        ]
    )
    assert len({o.dedupe_key for o in desk.outbox()}) == len(desk.outbox())
    audit.seal(desk.ctx.db, now=desk.clock.now())
    assert audit.verify(desk.ctx.db).ok


def test_escalation_stops_once_the_metric_is_met(desk: Desk) -> None:
    case = desk.open("urgent")
    desk.clock.current = at(2026, 1, 5, 9, 50)
    sla.sweep(desk.ctx)
    desk.reply(case)
    desk.clock.current = at(2026, 1, 5, 12)
    sla.sweep(desk.ctx)
    first = [
        c
        for c, *_ in [
            (e.data["checkpoint"],)
            for e in desk.events(case)
            if e.data.get("metric") == "first_response"
        ]
    ]
    assert first == ["warn:0.75", "esc:urgent:0"]
    assert desk.get(case).team is None


def test_a_paused_clock_never_fires(desk: Desk) -> None:
    case = desk.open("urgent")
    desk.clock.advance(10 * M)
    desk.hold(case)
    desk.clock.advance(48 * H)
    assert sla.sweep(desk.ctx) == 0
    assert desk.events(case) == []
    desk.move(case, "in_progress")  # 50 minutes left
    desk.clock.advance(50 * M)
    sla.sweep(desk.ctx)
    assert ("sla.breached", "breach") in actions(desk, case)


def test_a_late_sweep_announces_the_breach_not_stale_warnings(desk: Desk) -> None:
    case = desk.open()
    desk.clock.current = at(2026, 1, 6, 9)  # the worker was down for a day
    sla.sweep(desk.ctx)
    assert [a for a in actions(desk, case) if a[1].startswith(("warn", "breach"))] == [
        ("sla.breached", "breach")
    ]
    fired = desk.clocks(case)["first_response"]["fired"]
    assert {f["checkpoint"]: f.get("skipped", False) for f in fired} == {
        "warn:0.75": True,
        "warn:0.9": True,
        "breach": False,
        "esc:standard:0": False,
    }


def test_an_escalation_to_a_missing_team_is_reported(ctx: Context, desk: Desk) -> None:
    ctx.config = parse_config(SLA_CONFIG.replace('assign_team = "tier2"', 'assign_team = "ghosts"'))
    assert worker.startup_checks(ctx) == [
        "sla policy 'urgent' escalation[1]: assign_team 'ghosts' is not a team"
    ]
    case = desk.open("urgent")
    desk.clock.advance(61 * M)
    sla.sweep(desk.ctx)
    (event,) = [
        e for e in desk.events(case) if e.action == "sla.escalated" and e.data["level"] == 1
    ]
    assert event.data["failed"] == ["no team named 'ghosts'; create it or fix the policy"]
    assert "escalated" in desk.get(case).tags  # the level's other actions still ran


def test_a_pass_reads_only_what_is_due(desk: Desk) -> None:
    for _ in range(20):
        desk.open()  # due in hours
    due = [desk.open("urgent") for _ in range(3)]
    desk.clock.advance(46 * M)  # only the urgent cases' 75 % warnings are due
    fired, claimed = sweep_batch(desk.ctx)
    assert claimed == 3  # first_response of each; resolution (8h) is not due
    assert fired == 6  # warning + escalation level 0 of each
    assert {e.case_number for e in _all_sla_events(desk)} == {c.number for c in due}


def _all_sla_events(desk: Desk) -> list[AuditEvent]:
    with desk.ctx.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action.startswith("sla."))))


def test_two_workers_racing_escalate_and_queue_once(desk: Desk) -> None:
    cases = [desk.open("urgent", subject=f"race {i}") for i in range(8)]
    desk.clock.advance(3 * H)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                done = worker.run_once(desk.ctx)
                failed = [
                    job for job in ("sla_sweep", "auto_close", "deliver_outbox") if done[job] < 0
                ]
                assert not failed, failed
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for case in cases:
        per_checkpoint = Counter(
            (e.data["metric"], e.data["checkpoint"]) for e in desk.events(case)
        )
        assert set(per_checkpoint.values()) == {1}, per_checkpoint
        assert per_checkpoint[("first_response", "breach")] == 1
        assert per_checkpoint[("first_response", "esc:urgent:2")] == 1
        assert len(desk.events(case, "case.assigned")) == 1
    with desk.ctx.db.read() as s:
        keys = s.execute(
            select(OutboxItem.dedupe_key, func.count()).group_by(OutboxItem.dedupe_key)
        ).all()
    assert keys and all(n == 1 for _, n in keys)
    audit.seal(desk.ctx.db, now=desk.clock.now())
    assert audit.verify(desk.ctx.db).ok


def test_the_breach_in_the_docs_is_explained_by_the_ledger(desk: Desk) -> None:
    """docs/sla.md, "Reading the ledger": the same case, step by step."""
    case = desk.open()
    desk.clock.current = at(2026, 1, 5, 10)
    desk.hold(case)
    desk.clock.current = at(2026, 1, 6, 10)
    desk.move(case, "in_progress")
    for moment in (at(2026, 1, 6, 12), at(2026, 1, 6, 12, 36), at(2026, 1, 6, 13)):
        desk.clock.current = moment
        sla.sweep(desk.ctx)
    desk.clock.current = at(2026, 1, 6, 13, 30)
    desk.reply(case)
    first = desk.clocks(case)["first_response"]
    assert (first["state"], first["stopped_by"], first["breached"]) == ("met", "agent reply", True)
    assert first["breached_at"] == at(2026, 1, 6, 13) and first["breached_by_seconds"] == 1800
    assert (first["elapsed_seconds"], first["remaining_seconds"]) == (16200, -1800)
    assert first["paused_seconds"] == 28800
    assert [(s["kind"], s["business_seconds"], s["wall_seconds"]) for s in first["segments"]] == [
        ("running", 3600, 3600),
        ("paused", 28800, 86400),
        ("running", 12600, 12600),
    ]
    assert [(f["checkpoint"], f["at"]) for f in first["fired"]] == [
        ("warn:0.75", at(2026, 1, 6, 12).isoformat()),
        ("warn:0.9", at(2026, 1, 6, 12, 36).isoformat()),
        ("breach", at(2026, 1, 6, 13).isoformat()),
        ("esc:standard:0", at(2026, 1, 6, 13).isoformat()),  # this test config escalates
    ]
