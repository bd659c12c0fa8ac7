"""The unified queue: default view, filters, search, keyset pages, saved views, bulk actions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from casedesk.domain.actors import Actor
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, customers, saved_views, users
from tests.conftest import SETUP
from tests.ui.conftest import Browser, Browsers

INTAKE = Actor(kind="channel", label="tester", origin="test")


def new_case(ctx: Any, subject: str, **kw: Any) -> Any:
    kw.setdefault("channel", "email")
    case = cases.create_case(
        ctx.db, ctx.config, cases.NewCase(subject=subject, **kw), actor=INTAKE, now=ctx.clock.now()
    )
    ctx.clock.advance(timedelta(seconds=1))
    return case


def shown(html: str) -> list[str]:
    """Ticket IDs of the queue rows, in order."""
    return re.findall(r'<tr data-href="/console/cases/([A-Z]+-\d+)"', html)


def tid(ctx: Any, case: Any) -> str:
    return cases.ticket_id(ctx.config, case.number)


def test_default_view_is_all_open_cases_by_sla_due(agent: Browser, ctx: Any) -> None:
    first = new_case(ctx, "Printer on fire")
    second = new_case(ctx, "Cannot log in", channel="phone")
    urgent = new_case(ctx, "Site down", priority="urgent")  # due far sooner
    done = new_case(ctx, "Old question")
    cases.transition_case(
        ctx.db,
        ctx.config,
        done.number,
        "resolved",
        TransitionRequest(resolution="answered"),
        actor=SETUP_LEAD,
        now=ctx.clock.now(),
    )
    page = agent.get("/console")
    assert page.status_code == 200
    assert shown(page.text) == [tid(ctx, urgent), tid(ctx, first), tid(ctx, second)]
    assert "All open cases" in page.text
    assert 'class="active" aria-current="page">All open cases' in page.text
    assert '<option value="sla" selected>SLA due first</option>' in page.text
    newest = agent.get("/console?status=any&sort=-created")
    assert shown(newest.text) == [tid(ctx, c) for c in (done, urgent, second, first)]
    # Solved cases have no running clock: they follow the running ones, newest first.
    assert shown(agent.get("/console?status=any").text) == [
        tid(ctx, c) for c in (urgent, first, second, done)
    ]


SETUP_LEAD = Actor(kind="user", id=None, label="lead", role="lead")


def test_filters_by_channel_priority_assignee_team_tag_category(agent: Browser, ctx: Any) -> None:
    users.create_team(ctx.db, name="Tier 2", actor=SETUP, now=ctx.clock.now())
    phone = new_case(ctx, "Phone one", channel="phone", priority="urgent", tags=["vip"])
    mine = new_case(ctx, "Mine", assignee=agent.user.id, team="Tier 2", category="billing")
    other = new_case(ctx, "Unassigned one")
    cases_of = {
        "channel=phone": [phone],
        "priority=urgent": [phone],
        "assignee=me": [mine],
        "assignee=none&sort=-created": [other, phone],
        "team=Tier+2": [mine],
        "team=none&sort=-created": [other, phone],
        "tag=vip": [phone],
        "category=billing": [mine],
        "q=unassigned": [other],
        f"assignee={agent.user.id}": [mine],
    }
    for query, expected in cases_of.items():
        page = agent.get(f"/console?{query}")
        assert page.status_code == 200, query
        assert shown(page.text) == [tid(ctx, c) for c in expected], query


def test_htmx_filter_change_returns_only_the_results(agent: Browser, ctx: Any) -> None:
    new_case(ctx, "Only case")
    resp = agent.get(
        "/console?status=any&channel=email",
        headers={"HX-Request": "true", "HX-Target": "queue-results"},
    )
    assert resp.status_code == 200
    assert resp.text.lstrip().startswith('<div id="queue-results">')
    assert "<html" not in resp.text and "Only case" in resp.text


def test_keyset_pages_cover_every_case_once(agent: Browser, ctx: Any) -> None:
    made = [new_case(ctx, f"Case number {i}") for i in range(57)]
    first = agent.get("/console?sort=-created")
    ids = shown(first.text)
    assert len(ids) == 50 and ids[0] == tid(ctx, made[-1])
    assert "51+ cases" not in first.text and "50+ cases" in first.text
    nxt = re.search(r'id="next-page" href="([^"]+)"', first.text)
    assert nxt, "a next page link"
    url = nxt.group(1).replace("&amp;", "&")
    assert "cursor=" in url and "offset" not in url
    second = agent.get(url)
    more = shown(second.text)
    assert len(more) == 7 and not set(more) & set(ids)
    assert "page 2" in second.text and 'id="next-page"' not in second.text
    assert set(ids + more) == {tid(ctx, c) for c in made}
    # A case created meanwhile does not shift the second page.
    new_case(ctx, "Late arrival")
    assert shown(agent.get(url).text) == more


def test_sort_orders(agent: Browser, ctx: Any) -> None:
    low = new_case(ctx, "Low", priority="low")
    high = new_case(ctx, "High", priority="high")
    normal = new_case(ctx, "Normal")
    assert shown(agent.get("/console?status=any&sort=-priority").text) == [
        tid(ctx, high),
        tid(ctx, normal),
        tid(ctx, low),
    ]
    assert shown(agent.get("/console?status=any&sort=created").text) == [
        tid(ctx, low),
        tid(ctx, high),
        tid(ctx, normal),
    ]
    ctx.clock.advance(timedelta(minutes=5))
    cases.update_case(
        ctx.db, ctx.config, low.number, {"priority": "normal"}, actor=SETUP, now=ctx.clock.now()
    )
    assert shown(agent.get("/console?status=any&sort=-updated").text)[0] == tid(ctx, low)


def test_ticket_id_search_jumps_to_the_case(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Jump here")
    resp = agent.get(f"/console?q={tid(ctx, case).lower()}")
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/console/cases/{tid(ctx, case)}"
    # An unknown ticket ID is an ordinary (empty) search.
    assert agent.get("/console?q=CASE-999999").status_code == 200


def test_customer_email_search_lists_their_cases(agent: Browser, ctx: Any) -> None:
    pat = customers.CustomerInput(name="Pat Doe", email="pat@example.com")
    a = new_case(ctx, "First of Pat", customer=pat)
    new_case(ctx, "Someone else", customer=customers.CustomerInput(email="x@example.com"))
    b = new_case(ctx, "Second of Pat", customer=pat)
    page = agent.get("/console?q=PAT@example.com&sort=-created")
    assert shown(page.text) == [tid(ctx, b), tid(ctx, a)]
    assert "Cases of Pat Doe" in page.text
    customer_id = a.customer_id
    by_id = agent.get(f"/console?customer_id={customer_id}&sort=-created")
    assert shown(by_id.text) == [tid(ctx, b), tid(ctx, a)]


def test_saved_views_belong_to_their_user(browsers: Browsers, agent: Browser, ctx: Any) -> None:
    phone = new_case(ctx, "By phone", channel="phone")
    new_case(ctx, "By mail")
    resp = agent.post(
        "/console/views", {"name": "Phone calls", "query": "channel=phone&status=any&cursor=x"}
    )
    assert resp.status_code == 303
    target = resp.headers["location"]
    params = parse_qs(urlsplit(target).query)
    assert params["channel"] == ["phone"] and "cursor" not in params
    page = agent.get(target)
    assert shown(page.text) == [tid(ctx, phone)]
    assert "Phone calls" in page.text
    (view,) = saved_views.list_views(ctx.db, agent.user.id)
    assert agent.get(f"/console?view={view.id}").headers["location"] == target
    # Saving again under the same name replaces the filter.
    agent.post("/console/views", {"name": "Phone calls", "query": "channel=email"})
    assert [v.query for v in saved_views.list_views(ctx.db, agent.user.id)] == ["channel=email"]
    # Another agent neither sees nor deletes it.
    other = browsers.signed_in("agent")
    assert "Phone calls" not in other.get("/console").text
    assert other.get(f"/console?view={view.id}").status_code == 404
    assert other.post(f"/console/views/{view.id}/delete").status_code == 404
    assert agent.post(f"/console/views/{view.id}/delete").status_code == 303
    assert saved_views.list_views(ctx.db, agent.user.id) == []


def test_bulk_assign_and_priority_go_through_the_service(agent: Browser, ctx: Any) -> None:
    a, b = new_case(ctx, "A"), new_case(ctx, "B")
    resp = agent.post(
        "/console/bulk",
        {
            "case": [str(a.number), str(b.number)],
            "action": "assign",
            "assignee": "me",
            "back": "/console?status=any",
        },
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/console?status=any"
    for c in (a, b):
        assert cases.get_case(ctx.db, ctx.config, c.number).assignee_id == agent.user.id
    page = agent.get(resp.headers["location"])
    assert "Updated 2 cases." in page.text
    agent.post(
        "/console/bulk", {"case": [str(a.number)], "action": "priority", "priority": "urgent"}
    )
    assert cases.get_case(ctx.db, ctx.config, a.number).priority == 3
    # Every change is audited as the agent, from the console.
    events = agent.get(f"/console/cases/{tid(ctx, a)}").text
    assert "assigned the case to agent@example.com" in events
    assert "changed priority normal → urgent" in events


def test_bulk_transition_reports_what_failed_per_case(agent: Browser, ctx: Any) -> None:
    a, b = new_case(ctx, "A"), new_case(ctx, "B")
    cases.transition_case(
        ctx.db,
        ctx.config,
        b.number,
        "resolved",
        TransitionRequest(resolution="done"),
        actor=SETUP_LEAD,
        now=ctx.clock.now(),
    )
    resp = agent.post(
        "/console/bulk",
        {
            "case": [str(a.number), str(b.number)],
            "action": "transition",
            "to": "on_hold",
            "reason_code": "third_party",
            "reason": "waiting for the courier",
        },
    )
    assert resp.status_code == 303
    assert cases.get_case(ctx.db, ctx.config, a.number).status == "on_hold"
    assert cases.get_case(ctx.db, ctx.config, b.number).status == "resolved"
    page = agent.get("/console").text
    assert "Updated 1 case." in page
    assert f"1 not changed — {tid(ctx, b)}: The role &#39;agent&#39; may not move" in page


def test_bulk_without_selection_or_action_changes_nothing(agent: Browser, ctx: Any) -> None:
    a = new_case(ctx, "A")
    agent.post("/console/bulk", {"action": "assign", "assignee": "me"})
    assert "Select at least one case first." in agent.get("/console").text
    agent.post("/console/bulk", {"case": [str(a.number)], "action": "delete"})
    assert "Choose what to do" in agent.get("/console").text
    assert cases.get_case(ctx.db, ctx.config, a.number).assignee_id is None


def test_queue_offers_only_transitions_the_role_may_take(agent: Browser, ctx: Any) -> None:
    page = agent.get("/console").text
    bulk = page[page.index('id="bulk-to"') :]
    bulk = bulk[: bulk.index("</select>")]
    assert 'value="on_hold" data-requires="reason"' in bulk
    assert 'value="resolved" data-requires="resolution"' in bulk
    assert 'value="closed"' not in bulk  # agents may not close


def test_queue_page_costs_a_bounded_number_of_queries(agent: Browser, ctx: Any) -> None:
    """The first page runs a fixed handful of indexed statements however many cases exist:
    no COUNT over the cases table and no OFFSET."""
    for i in range(60):
        new_case(ctx, f"Bulk {i}")
    statements: list[str] = []
    offsets: list[Any] = []
    from sqlalchemy import event

    def log(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        statements.append(statement)
        if "OFFSET" in statement.upper():  # SQLite writes "LIMIT ? OFFSET ?" with offset 0
            offsets.append(params[-1] if isinstance(params, (tuple, list)) else params)

    engines = {ctx.db.engine, ctx.db.read_engine}
    for e in engines:
        event.listen(e, "before_cursor_execute", log)
    try:
        assert agent.get("/console").status_code == 200
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", log)
    assert len(statements) <= 15, statements
    joined = "\n".join(statements).upper()
    assert all(o == 0 for o in offsets), offsets
    assert not re.search(r"COUNT\(\*\)[^;]*FROM CASES", joined)


def test_sla_order_pages_through_running_then_the_rest(agent: Browser, ctx: Any) -> None:
    made = [new_case(ctx, f"Case {i}", priority="urgent" if i % 2 else "low") for i in range(56)]
    for c in made[:4]:
        cases.transition_case(
            ctx.db,
            ctx.config,
            c.number,
            "resolved",
            TransitionRequest(resolution="done"),
            actor=SETUP_LEAD,
            now=ctx.clock.now(),
        )
    seen: list[str] = []
    url = "/console?status=any"
    while url:
        page = agent.get(url).text
        seen += shown(page)
        nxt = re.search(r'id="next-page" href="([^"]+)"', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert len(seen) == len(set(seen)) == 56
    urgent = [tid(ctx, c) for c in made[4:] if c.priority == 3]
    assert seen[: len(urgent)] == urgent  # due soonest, in due order
    assert seen[-4:] == [tid(ctx, c) for c in reversed(made[:4])]  # no running clock


def test_sla_state_filter(agent: Browser, ctx: Any) -> None:
    late = new_case(ctx, "Will breach", priority="urgent")
    ctx.clock.advance(timedelta(hours=2))
    fresh = new_case(ctx, "Fresh", priority="urgent")
    breached = agent.get("/console?sla=breached")
    assert shown(breached.text) == [tid(ctx, late)]
    assert "sla sla-breached" in breached.text
    assert shown(agent.get("/console?sla=ok").text) == [tid(ctx, fresh)]
    assert shown(agent.get("/console?sla=warning").text) == []
