"""A signed-in customer's cases in the portal: submit, read, reply, accept, reopen, download,
and never anything of another customer's."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from casedesk.context import Context
from casedesk.db.tables import Attachment, AuditEvent, Case, Message
from tests.conftest import Api
from tests.portal.conftest import Browser

Browsers = Callable[[], Browser]


def counts(ctx: Context) -> tuple[int, int, int]:
    with ctx.db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) for m in (Case, Message, Attachment)
        )


def test_submit_a_request_with_category_and_attachment(ctx: Context, browser: Browsers) -> None:
    b = browser()
    b.sign_in("ann@example.com")
    form = b.get("/portal/cases/new").text
    assert '<option value="Billing"' in form and '<option value="Technical"' in form
    tid = b.new_case(
        "Invoice [CASE-000099] is wrong",
        category="Billing",
        files=[("files", ("invoice.pdf", b"%PDF-1.4 tiny", "application/pdf"))],
    )
    assert tid == "CASE-000001"
    page = b.get(f"/portal/cases/{tid}")
    assert page.status_code == 200 and "It smokes." in page.text and "invoice.pdf" in page.text
    with ctx.db.read() as s:
        case = s.get_one(Case, 1)
        attachment = s.scalars(select(Attachment)).one()
    assert (case.channel, case.category) == ("portal", "Billing")
    assert case.subject == "Invoice (CASE-000099) is wrong"
    download = b.get(f"/portal/cases/{tid}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 tiny"
    assert download.headers["content-disposition"].startswith('attachment; filename="invoice.pdf"')
    assert download.headers["x-content-type-options"] == "nosniff"
    listing = b.get("/portal").text
    assert 'data-case="CASE-000001"' in listing

    # The same form sent twice (a double click, a resend) stores one case.
    b.get("/portal/cases/new")
    data = {"subject": "Once", "description": "only once", "submission_id": b.submission}
    first = b.post("/portal/cases/new", data)
    second = b.post("/portal/cases/new", data)
    assert first.headers["location"] == second.headers["location"] == "/portal/cases/CASE-000002"
    assert counts(ctx)[0] == 2


def test_bad_submissions_are_refused_and_store_nothing(ctx: Context, browser: Browsers) -> None:
    b = browser()
    b.sign_in("ann@example.com")
    b.get("/portal/cases/new")
    base = {"subject": "Help", "description": "text", "submission_id": b.submission}
    attempts = [
        ({**base, "subject": ""}, None, "give your request a subject"),
        ({**base, "category": "Nonsense"}, None, "category &#39;Nonsense&#39; is unknown"),
        (base, [("files", ("big.bin", b"x" * 2049, "application/octet-stream"))], "larger than"),
        (base, [("files", (f"{i}.txt", b"x", "text/plain")) for i in range(3)], "at most 2 files"),
    ]
    for data, files, message in attempts:
        response = b.post("/portal/cases/new", data, files=files)
        assert response.status_code == 422, message
        assert message in response.text
        assert 'value="Help"' in response.text or not data["subject"]  # what was typed is kept
    huge = b.post(
        "/portal/cases/new",
        base,
        files=[("files", ("huge.bin", b"x" * (3 * 1024 * 1024), "application/octet-stream"))],
    )
    assert huge.status_code == 413
    assert counts(ctx) == (0, 0, 0)


def test_the_conversation_reply_accept_and_reopen(
    ctx: Context, api: Api, browser: Browsers
) -> None:
    b = browser()
    b.sign_in("ann@example.com")
    tid = b.new_case()
    api.post(
        f"/api/v1/cases/{tid}/messages", json={"body": "Secret note", "visibility": "internal"}
    )
    api.post(f"/api/v1/cases/{tid}/messages", json={"body": "Have you tried water?"})
    page = b.get(f"/portal/cases/{tid}").text
    assert "Have you tried water?" in page and "Secret note" not in page
    assert "Agent" in page and "agent@example.com" not in page  # agents by name only

    b.get(f"/portal/cases/{tid}")
    replied = b.post(
        f"/portal/cases/{tid}/reply", {"body": "Yes, still smoking", "submission_id": b.submission}
    )
    assert replied.status_code == 303
    assert api.get(f"/api/v1/cases/{tid}").json()["messages"][-1]["body"] == "Yes, still smoking"

    api.post(
        f"/api/v1/cases/{tid}/transitions", json={"to": "resolved", "resolution": "Replaced it."}
    )
    page = b.get(f"/portal/cases/{tid}").text
    assert "We think this is solved" in page and "Replaced it." in page
    assert b.post(f"/portal/cases/{tid}/reopen", {"submission_id": b.submission}).status_code == 303
    assert api.get(f"/api/v1/cases/{tid}").json()["status"] == "in_progress"

    api.post(f"/api/v1/cases/{tid}/transitions", json={"to": "resolved", "resolution": "Really."})
    b.get(f"/portal/cases/{tid}")
    assert b.post(f"/portal/cases/{tid}/accept").status_code == 303
    case = api.get(f"/api/v1/cases/{tid}").json()
    assert case["status"] == "closed"
    events = api.get(f"/api/v1/cases/{tid}/events").json()["items"]
    closing = [e for e in events if e["action"] == "case.status_changed"][-1]
    assert (closing["actor_kind"], closing["data"]["to"]) == ("customer", "closed")
    assert b.post(f"/portal/cases/{tid}/accept").status_code == 409  # nothing left to accept

    b.get(f"/portal/cases/{tid}")
    followup = b.post(
        f"/portal/cases/{tid}/reply", {"body": "It is back!", "submission_id": b.submission}
    )
    assert followup.headers["location"] == "/portal/cases/CASE-000002"
    with ctx.db.read() as s:
        assert s.get_one(Case, 2).linked_case_number == 1


def test_another_customers_case_does_not_exist_for_you(
    ctx: Context, api: Api, browser: Browsers
) -> None:
    ann, bob = browser(), browser()
    ann.sign_in("ann@example.com")
    bob.sign_in("bob@example.com")
    tid = ann.new_case(files=[("files", ("a.txt", b"ann's file", "text/plain"))])
    api.post(f"/api/v1/cases/{tid}/transitions", json={"to": "resolved", "resolution": "done"})
    with ctx.db.read() as s:
        attachment_id = s.scalars(select(Attachment.id)).one()
        events_before = s.scalar(select(func.count()).select_from(AuditEvent))
    before = counts(ctx)

    bob.get("/portal")
    assert "CASE-000001" not in bob.get("/portal").text
    refused = [
        bob.get(f"/portal/cases/{tid}"),
        bob.get("/portal/cases/case-000001"),
        bob.get(f"/portal/cases/{tid}/attachments/{attachment_id}"),
        bob.post(f"/portal/cases/{tid}/reply", {"body": "let me in", "submission_id": "abcdefgh1"}),
        bob.post(f"/portal/cases/{tid}/accept"),
        bob.post(f"/portal/cases/{tid}/reopen", {"comment": "reopen it"}),
    ]
    unknown = bob.get("/portal/cases/CASE-000404")
    for response in refused:
        assert response.status_code == 404
        assert "no such case" in response.text
        assert response.text.count("ann") == 0 or "ann's file" not in response.text
    assert unknown.status_code == 404
    assert counts(ctx) == before
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events_before
        assert s.get_one(Case, 1).status == "resolved"

    # A portal session is no credential for the staff API or the live stream.
    for path in ("/api/v1/cases", f"/api/v1/cases/{tid}", f"/api/v1/cases/{tid}/live"):
        assert bob.client.get(path).status_code == 401
    assert bob.client.post(f"/api/v1/cases/{tid}/messages", json={"body": "x"}).status_code == 401
    assert (
        bob.client.post("/api/v1/channels/phone/calls", json={"number": "+15555550100"}).status_code
        == 401
    )
    # And anonymous visitors get the sign-in page for every portal route.
    anonymous = browser()
    for path in ("/portal", f"/portal/cases/{tid}", "/portal/cases/new", "/portal/account"):
        assert anonymous.get(path).headers["location"].startswith("/portal/login")
