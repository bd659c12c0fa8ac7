"""Stored XSS: whatever customers (or anyone) typed renders inert on every page."""

from __future__ import annotations

import re
from typing import Any

from casedesk.config import AppConfig, CasesConfig, FieldDefinition
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, customers, saved_views, users
from casedesk.services.messages import NewAttachment, NewMessage
from tests.conftest import SETUP
from tests.ui.conftest import Browser, Browsers
from tests.ui.test_queue import INTAKE, SETUP_LEAD, tid

SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'
PAYLOAD = f"{SCRIPT}{IMG}\"'><svg onload=alert(2)>"
RAW = ("<script>alert", "<img src=x", "<svg onload", 'onerror="alert', "javascript:alert")

CONFIG = AppConfig(
    cases=CasesConfig(fields=[FieldDefinition(id="serial", name="Serial number", type="text")])
)


def assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: {raw!r} rendered as markup"


def test_customer_text_is_inert_in_queue_case_page_and_fragments(
    browsers: Browsers, ctx: Any
) -> None:
    ctx.config = CONFIG
    agent = browsers.signed_in("agent")
    customer = customers.CustomerInput(name=f"Pat {PAYLOAD}", email="pat@example.com")
    case = cases.create_case(
        ctx.db,
        ctx.config,
        cases.NewCase(
            subject=f"Help {PAYLOAD}",
            description=f"Desc {PAYLOAD}",
            channel="email",
            customer=customer,
            category=f"cat {PAYLOAD}",
            custom_fields={"serial": f"S {PAYLOAD}"},
        ),
        actor=INTAKE,
        now=ctx.clock.now(),
    )
    cases.add_message(
        ctx.db,
        ctx.config,
        case.number,
        message=NewMessage(
            body=f"plain {PAYLOAD}",
            html=f'<p>Hello <b>bold</b></p>{SCRIPT}<a href="javascript:alert(3)">x</a>{IMG}',
            attachments=[NewAttachment(f"f{IMG}.txt", "text/html", b"x", 1)],
        ),
        actor=INTAKE,
        now=ctx.clock.now(),
    )
    cases.transition_case(
        ctx.db,
        ctx.config,
        case.number,
        "on_hold",
        TransitionRequest("third_party", f"waiting {PAYLOAD}"),
        actor=SETUP_LEAD,
        now=ctx.clock.now(),
    )
    page = f"/console/cases/{tid(ctx, case)}"
    for url in ("/console", "/console?status=any&q=Help", page, f"{page}/live?v=0&s=open"):
        resp = agent.get(url)
        assert resp.status_code == 200, url
        assert_inert(resp.text, url)
    html = agent.get(page).text
    # Escaped, so the text reads as typed.
    assert "Help &lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html
    assert "waiting &lt;script&gt;" in html
    # Sanitised HTML keeps harmless formatting only.
    assert "<p>Hello <b>bold</b></p>" in html
    assert re.search(r'<a rel="noopener noreferrer nofollow">x</a>|<a>x</a>', html)


def test_typed_values_that_come_back_in_errors_and_flashes_are_inert(
    agent: Browser, ctx: Any
) -> None:
    resp = agent.post(
        "/console/cases/new", {"channel": "console", "subject": "x", "tags": f"bad{SCRIPT}"}
    )
    assert resp.status_code == 422
    assert_inert(resp.text, "new case error")
    agent.post("/console/views", {"name": f"view {PAYLOAD}", "query": f"q={PAYLOAD}"})
    listing = agent.get("/console?status=any")
    assert_inert(listing.text, "queue with saved view and flash")
    assert_inert(agent.get(f"/console?q={PAYLOAD}&tag={PAYLOAD}").text, "reflected filters")
    view = saved_views.list_views(ctx.db, agent.user.id)[0]
    assert_inert(agent.get(f"/console?view={view.id}", follow_redirects=True).text, "view")


def test_admin_pages_escape_names_labels_and_audit_data(browsers: Browsers, ctx: Any) -> None:
    admin = browsers.signed_in("admin")
    now = ctx.clock.now()
    users.create_team(ctx.db, name=f"Team {PAYLOAD}"[:100], actor=SETUP, now=now)
    user = users.create_user(
        ctx.db, email="evil@example.com", name=f"Eve {PAYLOAD}", role="agent", actor=SETUP, now=now
    )
    users.create_token(ctx.db, user_id=user.id, label=f"lbl {PAYLOAD}"[:100], actor=SETUP, now=now)
    cases.create_case(ctx.db, ctx.config, cases.NewCase(subject=PAYLOAD), actor=INTAKE, now=now)
    for url in (
        "/admin",
        "/admin/users",
        "/admin/teams",
        "/admin/tokens",
        "/admin/audit",
        "/admin/audit?action=case.created",
        f"/admin/audit?actor={PAYLOAD}",
    ):
        resp = admin.get(url)
        assert resp.status_code == 200, url
        assert_inert(resp.text, url)
    assert "Eve &lt;script&gt;" in admin.get("/admin/users").text
