"""A new agent's working day in real Chromium against a real ``casedesk serve``: sign in, log
a phone call as a case, move it through In Progress, On Hold (with a reason) and back, reply,
resolve it with a note; a lead closes it (or the customer accepts it in the portal once the
portal exists); the case shows Closed with its whole audit trail. Screenshots of the main
pages go to ``docs/screenshots/`` under ``make screenshots``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, screenshot, sign_in

SEED = [
    (
        "Refund not received for order #4471",
        "email",
        "high",
        "billing",
        ("Maria Lopez", "maria.lopez@example.com"),
        ["refund"],
    ),
    (
        "Chat: cannot reset my password",
        "chat",
        "normal",
        "account",
        ("Tom Becker", "tom.becker@example.org"),
        [],
    ),
    (
        "Printer driver crashes on Windows 11",
        "portal",
        "normal",
        "hardware",
        ("Aiko Tanaka", "aiko@example.jp"),
        ["windows"],
    ),
    (
        "Site checkout returns error 502",
        "email",
        "urgent",
        "billing",
        ("Ops Bot", "alerts@shop.example.com"),
        ["outage", "vip"],
    ),
    (
        "Parcel stuck in customs since Monday",
        "email",
        "low",
        "shipping",
        ("Jonas Berg", "jonas.berg@example.se"),
        [],
    ),
    (
        "Invoice shows the wrong VAT number",
        "portal",
        "normal",
        "billing",
        ("Chloé Martin", "chloe.martin@example.fr"),
        ["invoice"],
    ),
    (
        "Cannot add a second admin user",
        "api",
        "high",
        "account",
        ("Sam Okafor", "sam@okafor.example"),
        [],
    ),
]


@pytest.fixture(scope="module")
def staff(server: Server) -> dict[str, str]:
    """An agent and a lead made with the CLI, a team, and a queue of realistic cases."""
    server.add_user("alex.agent@example.com", "Alex Agent", "agent")
    server.add_user("lee.lead@example.com", "Lee Lead", "lead")
    with server.api(server.admin_email) as api:
        assert api.post("/api/v1/teams", json={"name": "Tier 1"}).status_code == 201
        assert api.post("/api/v1/teams", json={"name": "Tier 2"}).status_code == 201
    with server.api("alex.agent@example.com") as api:
        for i, (subject, channel, priority, category, (name, email), tags) in enumerate(SEED):
            body = {
                "subject": subject,
                "description": f"{subject}. Reported by {name}.",
                "channel": channel,
                "priority": priority,
                "category": category,
                "tags": tags,
                "customer": {"name": name, "email": email},
                "team": "Tier 1" if i % 2 else "Tier 2",
            }
            if i % 3 == 0:
                body["assignee"] = "alex.agent@example.com"
            resp = api.post("/api/v1/cases", json=body)
            assert resp.status_code == 201, resp.text
        first = api.get("/api/v1/cases?limit=1&sort=created").json()["items"][0]["id"]
        api.post(f"/api/v1/cases/{first}/transitions", json={"to": "in_progress"})
        api.post(
            f"/api/v1/cases/{first}/messages",
            json={
                "body": "Hi Maria, I have asked our payments team to trace the refund.",
                "visibility": "public",
            },
        )
    return {"agent": "alex.agent@example.com", "lead": "lee.lead@example.com"}


def portal_exists(server: Server) -> bool:
    return httpx.get(f"{server.url}/portal", timeout=10).status_code != 404


def status_of(page: Any) -> str:
    return page.locator("#case-status").inner_text().strip()


def move(page: Any, target: str) -> None:
    page.click(f"button[data-transition={target}]")
    page.wait_for_load_state("load")


def test_agent_journey_from_phone_call_to_closed(
    server: Server, staff: dict[str, str], new_page: Any
) -> None:
    page = new_page()
    # Sign in: an anonymous visit lands on the login page.
    page.goto(f"{server.url}/console")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console"))
    screenshot(page, "login")
    page.fill("#email", staff["agent"])
    page.fill("#password", "wrong password!")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".alert")).to_contain_text("do not match an active account")
    sign_in(page, server, staff["agent"])
    expect(page.locator("#queue-results h1")).to_have_text("All open cases")
    expect(page.locator("table.queue tbody tr")).to_have_count(len(SEED))
    screenshot(page, "queue")

    # Log a phone call.
    page.click("nav.topnav >> text=New case")
    expect(page.locator("h1")).to_have_text("New case")
    expect(page.locator("#n-channel")).to_have_value("phone")
    page.fill("#n-call-number", "+44 20 7946 0018")
    page.select_option("#n-call-direction", "inbound")
    page.fill("#n-call-duration", "6:40")
    page.fill("#n-call-notes", "Customer called from the shop floor; card terminal shows E-117.")
    page.fill("#n-cust-name", "Priya Shah")
    page.fill("#n-cust-email", "priya.shah@example.co.uk")
    page.fill("#n-subject", "Card terminal rejects every payment (E-117)")
    page.fill("#n-description", "Since this morning the terminal at till 2 rejects all cards.")
    page.select_option("#n-priority", "high")
    page.select_option("#n-category", "hardware")
    page.fill("#n-tags", "terminal, store-12")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "new-case")
    page.click("#new-case button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/cases/CASE-\d{6}$"))
    case_url = page.url
    ticket = case_url.rsplit("/", 1)[1]
    expect(page.locator(".flash")).to_contain_text(f"Created {ticket}.")
    expect(page.locator("#case-header h1")).to_have_text(
        "Card terminal rejects every payment (E-117)"
    )
    assert status_of(page) == "Open"
    call = page.locator(".entry.call")
    expect(call).to_contain_text("Phone call (inbound)")
    expect(call).to_contain_text("card terminal shows E-117")
    expect(page.locator("#customer-card")).to_contain_text("+442079460018")
    expect(page.locator("#sla-timers")).to_contain_text("First response")

    # In Progress, then On Hold with a reason, then back.
    move(page, "in_progress")
    assert status_of(page) == "In Progress"
    page.click("summary[data-transition=on_hold]")
    page.select_option("#reason-code-on_hold", "third_party")
    page.fill("#reason-on_hold", "Waiting for the terminal vendor to push a firmware fix")
    screenshot(page, "case-on-hold-form")
    page.click("#case-actions details[open] button[type=submit]")
    page.wait_for_load_state("load")
    assert status_of(page) == "On Hold"
    expect(page.locator("#case-header .alert")).to_contain_text(
        "third party: Waiting for the terminal vendor"
    )
    move(page, "in_progress")
    assert status_of(page) == "In Progress"

    # A public reply through the keyboard shortcut, and an internal note.
    page.locator("body").click(position={"x": 5, "y": 700})
    page.keyboard.press("r")
    expect(page.locator("#composer-body")).to_be_focused()
    page.keyboard.type("Hi Priya, the vendor has released a fix; please restart the terminal.")
    page.click("button.only-public")
    expect(page.locator(".flash")).to_contain_text("Reply sent.")
    # A saved response fills the composer (placeholders filled) and switches to a note.
    page.select_option("#composer-responses", "vendor")
    expect(page.locator("#composer-body")).to_have_value(
        re.compile(r"^Vendor ticket opened for CASE-\d+: VT-88213\.$")
    )
    expect(page.locator("#mode-internal")).to_be_checked()
    page.click("button.only-internal")
    expect(page.locator(".entry.internal")).to_contain_text("VT-88213.")

    # Resolved with a note; an agent is not offered Closed.
    page.click("summary[data-transition=resolved]")
    page.fill("#resolution-resolved", "Firmware 4.2.1 installed; payments go through again.")
    page.click("#case-actions details[open] button[type=submit]")
    page.wait_for_load_state("load")
    assert status_of(page) == "Resolved"
    expect(page.locator("button[data-transition=closed]")).to_have_count(0)
    screenshot(page, "case", full_page=True)

    # The customer accepts in the portal when it exists; otherwise a lead closes the case.
    # Either way the agent's open page shows it without a reload.
    accepted = portal_exists(server) and accept_in_portal(server, ticket, new_page())
    if not accepted:
        lead = new_page()
        sign_in(lead, server, staff["lead"])
        lead.goto(case_url)
        move(lead, "closed")
        assert status_of(lead) == "Closed"
    expect(page.locator("#case-status")).to_have_text("Closed", timeout=20_000)

    # The full trail, in order, on the case page and in the admin audit viewer.
    page.reload()
    timeline = page.locator("#timeline").inner_text()
    steps = [
        "created the case via phone",
        "moved the case from Open to In Progress",
        "moved the case from In Progress to On Hold — third party: Waiting for the terminal",
        "moved the case from On Hold to In Progress",
        "Hi Priya, the vendor has released a fix",
        "Vendor ticket opened for CASE-",
        "moved the case from In Progress to Resolved — resolution: Firmware 4.2.1",
        "moved the case from Resolved to Closed",
    ]
    closer = "priya.shah@example.co.uk" if accepted else staff["lead"]
    assert f"{closer} moved the case from Resolved to Closed" in timeline
    positions = [timeline.find(step) for step in steps]
    assert all(p >= 0 for p in positions), list(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
    screenshot(page, "case-closed")

    admin = new_page()
    sign_in(admin, server, server.admin_email, server.admin_password)
    admin.goto(f"{server.url}/admin/audit?case={ticket}")
    rows = admin.locator("#audit-events tbody tr")
    expect(rows.first).to_contain_text("case.status_changed")
    actions = [
        a.strip() for a in admin.locator("#audit-events tbody td:nth-child(3)").all_inner_texts()
    ]
    assert actions.count("case.status_changed") == 5 and actions[-1] == "case.created"
    screenshot(admin, "admin-audit")


def accept_in_portal(server: Server, ticket: str, page: Any) -> bool:
    """The customer accepts the resolution in the portal: they have set a password (done here
    the way the portal's account page does it), sign in and press "Yes, close my request".
    False when this build has no portal sign-in by password."""
    try:
        from casedesk.channels import portal
    except ImportError:
        return False
    from casedesk.clock import SystemClock
    from casedesk.db.session import Database

    with server.api(server.admin_email) as api:
        customer_id = api.get(f"/api/v1/cases/{ticket}").json()["customer"]["id"]
    db = Database(server.env["CASEDESK_DATABASE_URL"], pool_size=1)
    try:
        record = portal.customer_by_id(db, customer_id)
        assert record is not None
        portal.set_password(db, record, "customer-password-1", now=SystemClock().now())
    finally:
        db.dispose()
    page.goto(f"{server.url}/portal/cases/{ticket}")
    page.click("summary:has-text('Sign in with a password')")
    page.fill("#pw-email", "priya.shah@example.co.uk")
    page.fill("#pw-password", "customer-password-1")
    page.click("#password-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/portal/cases/{ticket}$"))
    expect(page.locator("body")).to_contain_text("Firmware 4.2.1 installed")
    screenshot(page, "portal-accept")
    page.click("#accept")
    page.wait_for_load_state("load")
    return True


def test_keyboard_moves_through_the_queue_and_search_jumps(
    server: Server, staff: dict[str, str], new_page: Any
) -> None:
    page = new_page()
    sign_in(page, server, staff["agent"])
    rows = page.locator("table.queue tbody tr")
    expect(rows.first).to_have_class(re.compile("current"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("current"))
    expected = rows.nth(1).get_attribute("data-href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(expected) + "$"))
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(r"/console$"))
    page.keyboard.press("?")
    expect(page.locator("#kbd-help")).to_be_visible()
    screenshot(page, "keyboard-shortcuts")
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    expect(page.locator("#queue-search")).to_be_focused()
    ticket = expected.rsplit("/", 1)[1]
    page.keyboard.type(ticket)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(expected) + "$"))


def test_filters_update_the_queue_in_place_and_bulk_assign(
    server: Server, staff: dict[str, str], new_page: Any
) -> None:
    page = new_page()
    sign_in(page, server, staff["agent"])
    page.select_option("#f-priority", "urgent")
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    expect(page.locator("table.queue")).to_contain_text("Site checkout returns error 502")
    page.select_option("#f-priority", "")
    page.select_option("#f-assignee", "none")
    expect(page).to_have_url(re.compile(r"assignee=none"))
    unassigned = page.locator("table.queue tbody tr").count()
    assert unassigned >= 2
    page.check("#select-all")
    expect(page.locator(".bulkbar .count")).to_have_text(f"{unassigned} selected")
    page.select_option("#bulk-action", "assign")
    expect(page.locator("#bulk-assignee")).to_be_visible()
    page.click(".bulkbar button[type=submit]")
    expect(page.locator(".flash")).to_contain_text(f"Updated {unassigned} cases.")
    expect(page.locator("table.queue tbody tr")).to_have_count(0)


def test_small_screen_and_admin_pages(server: Server, staff: dict[str, str], new_page: Any) -> None:
    phone = new_page({"width": 390, "height": 844})
    sign_in(phone, server, staff["agent"])
    expect(phone.locator("table.queue tbody tr").first).to_be_visible()
    screenshot(phone, "queue-mobile")

    admin = new_page()
    sign_in(admin, server, server.admin_email, server.admin_password)
    for path, name, heading in (
        ("/admin", "admin", "Administration"),
        ("/admin/users", "admin-users", "Users & roles"),
        ("/admin/tokens", "admin-tokens", "API tokens"),
        ("/admin/workflow", "admin-workflow", "Workflow"),
        ("/admin/sla", "admin-sla", "SLA policies & business calendars"),
        ("/admin/notifications", "admin-notifications", "Notifications"),
        ("/admin/channels", "admin-channels", "Channels"),
        ("/admin/dead-letters", "admin-dead-letters", "Notification dead letters"),
    ):
        admin.goto(f"{server.url}{path}")
        expect(admin.locator("section h1").first).to_have_text(heading)
        screenshot(admin, name)
    # An agent is refused the admin pages.
    agent = new_page()
    sign_in(agent, server, staff["agent"])
    response = agent.goto(f"{server.url}/admin/users")
    assert response is not None and response.status == 403
    expect(agent.locator("h1")).to_have_text("Not allowed")
