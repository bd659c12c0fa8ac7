"""``POST /api/v1/channels/email/inbound``: signed raw MIME from a mail provider; forged,
stale and replayed requests are refused; admins list and re-process the quarantine."""

from __future__ import annotations

from casedesk.channels.email.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from casedesk.context import Context
from tests.channels.email.conftest import SECRET, counts, mime
from tests.conftest import Api

URL = "/api/v1/channels/email/inbound"


def signed(ctx: Context, body: bytes, *, secret: str = SECRET, skew: int = 0) -> dict[str, str]:
    stamp = str(int(ctx.clock.now().timestamp()) + skew)
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "message/rfc822",
    }


def test_a_signed_message_opens_a_case_and_a_provider_retry_is_a_duplicate(
    ctx: Context, api: Api
) -> None:
    body = mime(message_id="wh-1@example.com")
    first = api.client.post(URL, content=body, headers=signed(ctx, body))
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "created" and first.json()["case"] == "CASE-000001"
    retry = api.client.post(URL, content=body, headers=signed(ctx, body, skew=5))
    assert retry.json()["outcome"] == "duplicate"
    assert counts(ctx) == (1, 1, 0)


def test_forged_stale_and_replayed_requests_are_refused(ctx: Context, api: Api) -> None:
    body = mime()
    forged = api.client.post(URL, content=body, headers=signed(ctx, body, secret="guess"))
    unsigned = api.client.post(URL, content=body, headers={"Content-Type": "message/rfc822"})
    stale = api.client.post(URL, content=body, headers=signed(ctx, body, skew=-3600))
    tampered_headers = signed(ctx, body)
    tampered = api.client.post(URL, content=body + b"\r\nP.S. pay me", headers=tampered_headers)
    for response in (forged, unsigned, stale, tampered):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert "timestamp" in stale.json()["detail"]
    headers = signed(ctx, body)
    assert api.client.post(URL, content=body, headers=headers).status_code == 200
    replay = api.client.post(URL, content=body, headers=headers)
    assert replay.status_code == 409 and "replay" in replay.json()["detail"]
    assert counts(ctx) == (1, 1, 0)


def test_wrong_content_type_and_oversized_bodies_get_clear_errors(ctx: Context, api: Api) -> None:
    body = b'{"not": "mime"}'
    wrong = api.client.post(
        URL, content=body, headers={**signed(ctx, body), "Content-Type": "application/json"}
    )
    assert wrong.status_code == 415
    huge = b"x" * 500_000
    assert api.client.post(URL, content=huge, headers=signed(ctx, huge)).status_code == 413
    assert counts(ctx) == (0, 0, 0)


def test_admins_list_download_and_reprocess_the_quarantine(ctx: Context, api: Api) -> None:
    body = mime(headers={"Auto-Submitted": "auto-replied"}, subject="I am away")
    held = api.client.post(URL, content=body, headers=signed(ctx, body)).json()
    assert held["outcome"] == "quarantined" and held["quarantine_id"]
    qid = held["quarantine_id"]
    assert api.get("/api/v1/channels/email/quarantine").status_code == 403  # agents may not
    admin = api.as_role("admin")
    listing = admin.get("/api/v1/channels/email/quarantine").json()
    [item] = listing["items"]
    assert (item["id"], item["kind"], item["subject"]) == (qid, "noise", "I am away")
    raw = admin.get(f"/api/v1/channels/email/quarantine/{qid}/raw")
    assert raw.content == body and raw.headers["content-type"] == "message/rfc822"
    again = admin.post(f"/api/v1/channels/email/quarantine/{qid}/reprocess")
    assert again.status_code == 409 and "still cannot" in again.json()["detail"]
    garbage = b"garbage"
    qid2 = api.client.post(URL, content=garbage, headers=signed(ctx, garbage)).json()[
        "quarantine_id"
    ]
    assert admin.post("/api/v1/channels/email/quarantine/999999/reprocess").status_code == 404
    kinds = {i["kind"] for i in admin.get("/api/v1/channels/email/quarantine").json()["items"]}
    assert kinds == {"noise", "unparseable"} and qid2


def test_the_webhook_is_off_unless_configured(ctx: Context, api: Api) -> None:
    from casedesk.config import parse_config

    ctx.config = parse_config("[email]\naddresses = []\n")
    body = mime()
    assert api.client.post(URL, content=body, headers=signed(ctx, body)).status_code == 404
