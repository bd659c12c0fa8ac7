"""The admin API of notifications: dead letters and their retry, a test send, the summary."""

from __future__ import annotations

from casedesk.services import outbox
from tests.conftest import Api
from tests.notify.conftest import Receiver
from tests.outbox.conftest import Mailbox, open_case


def test_dead_letters_are_listed_and_retried_by_admins(api: Api, slack_rx: Receiver) -> None:
    admin = api.as_role("admin")
    slack_rx.reply(410, "gone")
    case = open_case(api.ctx)
    outbox.deliver_due(api.ctx)
    assert api.get("/api/v1/notifications/dead-letters").status_code == 403
    page = admin.get("/api/v1/notifications/dead-letters").json()
    (dead,) = page["items"]
    assert dead["case_id"] == f"CASE-{case.number:06d}"
    assert (dead["destination"], dead["status"], dead["attempts"]) == ("slack-support", "dead", 1)
    assert "HTTP 410" in dead["last_error"]
    assert page["next_cursor"] is None

    retried = admin.post(f"/api/v1/notifications/dead-letters/{dead['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert admin.post(f"/api/v1/notifications/dead-letters/{dead['id']}/retry").status_code == 409
    assert admin.post("/api/v1/notifications/dead-letters/999/retry").status_code == 404
    outbox.deliver_due(api.ctx)
    assert admin.get("/api/v1/notifications/dead-letters").json()["items"] == []
    summary = admin.get("/api/v1/notifications/summary").json()
    assert summary["counts"] == {"pending": 0, "delivered": 2, "dead": 0}
    assert {"id": "slack-support", "kind": "slack"} in summary["destinations"]
    # the retry shows in the case's trail (in a chain of its own: the case is not locked)
    events = admin.get(f"/api/v1/cases/CASE-{case.number:06d}/events").json()["items"]
    (retry_event,) = [e for e in events if e["action"] == "notification.retried"]
    assert retry_event["scope"] == f"notification:{dead['id']}"
    assert retry_event["actor_kind"] == "user" and retry_event["data"]["attempts"] == 1


def test_test_send_reports_the_receivers_answer(api: Api, teams_rx: Receiver) -> None:
    admin = api.as_role("admin")
    ok = admin.post("/api/v1/notifications/test", json={"destination": "teams-leads"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"destination": "teams-leads", "ok": True, "status": 200, "error": None}
    assert teams_rx.requests[0].json["attachments"][0]["content"]["type"] == "AdaptiveCard"
    teams_rx.reply(403, "forbidden")
    bad = admin.post("/api/v1/notifications/test", json={"destination": "teams-leads"}).json()
    assert bad["ok"] is False and "HTTP 403" in bad["error"]
    unknown = admin.post("/api/v1/notifications/test", json={"destination": "pagerduty"})
    assert unknown.status_code == 422 and "slack-support" in unknown.json()["detail"]
    assert api.post("/api/v1/notifications/test", json={"destination": "x"}).status_code == 403


def test_test_send_to_an_email_destination(api: Api, mailbox: Mailbox) -> None:
    admin = api.as_role("admin")
    result = admin.post(
        "/api/v1/notifications/test",
        json={"destination": "leads-mail", "to": ["me@example.com"]},
    ).json()
    assert result["ok"] is True
    ((rcpts, message),) = mailbox.messages
    assert rcpts == ["me@example.com"] and "Test notification" in message["Subject"]
