"""Slack Block Kit payloads: shape, ticket link, escaping of user text."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from casedesk.notify.message import CaseNotice, headline
from casedesk.notify.slack import build_chat_post_message, build_slack_payload, escape_mrkdwn


def _all_text(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_payload_has_fallback_text_and_blocks(notice: CaseNotice) -> None:
    payload = build_slack_payload(notice)
    assert "CASE-000123" in payload["text"]
    assert "SLA breached" in payload["text"]
    types = [b["type"] for b in payload["blocks"]]
    assert types == ["header", "section", "section", "context"]
    header = payload["blocks"][0]["text"]
    assert header == {"type": "plain_text", "text": headline(notice)}
    assert len(header["text"]) <= 150
    assert payload["unfurl_links"] is False


def test_ticket_id_links_to_the_console(notice: CaseNotice) -> None:
    section = build_slack_payload(notice)["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert "<https://desk.example.com/console/cases/CASE-000123|CASE-000123>" in section["text"]
    assert "Printer on fire" in section["text"]


def test_fields_carry_the_facts(notice: CaseNotice) -> None:
    fields = build_slack_payload(notice)["blocks"][2]["fields"]
    by_label = {f["text"].split("\n")[0].strip("*"): f["text"].split("\n", 1)[1] for f in fields}
    assert by_label["Priority"] == "urgent"
    assert by_label["Status"] == "In Progress"
    assert by_label["Assignee"] == "Alice Agent"
    assert by_label["Channel"] == "email"
    assert by_label["Customer"] == "Bob Buyer &lt;bob@example.com&gt;"
    stamp = int(datetime(2026, 3, 2, 14, 30, tzinfo=UTC).timestamp())
    assert by_label["SLA due"].startswith(f"<!date^{stamp}^")
    assert by_label["SLA due"].endswith("|2026-03-02 14:30 UTC>")
    assert all(f["type"] == "mrkdwn" for f in fields)
    assert len(fields) <= 10


def test_missing_facts_show_a_dash_not_none(notice: CaseNotice) -> None:
    bare = replace(notice, assignee=None, team=None, customer=None, sla_due=None, detail=None)
    payload = build_slack_payload(bare)
    assert "None" not in _all_text(payload)
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section"]
    fields = {f["text"].split("\n")[0]: f["text"] for f in payload["blocks"][2]["fields"]}
    assert fields["*Assignee*"].endswith("unassigned")
    assert fields["*SLA due*"].endswith("—")


def test_user_text_is_escaped(notice: CaseNotice) -> None:
    evil = replace(
        notice,
        subject="<script>alert(1)</script> & <!channel>",
        customer="Mallory <https://evil.example|click me>",
        detail="<!here> & more",
        assignee="<@U123>",
    )
    payload = build_slack_payload(evil)
    section = payload["blocks"][1]["text"]["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;" in section
    # Everything Slack parses as mrkdwn; the header is plain_text, which Slack shows verbatim.
    text = _all_text({"text": payload["text"], "blocks": payload["blocks"][1:]})
    for raw in ("<script>", "<!channel>", "<!here>", "<https://evil", "<@U123>"):
        assert raw not in text
    assert "&lt;!channel&gt;" in payload["text"]
    # The only real markup left: the ticket link and the SLA date.
    assert section.count("<") == 1


def test_escape_mrkdwn_only_touches_control_characters() -> None:
    assert escape_mrkdwn("a & b < c > d *e* _f_") == "a &amp; b &lt; c &gt; d *e* _f_"
    assert escape_mrkdwn("&amp;") == "&amp;amp;"


def test_url_cannot_break_out_of_the_link(notice: CaseNotice) -> None:
    odd = replace(notice, case_url="https://desk.example.com/x|y>z <!channel>")
    section = build_slack_payload(odd)["blocks"][1]["text"]["text"]
    assert section.startswith("*<https://desk.example.com/x%7Cy%3Ez%20%3C!channel%3E|CASE-000123>*")


def test_long_text_is_clipped_to_slack_limits(notice: CaseNotice) -> None:
    long = replace(notice, event="case.created", subject="word " * 2000, detail="x" * 5000)
    payload = build_slack_payload(long)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert len(payload["blocks"][1]["text"]["text"]) <= 3000
    assert len(payload["blocks"][3]["elements"][0]["text"]) <= 3000
    assert all(len(f["text"]) <= 2000 for f in payload["blocks"][2]["fields"])


def test_multiline_subject_is_one_line(notice: CaseNotice) -> None:
    payload = build_slack_payload(replace(notice, event="case.created", subject="a\nb\r\n c"))
    assert payload["blocks"][0]["text"]["text"] == "New case CASE-000123: a b c"


def test_chat_post_message_adds_the_channel(notice: CaseNotice) -> None:
    body = build_chat_post_message(notice, "C0123456")
    assert body["channel"] == "C0123456"
    assert body["blocks"] == build_slack_payload(notice)["blocks"]
    assert body["text"] == build_slack_payload(notice)["text"]
