"""Logging a case by hand, including a phone call's details."""

from __future__ import annotations

from typing import Any

from casedesk.services import audit_queries, case_queries, cases, messages
from casedesk.services.console_features import lookup
from tests.ui.conftest import Browser

CALL = {
    "channel": "phone",
    "subject": "Cannot print invoices",
    "description": "Printing from the billing page fails since the update.",
    "priority": "high",
    "customer_name": "Pat Doe",
    "customer_email": "pat@example.com",
    "call_number": "+44 20 7946 0018",
    "call_direction": "inbound",
    "call_duration": "4:30",
    "call_notes": "Tried another browser, same error.",
    "tags": "billing, printing",
}


def test_form_defaults_to_a_phone_call_assigned_to_me(agent: Browser) -> None:
    page = agent.get("/console/cases/new")
    assert page.status_code == 200
    html = page.text
    assert '<option value="phone" selected>Phone call</option>' in html
    assert f'<option value="{agent.user.id}" selected>' in html
    assert 'name="call_number"' in html and 'name="call_duration"' in html
    other = agent.get("/console/cases/new?channel=console").text
    assert '<fieldset data-channel="phone" hidden>' in other


def test_phone_call_becomes_a_phone_case_with_its_call_log(agent: Browser, ctx: Any) -> None:
    resp = agent.post("/console/cases/new", {**CALL, "assignee": str(agent.user.id)})
    assert resp.status_code == 303, resp.text
    url = resp.headers["location"]
    assert url.startswith("/console/cases/CASE-")
    case = cases.get_case(ctx.db, ctx.config, url.rsplit("/", 1)[1])
    assert (case.channel, case.priority, case.subject) == ("phone", 2, "Cannot print invoices")
    assert case.tags == ["billing", "printing"] and case.assignee_id == agent.user.id
    assert case.customer.email == "pat@example.com"
    assert case.customer.phone == "+442079460018"  # the caller's number, in E.164
    if lookup("channels.phone", "log_call") is None:
        (note,) = messages.messages(ctx.db, case.number)
        assert (note.visibility, note.channel) == ("internal", "phone")
        assert note.body == (
            "Phone call (inbound) from +44 20 7946 0018\nDuration: 4m 30s\n\n"
            "Tried another browser, same error."
        )
    html = agent.get(url).text
    assert "Created " in html and 'data-kind="call"' in html
    events, _ = audit_queries.events(ctx.db, case_number=case.number)
    assert events[0].action == "case.created" and events[0].actor_label == "agent@example.com"


def test_outbound_call_without_details_and_a_console_case(agent: Browser, ctx: Any) -> None:
    resp = agent.post(
        "/console/cases/new",
        {
            "channel": "phone",
            "subject": "Called back",
            "call_direction": "outbound",
            "call_number": "+1 202 555 0100",
        },
    )
    assert resp.status_code == 303
    case = cases.get_case(ctx.db, ctx.config, resp.headers["location"].rsplit("/", 1)[1])
    if lookup("channels.phone", "log_call") is None:
        (note,) = messages.messages(ctx.db, case.number)
        assert note.body == "Phone call (outbound) to +1 202 555 0100"
    walk_in = agent.post(
        "/console/cases/new",
        {"channel": "console", "subject": "Walk-in", "call_number": "+1 202 555 0100"},
    )
    case = cases.get_case(ctx.db, ctx.config, walk_in.headers["location"].rsplit("/", 1)[1])
    assert case.channel == "console" and case.customer is None
    assert messages.messages(ctx.db, case.number) == []


def test_mistakes_are_shown_with_everything_typed_kept(agent: Browser, ctx: Any) -> None:
    for change, status, message in (
        ({"subject": " "}, 422, "a case needs a subject"),
        ({"call_number": "12"}, 422, "is not a"),
        ({"call_duration": "soon"}, 422, "is not a duration"),
        ({"customer_email": "not-an-email"}, 422, "is not an e-mail address"),
        ({"tags": "bad tag!"}, 422, "is not valid"),
        ({"channel": "fax"}, 422, "channel must be one of"),
    ):
        resp = agent.post("/console/cases/new", {**CALL, **change})
        assert resp.status_code == status, (change, resp.text[:500])
        assert message in resp.text, change
        assert 'value="Tried another browser, same error."' not in resp.text  # textarea body
        assert "Tried another browser, same error.</textarea>" in resp.text
    # Nothing was created by any of them.
    assert case_queries.list_cases(ctx.db, case_queries.CaseFilter()).items == []
