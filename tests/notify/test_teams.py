"""Teams payloads: message envelope, Adaptive Card 1.4, facts and the Open button."""

from __future__ import annotations

import json
from dataclasses import replace

from casedesk.notify.message import CaseNotice
from casedesk.notify.teams import build_teams_payload


def _card(notice: CaseNotice) -> dict:
    payload = build_teams_payload(notice)
    assert payload["type"] == "message"
    assert len(payload["attachments"]) == 1
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def test_adaptive_card_envelope_and_version(notice: CaseNotice) -> None:
    card = _card(notice)
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    json.dumps(build_teams_payload(notice))  # plain JSON types only


def test_title_is_a_bold_text_block(notice: CaseNotice) -> None:
    title = _card(notice)["body"][0]
    assert title["type"] == "TextBlock"
    assert title["weight"] == "Bolder"
    assert title["wrap"] is True
    assert title["text"] == "SLA breached on CASE-000123: first response breached by 12m"
    assert title["color"] == "Attention"


def test_fact_set_holds_the_facts(notice: CaseNotice) -> None:
    [fact_set] = [b for b in _card(notice)["body"] if b["type"] == "FactSet"]
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert facts == {
        "Priority": "urgent",
        "Status": "In Progress",
        "SLA due": "2026-03-02 14:30 UTC",
        "Customer": "Bob Buyer <bob@example.com>",
        "Assignee": "Alice Agent",
        "Team": "tier1",
        "Channel": "email",
    }


def test_missing_facts_are_a_dash(notice: CaseNotice) -> None:
    bare = replace(notice, team=None, customer=None, sla_due=None, detail=None, assignee=None)
    card = _card(bare)
    [fact_set] = [b for b in card["body"] if b["type"] == "FactSet"]
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert facts["Team"] == facts["Customer"] == facts["SLA due"] == "—"
    assert facts["Assignee"] == "unassigned"
    assert "None" not in json.dumps(card)


def test_open_url_action_points_at_the_case(notice: CaseNotice) -> None:
    [action] = _card(notice)["actions"]
    assert action == {
        "type": "Action.OpenUrl",
        "title": "Open CASE-000123",
        "url": "https://desk.example.com/console/cases/CASE-000123",
    }


def test_subject_is_plain_rich_text(notice: CaseNotice) -> None:
    card = _card(replace(notice, subject="[click](https://evil.example) **now**"))
    subject = card["body"][1]
    assert subject["type"] == "RichTextBlock"  # Teams does not render Markdown in text runs
    assert subject["inlines"][0]["text"] == "CASE-000123 · [click](https://evil.example) **now**"


def test_markdown_links_in_facts_are_defused(notice: CaseNotice) -> None:
    card = _card(replace(notice, customer="[IT support](https://evil.example)"))
    [fact_set] = [b for b in card["body"] if b["type"] == "FactSet"]
    customer = next(f["value"] for f in fact_set["facts"] if f["title"] == "Customer")
    assert "](" not in customer
    assert customer.replace("\u200b", "") == "[IT support](https://evil.example)"
