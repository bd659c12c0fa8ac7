"""The per-case SLA ledger as cases change: due times over business hours, weekends, holidays
and DST; pauses; replies; policy changes; reopening; late breaches; the API that shows it."""

from __future__ import annotations

from datetime import UTC, datetime

from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases
from tests.conftest import Api
from tests.sla.conftest import Desk, H, M


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_a_new_case_starts_first_response_and_resolution(desk: Desk) -> None:
    case = desk.open()  # Monday 2026-01-05 09:00, standard policy on the London calendar
    clocks = desk.clocks(case)
    assert set(clocks) == {"first_response", "resolution"}
    first = clocks["first_response"]
    assert (first["policy"], first["calendar"], first["state"]) == ("standard", "london", "running")
    assert first["target_seconds"] == 4 * 3600
    assert first["due_at"] == at(2026, 1, 5, 13)
    assert first["next_check_at"] == at(2026, 1, 5, 12)  # the 75 % warning
    # 24 working hours of 8 a day: Wednesday 17:00
    assert clocks["resolution"]["due_at"] == at(2026, 1, 7, 17)


def test_due_times_over_weekends_holidays_and_dst(desk: Desk) -> None:
    """4 working hours on the London calendar (09:00-17:00, English bank holidays)."""
    expected = [
        # Friday 16:00: 1h on Friday, 3h on Monday
        (at(2026, 1, 9, 16), at(2026, 1, 12, 12)),
        # Wed 23 Dec 15:00: 2h that day; 24 Dec (extra), 25 and 28 Dec (bank holidays) and the
        # weekend are skipped: Tuesday 29 Dec 11:00
        (at(2026, 12, 23, 15), at(2026, 12, 29, 11)),
        # Friday 27 March 16:00 GMT; the clocks go forward on Sunday: Monday 09:00 BST is
        # 08:00 UTC, so 3h later is 11:00 UTC
        (at(2026, 3, 27, 16), at(2026, 3, 30, 11)),
        # Saturday: the clock starts at Monday's opening
        (at(2026, 1, 10, 11), at(2026, 1, 12, 13)),
        # Friday 23 Oct 16:00 BST (15:00 UTC): 1h; the clocks go back on Sunday, so Monday
        # 09:00 GMT is 09:00 UTC and 3h later 12:00 UTC
        (at(2026, 10, 23, 15), at(2026, 10, 26, 12)),
    ]
    for created, due in expected:
        desk.clock.current = created
        first = desk.clocks(desk.open())["first_response"]
        assert first["due_at"] == due, created
        assert first["elapsed_seconds"] == 0 or created.weekday() < 5


def test_on_hold_pauses_and_resuming_credits_the_pause(desk: Desk) -> None:
    case = desk.open()
    desk.clock.advance(H)
    desk.hold(case)  # Monday 10:00, one working hour used
    paused = desk.clocks(case)["first_response"]
    assert paused["state"] == "paused"
    assert paused["due_at"] is None and paused["next_check_at"] is None
    desk.clock.current = at(2026, 1, 6, 10)  # a day later
    assert desk.clocks(case)["first_response"]["elapsed_seconds"] == 3600
    desk.move(case, "in_progress")
    first = desk.clocks(case)["first_response"]
    assert first["state"] == "running"
    assert first["due_at"] == at(2026, 1, 6, 13)  # 3h left from Tuesday 10:00
    kinds = [(s["kind"], s["business_seconds"]) for s in first["segments"]]
    assert kinds == [("running", 3600), ("paused", 8 * 3600), ("running", 0)]
    pause = first["segments"][1]
    assert (pause["status"], pause["reason_code"]) == ("on_hold", "awaiting_customer")
    assert first["paused_seconds"] == 8 * 3600


def test_public_agent_reply_meets_first_response_but_a_note_does_not(desk: Desk) -> None:
    case = desk.open()
    desk.clock.advance(30 * M)
    desk.reply(case, "internal thought", visibility="internal")
    assert desk.clocks(case)["first_response"]["state"] == "running"
    desk.clock.advance(30 * M)
    desk.reply(case)
    first = desk.clocks(case)["first_response"]
    assert (first["state"], first["stopped_by"]) == ("met", "agent reply")
    assert first["met_at"] == at(2026, 1, 5, 10)
    assert first["elapsed_seconds"] == 3600 and not first["breached"]
    assert first["next_check_at"] is None


def test_next_response_counts_from_the_oldest_unanswered_message(desk: Desk) -> None:
    case = desk.open()
    desk.customer_says(case, "before any answer")  # still waiting for the first response
    assert "next_response" not in desk.clocks(case)
    desk.reply(case)
    desk.clock.advance(H)
    desk.customer_says(case, "first follow-up")
    desk.clock.advance(H)
    desk.customer_says(case, "second follow-up")
    nxt = desk.clocks(case)["next_response"]
    assert (nxt["cycle"], nxt["state"]) == (1, "running")
    assert nxt["started_at"] == at(2026, 1, 5, 10)
    assert nxt["due_at"] == at(2026, 1, 6, 10)  # 8 working hours
    desk.reply(case)
    desk.clock.advance(H)
    desk.customer_says(case, "thanks, one more thing")
    rows = sorted((r.cycle, r.state) for r in desk.rows(case) if r.metric == "next_response")
    assert rows == [(1, "met"), (2, "running")]


def test_raising_the_priority_recomputes_due_times_from_the_ledger(desk: Desk) -> None:
    case = desk.open()  # standard: 4h on the London calendar, due 13:00
    desk.clock.advance(30 * M)
    desk.update(case, priority="urgent")  # urgent: 1h on 24x7, from the same start
    clocks = desk.clocks(case)
    first = clocks["first_response"]
    assert (first["policy"], first["calendar"]) == ("urgent", "24x7")
    assert first["due_at"] == at(2026, 1, 5, 10)
    assert first["next_check_at"] == at(2026, 1, 5, 9, 45)
    assert clocks["resolution"]["due_at"] == at(2026, 1, 5, 17)
    (change,) = first["history"]
    assert change["from"] == {"policy": "standard", "target": "4h"}
    assert change["to"] == {"policy": "urgent", "target": "1h"}
    desk.update(case, priority="normal")
    assert desk.clocks(case)["first_response"]["due_at"] == at(2026, 1, 5, 13)


def test_resolving_meets_the_clocks_and_reopening_starts_a_new_resolution_cycle(
    desk: Desk,
) -> None:
    case = desk.open()
    desk.reply(case)
    desk.clock.advance(2 * H)
    desk.move(case, "resolved", resolution="replaced the toner")
    resolution = desk.clocks(case)["resolution"]
    assert (resolution["state"], resolution["stopped_by"]) == ("met", "resolved")
    desk.clock.advance(H)
    desk.customer_says(case, "it is on fire again")  # reopens the case
    assert desk.get(case).status == "in_progress"
    rows = sorted((r.metric, r.cycle, r.state) for r in desk.rows(case))
    assert ("resolution", 2, "running") in rows
    assert ("resolution", 1, "met") in rows
    assert ("next_response", 1, "running") in rows
    new = next(r for r in desk.rows(case) if r.metric == "resolution" and r.cycle == 2)
    assert new.started_at == at(2026, 1, 5, 12)


def test_a_breach_found_when_the_metric_is_met_is_recorded_and_explained(desk: Desk) -> None:
    case = desk.open("urgent")  # 1h first response, 24x7
    desk.clock.advance(90 * M)  # the worker never ran
    desk.reply(case)
    first = desk.clocks(case)["first_response"]
    assert first["state"] == "met"
    assert first["breached"] and first["breached_at"] == at(2026, 1, 5, 10)
    assert first["breached_by_seconds"] == 1800
    (event,) = [e for e in desk.events(case) if e.action == "sla.breached"]
    assert event.actor_kind == "system"
    assert event.data["late"] is True and event.data["breached_by_seconds"] == 1800


def test_no_matching_policy_means_no_clocks(ctx, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    from casedesk.config import parse_config

    ctx.config = parse_config(
        '[[sla.policies]]\nid = "vip"\nwhen = { tags = ["vip"] }\n'
        'targets = { first_response = "1h" }\n'
    )
    case = desk.open()
    assert desk.clocks(case) == {}
    desk.clock.advance(10 * M)
    desk.update(case, tags=["VIP"])  # now it matches: the clock starts now
    first = desk.clocks(case)["first_response"]
    assert (first["policy"], first["started_at"]) == ("vip", at(2026, 1, 5, 9, 10))


def test_the_api_shows_the_ledger(desk: Desk, api: Api) -> None:
    case = desk.open()
    desk.clock.advance(H)
    desk.hold(case)
    tid = f"CASE-{case.number:06d}"
    response = api.get(f"/api/v1/cases/{tid.lower()}/sla")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["case_id"] == tid
    first = next(c for c in body["clocks"] if c["metric"] == "first_response")
    assert first["state"] == "paused" and first["due_at"] is None
    assert [s["kind"] for s in first["segments"]] == ["running", "paused"]
    assert first["segments"][1]["end"] is None
    assert api.get("/api/v1/cases/CASE-999999/sla").status_code == 404
    assert api.client.get(f"/api/v1/cases/{tid}/sla").status_code == 401


def test_resolving_then_closing_stops_every_clock(desk: Desk) -> None:
    case = desk.open()
    desk.move(case, "resolved", resolution="done")
    desk.clock.advance(H)
    cases.transition_case(
        desk.ctx.db,
        desk.ctx.config,
        case.number,
        "closed",
        TransitionRequest(),
        actor=desk.lead,
        now=desk.clock.now(),
    )
    for metric in ("first_response", "resolution"):
        clock = desk.clocks(case)[metric]
        assert clock["state"] == "met" and clock["next_check_at"] is None
        assert clock["stopped_by"] == "resolved"
