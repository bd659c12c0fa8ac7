"""The case page: facts, timeline, replies and notes with attachments, transitions limited to
what the workflow allows the role, field edits that never revert others' changes, live
updates and attachment downloads."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import audit_queries, cases, customers, messages
from tests.conftest import SETUP
from tests.ui.conftest import Browser, Browsers
from tests.ui.test_queue import INTAKE, SETUP_LEAD, new_case, tid


def url_of(ctx: Any, case: Any) -> str:
    return f"/console/cases/{tid(ctx, case)}"


def transition_buttons(html: str) -> list[str]:
    return re.findall(r'data-transition="([a-z_]+)"', html)


def test_case_page_shows_the_case_customer_and_other_cases(agent: Browser, ctx: Any) -> None:
    pat = customers.CustomerInput(name="Pat Doe", email="pat@example.com", phone="+442079460018")
    older = new_case(ctx, "Earlier problem", customer=pat)
    case = new_case(
        ctx,
        "Printer jams",
        customer=pat,
        description="Paper jam on tray 2\nSince Monday",
        tags=["hardware"],
        priority="high",
    )
    page = agent.get(url_of(ctx, case))
    assert page.status_code == 200
    html = page.text
    for expected in (
        tid(ctx, case),
        "Printer jams",
        "Paper jam on tray 2\nSince Monday",
        "Pat Doe",
        "pat@example.com",
        "+442079460018",
        "hardware",
        "prio-high",
        "Earlier problem",
        f"/console/cases/{tid(ctx, older)}",
        "created the case via email",
    ):
        assert expected in html, expected
    # The page polls a small fragment for changes.
    assert f'hx-get="{url_of(ctx, case)}/live?v=' in html and 'hx-trigger="every 5s"' in html
    # Any spelling of the ticket ID leads to the canonical page.
    low = agent.get(f"/console/cases/{tid(ctx, case).lower()}")
    assert low.status_code == 307 and low.headers["location"] == url_of(ctx, case)
    missing = agent.get("/console/cases/CASE-999999")
    assert missing.status_code == 404 and "no case CASE-999999" in missing.text


def test_reply_and_internal_note_appear_in_order_with_events(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Question")
    r1 = agent.post(f"{url_of(ctx, case)}/messages", {"body": "Hello Pat", "visibility": "public"})
    assert r1.status_code == 303 and r1.headers["location"] == f"{url_of(ctx, case)}#latest"
    ctx.clock.advance(timedelta(minutes=1))
    agent.post(
        f"{url_of(ctx, case)}/messages", {"body": "Customer sounds upset", "visibility": "internal"}
    )
    html = agent.get(url_of(ctx, case)).text
    assert "Reply sent." in html and "Note added." in html  # flashed once, after redirects
    assert "Reply sent." not in agent.get(url_of(ctx, case)).text
    kinds = re.findall(r'data-kind="([a-z]+)"', html)
    assert kinds == ["public", "internal"]
    assert (
        html.index("created the case via email")
        < html.index("Hello Pat")
        < html.index("Customer sounds upset")
    )
    stored = messages.messages(ctx.db, case.number)
    assert [(m.visibility, m.author_name) for m in stored] == [
        ("public", "agent@example.com"),
        ("internal", "agent@example.com"),
    ]
    # The first public reply is the first response.
    assert cases.get_case(ctx.db, ctx.config, case.number).first_response_at is not None


def test_empty_message_is_refused_with_the_form_kept(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Q")
    resp = agent.post(f"{url_of(ctx, case)}/messages", {"body": "  ", "visibility": "internal"})
    assert resp.status_code == 422
    assert "a message needs a body" in resp.text
    assert 'id="mode-internal" value="internal" checked' in resp.text


def test_attachments_upload_and_download_as_files(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Logs attached")
    resp = agent.client.post(
        f"{url_of(ctx, case)}/messages",
        data={"body": "Here are the logs", "visibility": "internal", "csrf_token": agent.csrf},
        files=[
            ("files", ("server.log", b"line 1\nline 2\n", "text/plain")),
            ("files", ("evil.html", b"<script>alert(1)</script>", "text/html")),
        ],
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    html = agent.get(url_of(ctx, case)).text
    links = re.findall(r'href="(/console/attachments/\d+)" download>📎 ([^<]+)</a>', html)
    assert [name for _, name in links] == ["server.log", "evil.html"]
    log = agent.get(links[0][0])
    assert log.status_code == 200 and log.content == b"line 1\nline 2\n"
    assert log.headers["content-disposition"].startswith('attachment; filename="server.log"')
    evil = agent.get(links[1][0])
    # Never rendered by the browser: a download of octet-stream in a sandbox.
    assert evil.headers["content-type"] == "application/octet-stream"
    assert "sandbox" in evil.headers["content-security-policy"]
    assert agent.get("/console/attachments/999999").status_code == 404


def test_agent_sees_only_allowed_transitions_and_gives_reason_and_resolution(
    agent: Browser, ctx: Any
) -> None:
    case = new_case(ctx, "Flow")
    page = url_of(ctx, case)
    assert transition_buttons(agent.get(page).text) == ["in_progress", "on_hold", "resolved"]
    assert agent.post(f"{page}/transition", {"to": "in_progress"}).status_code == 303
    assert transition_buttons(agent.get(page).text) == ["on_hold", "resolved"]

    # On Hold without a reason text is refused and the choice is kept in the open form.
    refused = agent.post(
        f"{page}/transition", {"to": "on_hold", "reason_code": "third_party", "reason": ""}
    )
    assert refused.status_code == 422
    assert "needs a reason" in refused.text
    assert '<details class="transition-form" open>' in refused.text
    assert '<option value="third_party" selected>' in refused.text
    ok = agent.post(
        f"{page}/transition",
        {
            "to": "on_hold",
            "reason_code": "awaiting_customer",
            "reason": "Asked for the serial number",
        },
    )
    assert ok.status_code == 303
    html = agent.get(page).text
    assert "On hold — awaiting customer: Asked for the serial number" in html
    assert transition_buttons(html) == ["in_progress", "resolved"]

    agent.post(f"{page}/transition", {"to": "in_progress"})
    missing = agent.post(f"{page}/transition", {"to": "resolved", "resolution": " "})
    assert missing.status_code == 422 and "needs a resolution note" in missing.text
    agent.post(f"{page}/transition", {"to": "resolved", "resolution": "Replaced the fuser"})
    html = agent.get(page).text
    assert "Resolution: Replaced the fuser" in html
    assert transition_buttons(html) == ["in_progress"]  # an agent may reopen, never close
    forbidden = agent.post(f"{page}/transition", {"to": "closed"})
    assert forbidden.status_code == 409 and "may not move a case" in forbidden.text
    assert cases.get_case(ctx.db, ctx.config, case.number).status == "resolved"


def test_lead_closes_a_resolved_case_and_the_trail_shows_every_step(
    browsers: Browsers, agent: Browser, ctx: Any
) -> None:
    case = new_case(ctx, "Trail")
    page = url_of(ctx, case)
    agent.post(f"{page}/transition", {"to": "in_progress"})
    agent.post(f"{page}/transition", {"to": "resolved", "resolution": "Fixed"})
    lead = browsers.signed_in("lead", "lead@example.com")
    assert transition_buttons(lead.get(page).text) == ["closed", "in_progress"]
    assert lead.post(f"{page}/transition", {"to": "closed"}).status_code == 303
    html = lead.get(page).text
    assert 'class="badge cat-closed">Closed' in html
    assert transition_buttons(html) == []
    steps = re.findall(r"moved the case from ([A-Za-z ]+) to ([A-Za-z ]+?)(?: —|</span>)", html)
    assert steps == [("Open", "In Progress"), ("In Progress", "Resolved"), ("Resolved", "Closed")]
    events, _ = audit_queries.events(ctx.db, case_number=case.number)
    actors = [(e.action, e.actor_label, e.origin) for e in events]
    assert ("case.status_changed", "lead@example.com", "console") in actors


def test_fields_save_only_what_was_changed(browsers: Browsers, agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Fields")
    page = url_of(ctx, case)
    html = agent.get(page).text
    form = dict(re.findall(r'<input type="hidden" name="(orig_[a-z_]+)" value="([^"]*)"', html))
    # Meanwhile a colleague raises the priority.
    cases.update_case(
        ctx.db, ctx.config, case.number, {"priority": "urgent"}, actor=SETUP, now=ctx.clock.now()
    )
    # The agent's form still says "normal", but they only add tags and take the case.
    resp = agent.post(
        f"{page}/fields",
        {
            **form,
            "priority": "normal",
            "assignee": str(agent.user.id),
            "team": "",
            "category": "",
            "tags": "printer, VIP",
        },
    )
    assert resp.status_code == 303
    saved = cases.get_case(ctx.db, ctx.config, case.number)
    assert saved.priority == 3  # the colleague's change stands
    assert saved.tags == ["printer", "vip"] and saved.assignee_id == agent.user.id
    again = agent.post(
        f"{page}/fields",
        {
            "orig_tags": "printer, vip",
            "tags": "printer, vip",
        },
    )
    assert again.status_code == 303
    assert "Nothing to save" in agent.get(page).text
    bad = agent.post(f"{page}/fields", {"orig_tags": "", "tags": "not a valid tag!"})
    assert bad.status_code == 422 and "is not valid" in bad.text


def test_take_assigns_to_me(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Take me")
    assert agent.post(f"{url_of(ctx, case)}/take").status_code == 303
    assert cases.get_case(ctx.db, ctx.config, case.number).assignee_id == agent.user.id
    assert "Assign to me" not in agent.get(url_of(ctx, case)).text


def test_live_fragment_is_empty_until_the_case_changes(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Live")
    html = agent.get(url_of(ctx, case)).text
    live = re.search(r'hx-get="([^"]+/live\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert agent.get(live).status_code == 204
    # The customer writes in through a channel: the next poll brings the new timeline.
    cases.add_message(
        ctx.db, ctx.config, case.number, body="Any news?", actor=INTAKE, now=ctx.clock.now()
    )
    changed = agent.get(live)
    assert changed.status_code == 200
    assert 'id="timeline"' in changed.text and 'hx-swap-oob="true"' in changed.text
    assert "Any news?" in changed.text
    assert 'id="case-actions"' not in changed.text  # same status: the buttons stay as they are
    newer = re.search(r'hx-get="([^"]+/live\?[^"]+)"', changed.text).group(1).replace("&amp;", "&")
    assert agent.get(newer).status_code == 204
    cases.transition_case(
        ctx.db,
        ctx.config,
        case.number,
        "in_progress",
        TransitionRequest(),
        actor=SETUP_LEAD,
        now=ctx.clock.now(),
    )
    moved = agent.get(newer)
    assert 'id="case-actions"' in moved.text and "In Progress" in moved.text


def test_sla_timers_show_on_the_case(agent: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Timed", priority="urgent")
    html = agent.get(url_of(ctx, case)).text
    timers = html[html.index('id="sla-timers"') :]
    timers = timers[: timers.index("</div>")]
    assert "First response" in timers and "Resolution" in timers
    assert 'data-countdown="2026-01-05T10:00:00Z"' in timers  # urgent: first response in 1h
    ctx.clock.advance(timedelta(hours=2))
    assert "sla-breached" in agent.get(url_of(ctx, case)).text
