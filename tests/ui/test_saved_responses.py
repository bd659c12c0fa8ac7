"""Saved responses (``[[responses]]``): validated with located problems, filled for the case
and the agent, offered in the console composer and through the API."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from casedesk.config import AppConfig, ConfigError, parse_config
from casedesk.domain.responses import fill, unknown_placeholders
from casedesk.services import cases, customers
from tests.conftest import SETUP
from tests.ui.conftest import Browser

RESPONSES = """
[[responses]]
id = "points-missing"
name = "Points missing: ask for the receipt"
body = \"\"\"Hello ${customer_name},

thanks for writing about ${ticket_id} ("${subject}").
Could you send the receipt? It costs $$5 to reissue.

${agent_name}\"\"\"

[[responses]]
id = "escalated"
name = "Escalated to partner"
visibility = "internal"
body = "Sent to the partner desk for ${customer_email}."
"""


@pytest.fixture
def config() -> AppConfig:
    return parse_config(RESPONSES)


def test_placeholders_fill_and_unknown_ones_are_named() -> None:
    assert fill("Hi ${customer_name}, $$1 off", {"customer_name": "Ann"}) == "Hi Ann, $1 off"
    assert fill("Hi ${customer_name}", {}) == "Hi "  # no customer: empty, never "${...}"
    assert unknown_placeholders("${customer_name} ${order} $agent_name $$x $nope") == [
        "${order}",
        "${nope}",
    ]


def test_bad_responses_are_refused_with_their_place() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[[responses]]\nid = "a"\nname = "A"\nbody = "Hi ${first_name}"\n')
    assert ":4:1: responses[0].body: unknown placeholder ${first_name}" in str(caught.value)
    with pytest.raises(ConfigError, match=r"responses\[0\]\.visibility"):
        parse_config('[[responses]]\nid = "b"\nname = "B"\nbody = "x"\nvisibility = "secret"\n')
    with pytest.raises(ConfigError, match=r"responses\[1\]\.id: response id 'a' is used twice"):
        parse_config(
            '[[responses]]\nid = "a"\nname = "A"\nbody = "x"\n'
            '[[responses]]\nid = "a"\nname = "B"\nbody = "y"\n'
        )


def _case(ctx: Any) -> Any:
    return cases.create_case(
        ctx.db,
        ctx.config,
        cases.NewCase(
            subject="Points missing",
            customer=customers.CustomerInput(name="Ann Lee", email="ann@example.com"),
        ),
        actor=SETUP,
        now=ctx.clock.now(),
    )


def test_the_api_fills_responses_for_the_case_and_caller(ctx: Any, api: Any) -> None:
    case = _case(ctx)
    tid = cases.ticket_id(ctx.config, case.number)
    got = api.get(f"/api/v1/cases/{tid}/responses")
    assert got.status_code == 200
    first, second = got.json()
    assert first["id"] == "points-missing" and first["visibility"] == "public"
    assert first["body"].startswith("Hello Ann Lee,\n\nthanks for writing about " + tid)
    assert '("Points missing")' in first["body"] and "It costs $5 " in first["body"]
    assert first["body"].endswith("Agent")  # the caller's name
    assert second == {
        "id": "escalated",
        "name": "Escalated to partner",
        "visibility": "internal",
        "body": "Sent to the partner desk for ann@example.com.",
    }
    assert api.client.get(f"/api/v1/cases/{tid}/responses").status_code == 401


def test_the_console_composer_offers_the_filled_responses(ctx: Any, agent: Browser) -> None:
    case = _case(ctx)
    page = agent.get(f"/console/cases/{cases.ticket_id(ctx.config, case.number)}").text
    assert 'id="composer-responses"' in page
    assert 'data-visibility="internal"' in page and "Escalated to partner (note)" in page
    bodies = [html.unescape(b) for b in re.findall(r'data-body="([^"]*)"', page)]
    assert bodies[1] == "Sent to the partner desk for ann@example.com."
    assert bodies[0].startswith("Hello Ann Lee,")
