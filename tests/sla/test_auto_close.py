"""Auto-close: resolved cases quiet for ``workflow.auto_close_after`` are closed by the system."""

from __future__ import annotations

from datetime import timedelta

from casedesk.config import parse_config
from casedesk.context import Context
from casedesk.services import sla
from tests.sla.conftest import SLA_CONFIG, Desk, H, M

DAYS5 = timedelta(days=5)


def test_closed_after_the_quiet_period_by_the_system(desk: Desk) -> None:
    case = desk.open()
    desk.reply(case)
    desk.move(case, "resolved", resolution="fixed")
    desk.clock.advance(DAYS5 - M)
    assert sla.auto_close(desk.ctx) == 0
    assert desk.get(case).status == "resolved"
    desk.clock.advance(M)
    assert sla.auto_close(desk.ctx) == 1
    closed = desk.get(case)
    assert (closed.status, closed.closed_at) == ("closed", desk.clock.now())
    (event,) = [e for e in desk.events(case, "case.status_changed") if e.data["to"] == "closed"]
    assert (event.actor_kind, event.data["reason_code"]) == ("system", "auto_close")
    assert event.data["reason"] == "no customer activity for 5d"
    assert sla.auto_close(desk.ctx) == 0  # once


def test_a_customer_reply_reopens_and_the_period_starts_again(desk: Desk) -> None:
    case = desk.open()
    desk.move(case, "resolved", resolution="fixed")
    desk.clock.advance(4 * 24 * H)
    desk.customer_says(case, "still broken")
    assert desk.get(case).status == "in_progress"
    desk.clock.advance(2 * 24 * H)
    assert sla.auto_close(desk.ctx) == 0
    desk.move(case, "resolved", resolution="fixed again")
    desk.clock.advance(DAYS5)
    assert sla.auto_close(desk.ctx) == 1


def test_customer_activity_on_a_solved_case_that_stays_solved_delays_closing(
    ctx: Context, desk: Desk
) -> None:
    # A workflow where a customer's message does not reopen: the quiet period restarts.
    text = SLA_CONFIG + (
        '\n[workflow]\nauto_close_after = "2d"\ntransitions = [\n'
        '  { from = ["open", "on_hold"], to = "in_progress", by = ["agent"] },\n'
        '  { from = ["open", "in_progress"], to = "on_hold", by = ["agent"], requires = ["reason"] },\n'  # noqa: E501
        '  { from = ["open", "in_progress"], to = "resolved", by = ["agent"], requires = ["resolution"] },\n'  # noqa: E501
        '  { from = ["resolved"], to = "closed", by = ["system"] },\n'
        '  { from = ["resolved"], to = "in_progress", by = ["agent"] },\n]\n'
    )
    ctx.config = parse_config(text)
    case = desk.open()
    desk.move(case, "resolved", resolution="fixed")
    desk.clock.advance(36 * H)
    desk.customer_says(case, "thanks! one question though")
    assert desk.get(case).status == "resolved"
    desk.clock.advance(24 * H)
    assert sla.auto_close(desk.ctx) == 0
    desk.clock.advance(24 * H)
    assert sla.auto_close(desk.ctx) == 1
