"""The admin pages: users and roles, teams, API tokens, configuration views, notifications,
dead letters, quarantine and the audit trail viewer with export."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from casedesk.config import parse_config
from casedesk.db.sla_tables import OutboxItem
from casedesk.services import audit, cases, users
from tests.conftest import SETUP
from tests.ui.conftest import PASSWORD, Browser, Browsers
from tests.ui.test_queue import INTAKE, new_case, tid


def test_overview_links_every_section(admin: Browser) -> None:
    html = admin.get("/admin").text
    for href in (
        "/admin/users",
        "/admin/teams",
        "/admin/tokens",
        "/admin/workflow",
        "/admin/sla",
        "/admin/notifications",
        "/admin/channels",
        "/admin/quarantine",
        "/admin/dead-letters",
        "/admin/audit",
    ):
        assert f'href="{href}"' in html, href


def test_create_user_then_they_can_sign_in(browsers: Browsers, admin: Browser, ctx: Any) -> None:
    users.create_team(ctx.db, name="Tier 2", actor=SETUP, now=ctx.clock.now())
    resp = admin.post(
        "/admin/users",
        {
            "email": "New.Agent@Example.com",
            "name": "Nia New",
            "role": "agent",
            "team": "Tier 2",
            "password": PASSWORD,
        },
    )
    assert resp.status_code == 303
    assert "Added new.agent@example.com (agent)." in admin.get("/admin/users").text
    created = users.get_user(ctx.db, "new.agent@example.com")
    assert created.team.name == "Tier 2"
    assert browsers.anonymous().login("new.agent@example.com").status_code == 303
    dup = admin.post(
        "/admin/users", {"email": "new.agent@example.com", "name": "Again", "role": "agent"}
    )
    assert dup.status_code == 409 and "already exists" in dup.text
    assert 'value="Again"' in dup.text  # the form is kept
    short = admin.post(
        "/admin/users",
        {"email": "x@example.com", "name": "X", "role": "agent", "password": "short"},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text


def test_role_team_deactivation_and_sessions(browsers: Browsers, admin: Browser, ctx: Any) -> None:
    agent = browsers.signed_in("agent", "worker@example.com")
    uid = agent.user.id
    users.create_team(ctx.db, name="Billing", actor=SETUP, now=ctx.clock.now())
    admin.post(f"/admin/users/{uid}", {"action": "role", "role": "lead"})
    assert users.get_user(ctx.db, uid).role == "lead"
    admin.post(f"/admin/users/{uid}", {"action": "team", "team": "Billing"})
    assert users.get_user(ctx.db, uid).team.name == "Billing"
    # The changed role applies to the live session at once.
    assert '<span class="role">lead</span>' in agent.get("/console").text
    admin.post(f"/admin/users/{uid}", {"action": "end_sessions"})
    assert agent.get("/console").status_code == 303
    agent.login("worker@example.com")
    assert agent.get("/console").status_code == 200
    admin.post(f"/admin/users/{uid}", {"action": "deactivate"})
    assert agent.get("/console").status_code == 303
    assert not users.get_user(ctx.db, uid).active
    assert "Deactivated" in admin.get("/admin/users").text
    admin.post(f"/admin/users/{uid}", {"action": "reactivate"})
    assert agent.login("worker@example.com").status_code == 303


def test_the_last_admin_cannot_lock_everyone_out(admin: Browser, ctx: Any) -> None:
    me = admin.user.id
    admin.post(f"/admin/users/{me}", {"action": "deactivate"})
    assert "last active admin" in admin.get("/admin/users").text
    admin.post(f"/admin/users/{me}", {"action": "role", "role": "agent"})
    assert users.get_user(ctx.db, me).role == "admin" and users.get_user(ctx.db, me).active


def test_teams(admin: Browser, ctx: Any) -> None:
    assert admin.post("/admin/teams", {"name": "Tier 2"}).status_code == 303
    admin.post("/admin/teams", {"name": "Tier 2"})
    html = admin.get("/admin/teams").text
    assert "already exists" in html and "<strong>Tier 2</strong>" in html
    assert [t.name for t in users.list_teams(ctx.db)] == ["Tier 2"]


def test_token_is_shown_once_then_revoked(admin: Browser, ctx: Any) -> None:
    other = users.create_user(
        ctx.db, email="bot@example.com", name="Bot", role="agent", actor=SETUP, now=ctx.clock.now()
    )
    resp = admin.post("/admin/tokens", {"user": str(other.id), "label": "crm-sync"})
    assert resp.status_code == 200
    token = re.search(r'<div class="secret">(cdk_[^<]+)</div>', resp.text).group(1)
    assert "shown <strong>once</strong>" in resp.text
    api = admin.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert api.json()["email"] == "bot@example.com"
    listing = admin.get("/admin/tokens").text
    assert token not in listing and token[:8] in listing and "crm-sync" in listing
    token_id = users.list_tokens(ctx.db, other.id)[0].id
    assert admin.post(f"/admin/tokens/{token_id}/revoke").status_code == 303
    assert "Revoked the token" in admin.get("/admin/tokens").text
    api = admin.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_workflow_page_shows_the_effective_lifecycle(admin: Browser) -> None:
    html = admin.get("/admin/workflow").text
    for text in (
        "In Progress",
        "on_hold",
        "awaiting_customer",
        "resolution",
        "reason",
        "admin, customer, lead, system",
        "CASE-000001",
    ):
        assert text in html, text


def test_sla_page_shows_built_in_or_configured_policies(admin: Browser, ctx: Any) -> None:
    html = admin.get("/admin/sla").text
    assert "built-in policies below apply" in html and "Built-in urgent" in html
    ctx.config = parse_config(
        """
        [[calendars]]
        id = "london"
        timezone = "Europe/London"
        hours = { mon-fri = ["09:00-17:30"] }

        [[sla.policies]]
        id = "gold"
        name = "Gold customers"
        when = { tags = ["gold"] }
        calendar = "london"
        targets = { first_response = "30m", resolution = "8h" }
        """
    )
    html = admin.get("/admin/sla").text
    assert "Gold customers" in html and "30m (london)" in html and "Europe/London" in html
    assert "built-in policies below apply" not in html


def test_notifications_page_and_send_test(admin: Browser, ctx: Any) -> None:
    html = admin.get("/admin/notifications").text
    assert "No destination is configured" in html
    admin.post("/admin/notifications/test", {"destination": "nope"})
    assert "No destination &#39;nope&#39; in the config." in admin.get("/admin/notifications").text
    ctx.config = parse_config(
        """
        [[notify.destinations]]
        id = "slack-support"
        kind = "slack"
        webhook_url_env = "CASEDESK_TEST_UNSET_WEBHOOK"

        [[notify.routes]]
        events = ["case.created"]
        to = ["slack-support"]
        """
    )
    html = admin.get("/admin/notifications").text
    assert "slack-support" in html and "CASEDESK_TEST_UNSET_WEBHOOK" in html
    admin.post("/admin/notifications/test", {"destination": "slack-support"})
    flashed = admin.get("/admin/notifications").text
    assert "Test to slack-support failed" in flashed  # the variable is not set here


def test_dead_letters_listed_and_retried(admin: Browser, ctx: Any) -> None:
    case = new_case(ctx, "Escalated")
    now = ctx.clock.now()
    with ctx.db.write() as s:
        nid = s.scalar(
            insert(OutboxItem)
            .values(
                dedupe_key="k1",
                event="sla.breached",
                case_number=case.number,
                destination="slack-support",
                kind="slack",
                payload={},
                status="dead",
                attempts=8,
                last_error="HTTP 500 from the receiver",
                created_at=now,
                updated_at=now,
                dead_at=now,
            )
            .returning(OutboxItem.id)
        )
    html = admin.get("/admin/dead-letters").text
    assert "HTTP 500 from the receiver" in html and tid(ctx, case) in html
    assert admin.post(f"/admin/dead-letters/{nid}/retry").status_code == 303
    assert f"Notification {nid} is queued again." in admin.get("/admin/dead-letters").text
    admin.post(f"/admin/dead-letters/{nid}/retry")
    assert "not a dead letter" in admin.get("/admin/dead-letters").text


def test_quarantine_and_channels_pages_degrade_gracefully(admin: Browser) -> None:
    assert admin.get("/admin/quarantine").status_code == 200
    html = admin.get("/admin/channels").text
    assert "E-mail" in html and "Phone" in html


def test_audit_viewer_filters_pages_and_exports(admin: Browser, ctx: Any) -> None:
    made = [new_case(ctx, f"Audit {i}") for i in range(3)]
    ctx.clock.advance(timedelta(hours=6))  # (within the admin's idle timeout)
    cases.update_case(
        ctx.db, ctx.config, made[0].number, {"priority": "high"}, actor=INTAKE, now=ctx.clock.now()
    )
    html = admin.get("/admin/audit").text
    ids = [int(i) for i in re.findall(r'<td class="mono faint">(\d+)</td>', html)]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 5
    one = admin.get(f"/admin/audit?case={tid(ctx, made[0])}").text
    assert re.findall(r'<td class="mono">(case\.[a-z_]+)</td>', one) == [
        "case.updated",
        "case.created",
    ]
    updated = admin.get("/admin/audit?action=case.updated").text
    assert len(re.findall(r'<td class="mono">case\.updated</td>', updated)) == 1
    bad = admin.get("/admin/audit?since=yesterday")
    assert bad.status_code == 200 and "is not a date" in bad.text

    jsonl = admin.get("/admin/audit/export?format=jsonl")
    assert jsonl.status_code == 200
    assert jsonl.headers["content-disposition"].startswith("attachment; filename=")
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) == len(list(audit.export_rows(ctx.db)))
    assert not audit.verify_export(iter(jsonl.text.splitlines()))
    since = (ctx.clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    recent = admin.get(f"/admin/audit/export?format=csv&since={since}")
    table = list(csv.DictReader(io.StringIO(recent.text)))
    assert [r["action"] for r in table] == ["case.updated"]
    assert admin.get("/admin/audit/export?format=xml").status_code == 422


def test_audit_export_streams_large_trails_with_one_header(admin: Browser, ctx: Any) -> None:
    from casedesk.web.ui import admin_ops

    rows = list(audit.export_rows(ctx.db))
    for _ in range(3):
        new_case(ctx, "More")
    rows = list(audit.export_rows(ctx.db))
    chunks = list(admin_ops._stream(iter(rows), "csv", batch=2))
    assert len(chunks) >= 2
    text = "".join(chunks)
    assert text.count("id,scope,seq") == 1
    assert len(list(csv.DictReader(io.StringIO(text)))) == len(rows)


def test_verify_button_reports_an_intact_chain(admin: Browser, ctx: Any) -> None:
    new_case(ctx, "Sealed")
    assert admin.post("/admin/audit/verify").status_code == 303
    assert "Audit trail intact" in admin.get("/admin/audit").text
